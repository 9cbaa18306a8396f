"""`vitascope delete-account NAME`: delete a local account (node.services.account_deletion) and
tell every server that knew it (Delete{actor}, sent by the running node's delivery workers)."""

from __future__ import annotations

import asyncio

from node.cli.common import add_config_option, fail, federating


def register(sub) -> None:
    delete = sub.add_parser("delete-account", help="delete a local account and federate the deletion")
    delete.add_argument("username")
    add_config_option(delete)
    delete.set_defaults(func=lambda args: asyncio.run(run_delete_account(args)))


async def run_delete_account(args) -> int:
    from node.models import Account
    from node.services.account_deletion import delete_account

    async with federating(args) as node:
        account = await Account.get_or_none(domain=None, username=args.username, deleted_at=None)
        if account is None:
            return fail(f"no local account {args.username}")
        await delete_account(node, account)
        print(f"deleted {account.username}; Delete sent to remote servers")
        return 0
