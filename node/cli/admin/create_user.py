"""`vitascope admin create-user NAME --password P [--email E] [--admin]`: a local user, approved."""

from __future__ import annotations

import asyncio

from node.cli.common import add_config_option, config_from, fail, offline_node, with_db


def register(admin) -> None:
    cu = admin.add_parser("create-user", help="create a local user")
    cu.add_argument("name")
    cu.add_argument("--password", required=True)
    cu.add_argument("--email")
    cu.add_argument("--admin", action="store_true")
    add_config_option(cu)
    cu.set_defaults(func=cmd_create_user)


def cmd_create_user(args) -> int:
    from node.errors import ApiError
    from node.services.accounts import create_user

    config = config_from(args)
    node = offline_node(config)

    async def run():
        return await create_user(node, args.name, args.password, email=args.email, admin=args.admin)

    try:
        user = asyncio.run(with_db(config, run))
    except ApiError as exc:
        return fail(exc.message)
    print(f"created {'admin ' if args.admin else ''}user {user.account.username} (id {user.account.id})")
    return 0
