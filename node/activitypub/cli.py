"""`vitascope delivery-worker` (a delivery worker outside the web process) and
`vitascope delete-account NAME` (delete a local account and tell the fediverse).

Registered through node.cli.EXTRA_COMMANDS.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from datetime import datetime, timezone

log = logging.getLogger(__name__)


async def _services(args):
    from node.app import start_services
    from node.cli import _config

    return await start_services(_config(args))


async def _stop(node, embedded) -> None:
    from node import db

    if node.arq is not None:
        await node.arq.aclose()
    await node.redis.aclose()
    await db.close()
    if embedded is not None:
        await embedded.stop()


async def run_delivery_worker(args) -> int:
    from node.activitypub import blocked_domains, delivery, runtime

    node, embedded = await _services(args)
    fed = await runtime.start(node)
    blocks = await blocked_domains.start(node)
    task = asyncio.create_task(delivery.run_worker(node))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    print(f"delivery worker for {node.urls.base} on queue {delivery.QUEUE}", flush=True)
    try:
        await task
    except asyncio.CancelledError:
        pass
    finally:
        blocks.cancel()
        await fed.fetcher.__aexit__(None, None, None)
        await _stop(node, embedded)
    return 0


async def delete_account(node, account) -> None:
    """Delete a local account: Delete{actor} to every server that knew it, then tombstone its content."""
    from node.activitypub import outgoing
    from node.services.account_deletion import delete_actor

    await outgoing.account_deleted(node, account)
    await outgoing.queued()
    await delete_actor(node, account)
    account.suspended_at = datetime.now(timezone.utc)
    await account.save(update_fields=["suspended_at"])


async def run_delete_account(args) -> int:
    from node.models import Account

    node, embedded = await _services(args)
    try:
        account = await Account.get_or_none(domain=None, username=args.username, deleted_at=None)
        if account is None:
            print(f"vitascope: no local account {args.username}", file=sys.stderr)
            return 1
        await delete_account(node, account)
        print(f"deleted {account.username}; Delete sent to remote servers")
        return 0
    finally:
        await _stop(node, embedded)


def register(subparsers: argparse._SubParsersAction) -> None:
    worker = subparsers.add_parser("delivery-worker", help="deliver federation activities (besides the web process)")
    worker.add_argument("--config", default=argparse.SUPPRESS)
    worker.set_defaults(func=lambda args: asyncio.run(run_delivery_worker(args)))
    delete = subparsers.add_parser("delete-account", help="delete a local account and federate the deletion")
    delete.add_argument("username")
    delete.add_argument("--config", default=argparse.SUPPRESS)
    delete.set_defaults(func=lambda args: asyncio.run(run_delete_account(args)))
