"""What the `vitascope` commands share: their configuration, a database or the node's services for
the length of one command, the `--config` option, argument types and error output.

Commands run while the node may be serving: they write through node.services like the API does, and
what they queue (deliveries, reloads) is picked up by the running node's workers.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from node.config import Config, ConfigError, load_config


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """`--config` after the sub-command too; SUPPRESS keeps one given before it (`vitascope --config F
    admin …`) from being overwritten by this parser's default."""
    parser.add_argument("--config", default=argparse.SUPPRESS)


def config_from(args: argparse.Namespace) -> Config:
    """The node's configuration, or exit 2 with the reason."""
    try:
        return load_config(getattr(args, "config", None))
    except ConfigError as exc:
        print(f"vitascope: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)


def fail(message: str, code: int = 1) -> int:
    """Print ``vitascope: message`` to stderr; returns the exit status."""
    print(f"vitascope: {message}", file=sys.stderr)
    return code


def positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive number: {value!r}")
    return int(value)


def row_id(what: str) -> Callable[[str], int]:
    """An argument type for a row's id (a snowflake); ``what`` names it in the error: "a cameo"."""

    def parse(value: str) -> int:
        if not value.isdigit() or len(value) > 19:
            raise argparse.ArgumentTypeError(f"not {what} id: {value!r}")
        return int(value)

    return parse


async def with_db(config: Config, fn: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``fn()`` with the database migrated and connected (no Redis)."""
    from node import db

    await db.migrate(config.database_url)
    await db.connect(config.database_url)
    try:
        return await fn()
    finally:
        await db.close()


def offline_node(config: Config):
    """A Node for commands that need storage and URLs but no Redis (its publishes go nowhere)."""
    from node.context import Node
    from node.media.access import node_urls

    class _NoRedis:
        async def publish(self, *a, **k):
            return 0

    return Node(config=config, urls=node_urls(config), redis=_NoRedis())


@asynccontextmanager
async def node_services(args: argparse.Namespace) -> AsyncIterator[Any]:
    """The node's storage, Redis (the embedded one started if configured) and job queue, as the web
    process has them, closed on the way out."""
    from node import db
    from node.app import start_services

    node, embedded = await start_services(config_from(args))
    try:
        yield node
    finally:
        if node.arq is not None:
            await node.arq.aclose()
        await node.redis.aclose()
        await db.close()
        if embedded is not None:
            await embedded.stop()


@asynccontextmanager
async def federating(args: argparse.Namespace) -> AsyncIterator[Any]:
    """`node_services` plus the fetcher and the outgoing-federation listeners; on the way out it waits
    until what the command sent is queued for the running node's delivery workers."""
    from node.activitypub import outgoing, runtime

    async with node_services(args) as node:
        fed = await runtime.start(node)
        outgoing.register(node)
        try:
            yield node
        finally:
            await outgoing.queued()
            await fed.fetcher.__aexit__(None, None, None)


async def with_node(args: argparse.Namespace, work: Callable[[Any], Awaitable[int]]) -> int:
    """Run ``work(node)`` with the node's services; a refusal (ApiError) is printed, exit status 1."""
    from node.errors import ApiError

    async with node_services(args) as node:
        try:
            return await work(node)
        except ApiError as exc:
            return fail(exc.message)


async def with_local_account(args: argparse.Namespace, work: Callable[[Any, Any], Awaitable[int]]) -> int:
    """Run ``work(node, account)`` for the local user ``args.username`` while federating; a refusal
    (ApiError) is printed, exit status 1."""
    from node.errors import ApiError
    from node.models import Account

    async with federating(args) as node:
        account = await Account.get_or_none(domain=None, username__iexact=args.username, deleted_at=None)
        if account is None:
            return fail(f"no local account {args.username}")
        try:
            return await work(node, account)
        except ApiError as exc:
            return fail(exc.message)


async def local_user(name: str):
    """The local user ``name`` with its account, or exit with the reason."""
    from node.models import User

    user = await User.get_or_none(account__username=name, account__domain=None).prefetch_related("account")
    if user is None:
        raise SystemExit(f"vitascope: no local user {name!r}")
    return user
