"""`vitascope admin grant-credits NAME N`: give a user generation credits (negative takes them back)."""

from __future__ import annotations

import asyncio

from node.cli.common import add_config_option, config_from, local_user, with_db


def register(admin) -> None:
    grant = admin.add_parser("grant-credits", help="give a user generation credits (negative takes them back)")
    add_config_option(grant)
    grant.add_argument("name")
    grant.add_argument("amount", type=int)
    grant.set_defaults(func=cmd_grant_credits)


def cmd_grant_credits(args) -> int:
    from node.services.generation import grant_credits

    config = config_from(args)

    async def run():
        balance = await grant_credits(await local_user(args.name), args.amount)
        print(f"{args.name} now has {balance} generation credit{'s' if balance != 1 else ''}")

    asyncio.run(with_db(config, run))
    return 0
