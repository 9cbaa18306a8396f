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
    from node.serializers import full_acct
    from node.services import migration

    async def work(node, account) -> int:
        if args.old is None:
            for uri, known in await migration.aliases(account):
                print(f"{full_acct(node, known) if known else '-':<40} {uri}")
            return 0
        if args.remove:
            await migration.remove_alias(node, account, args.old)
            print(f"{account.username} is no longer also known as {args.old}")
            return 0
        old = await migration.add_alias(node, account, args.old)
        print(f"{account.username} is now also known as {full_acct(node, old)} ({old.uri}); "
              f"that account may move here")
        return 0

    if args.remove and args.old is None:
        return fail("--remove needs the alias to remove", 2)
    return asyncio.run(with_local_account(args, work))
