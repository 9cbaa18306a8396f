"""`vitascope admin approve-user NAME`: let in a sign-up that waits for approval."""

from __future__ import annotations

import asyncio

from node.cli.common import add_config_option, config_from, fail, with_db


def register(admin) -> None:
    ap = admin.add_parser("approve-user", help="approve a sign-up waiting for approval")
    ap.add_argument("name")
    add_config_option(ap)
    ap.set_defaults(func=cmd_approve_user)


def cmd_approve_user(args) -> int:
    from node.services import account_moderation

    config = config_from(args)
    if not asyncio.run(with_db(config, lambda: account_moderation.approve(args.name))):
        return fail(f"no local user {args.name}")
    print(f"approved {args.name}")
    return 0
