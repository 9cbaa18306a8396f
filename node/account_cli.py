"""`vitascope admin alias …` and `vitascope admin move …`: account migration from the command line
(the same steps as the API extension in node.api.migration, see node.services.migration).

    vitascope admin alias USER [@old@host] [--remove]   on the NEW account: list, add or remove an alias
    vitascope admin move USER --to @new@host [--force]  on the OLD account: move it and its followers

A move is refused within 30 days of the account's last one (Mastodon's cooldown, which tootctl cannot
lift either); --force, as tootctl's, only allows moving an account that has moved elsewhere already.

Registered through node.cli.EXTRA_COMMANDS. Both need the federation runtime (WebFinger and actor
fetches, and deliveries queued for the running node's workers).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any


async def _with_federation(args, work: Callable[[Any, Any], Awaitable[int]]) -> int:
    """Run ``work(node, account)`` for the local user ``args.username`` with storage, Redis, the
    fetcher and the federation listeners; waits until what it sent is queued for delivery."""
    from node.activitypub import outgoing, runtime
    from node.activitypub.cli import _services, _stop
    from node.errors import ApiError
    from node.models import Account

    node, embedded = await _services(args)
    fed = await runtime.start(node)
    outgoing.register(node)
    try:
        account = await Account.get_or_none(domain=None, username__iexact=args.username, deleted_at=None)
        if account is None:
            print(f"vitascope: no local account {args.username}", file=sys.stderr)
            return 1
        try:
            return await work(node, account)
        except ApiError as exc:
            print(f"vitascope: {exc.message}", file=sys.stderr)
            return 1
    finally:
        await outgoing.queued()
        await fed.fetcher.__aexit__(None, None, None)
        await _stop(node, embedded)


def _alias(args) -> int:
    from node.services import migration

    async def work(node, account) -> int:
        if args.old is None:
            for alias in await migration.aliases(node, account):
                print(f"{alias['acct'] or '-':<40} {alias['uri']}")
            return 0
        if args.remove:
            await migration.remove_alias(node, account, args.old)
            print(f"{account.username} is no longer also known as {args.old}")
            return 0
        alias = await migration.add_alias(node, account, args.old)
        print(f"{account.username} is now also known as {alias['acct']} ({alias['uri']}); "
              f"that account may move here")
        return 0

    if args.remove and args.old is None:
        print("vitascope: --remove needs the alias to remove", file=sys.stderr)
        return 2
    return asyncio.run(_with_federation(args, work))


def _move(args) -> int:
    from node.services import migration

    async def work(node, account) -> int:
        target, moved = await migration.migrate(node, account, args.to, retarget=args.force)
        print(f"{account.username} moved to {migration.full_acct(node, target)}: Update and Move sent to its "
              f"followers; {moved} local follower{'' if moved == 1 else 's'} now follow{'s' if moved == 1 else ''} "
              f"the new account")
        return 0

    return asyncio.run(_with_federation(args, work))


def register(subparsers: argparse._SubParsersAction) -> None:
    admin = subparsers.choices["admin"]
    asub = next(a for a in admin._actions if isinstance(a, argparse._SubParsersAction))
    alias = asub.add_parser("alias", help="on the new account: list, add or remove an alias (an old account "
                                          "that may move here)")
    alias.add_argument("username", help="the local user (the new account)")
    alias.add_argument("old", nargs="?", help="the old account, @user@host (omit to list the aliases)")
    alias.add_argument("--remove", action="store_true", help="remove this alias")
    alias.add_argument("--config", default=argparse.SUPPRESS)
    alias.set_defaults(func=_alias)
    move = asub.add_parser("move", help="on the old account: move it to a new account that lists it as an "
                                        "alias; its followers follow the new account")
    move.add_argument("username", help="the local user (the old account)")
    move.add_argument("--to", required=True, metavar="@USER@HOST", help="the new account")
    move.add_argument("--force", action="store_true",
                      help="move it even if it has already moved to another account (never within 30 days of "
                           "its last move)")
    move.add_argument("--config", default=argparse.SUPPRESS)
    move.set_defaults(func=_move)
