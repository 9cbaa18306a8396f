"""`vitascope admin move USER --to @new@host [--force]`: on the OLD account, move it and its followers to
a new account that lists it as an alias (`vitascope admin alias` there), through node.services.migration.

A move is refused within 30 days of the account's last one (Mastodon's cooldown, which tootctl cannot
lift either); --force, as tootctl's, only allows moving an account that has moved elsewhere already.
"""

from __future__ import annotations

import asyncio

from node.cli.common import add_config_option, with_local_account


def register(admin) -> None:
    move = admin.add_parser("move", help="on the old account: move it to a new account that lists it as an "
                                         "alias; its followers follow the new account")
    move.add_argument("username", help="the local user (the old account)")
    move.add_argument("--to", required=True, metavar="@USER@HOST", help="the new account")
    move.add_argument("--force", action="store_true",
                      help="move it even if it has already moved to another account (never within 30 days of "
                           "its last move)")
    add_config_option(move)
    move.set_defaults(func=cmd_move)


def cmd_move(args) -> int:
    from node.serializers import full_acct
    from node.services import migration

    async def work(node, account) -> int:
        target, moved = await migration.migrate(node, account, args.to, retarget=args.force)
        print(f"{account.username} moved to {full_acct(node, target)}: Update and Move sent to its "
              f"followers; {moved} local follower{'' if moved == 1 else 's'} now follow{'s' if moved == 1 else ''} "
              f"the new account")
        return 0

    return asyncio.run(with_local_account(args, work))
