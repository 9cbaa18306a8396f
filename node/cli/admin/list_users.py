"""`vitascope admin list-users`: the local users, whether admin and whether approved."""

from __future__ import annotations

import asyncio

from node.cli.common import add_config_option, config_from, with_db


def register(admin) -> None:
    lu = admin.add_parser("list-users", help="list local users")
    add_config_option(lu)
    lu.set_defaults(func=cmd_list_users)


def cmd_list_users(args) -> int:
    from node.models import User

    config = config_from(args)

    async def run():
        return await User.all().prefetch_related("account").order_by("id")

    users = asyncio.run(with_db(config, run))
    print(f"{'id':<20} {'username':<30} {'email':<30} admin approved")
    for u in users:
        print(f"{u.account.id:<20} {u.account.username:<30} {u.email or '-':<30} {'yes' if u.admin else 'no':<5} "
              f"{'yes' if u.approved else 'no'}")
    return 0
