"""`vitascope admin alias USER [@old@host] [--remove]`: on the NEW account of a move, list, add or remove
an alias (an old account that may move here). The same steps as the API extension in
node.api.migration, through node.services.migration; docs/admin.md "Moving an account"."""

from __future__ import annotations

import asyncio

from node.cli.common import add_config_option, fail, with_local_account


def register(admin) -> None:
    alias = admin.add_parser("alias", help="on the new account: list, add or remove an alias (an old account "
                                           "that may move here)")
    alias.add_argument("username", help="the local user (the new account)")
    alias.add_argument("old", nargs="?", help="the old account, @user@host (omit to list the aliases)")
    alias.add_argument("--remove", action="store_true", help="remove this alias")
    add_config_option(alias)
    alias.set_defaults(func=cmd_alias)


def cmd_alias(args) -> int:
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
        return fail("--remove needs the alias to remove", 2)
    return asyncio.run(with_local_account(args, work))
