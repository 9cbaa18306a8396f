"""`vitascope admin credits NAME`: a user's generation credits and today's free generations."""

from __future__ import annotations

import asyncio

from node.cli.common import add_config_option, config_from, local_user, offline_node, with_db


def register(admin) -> None:
    show = admin.add_parser("credits", help="show a user's credits and today's free generations")
    add_config_option(show)
    show.add_argument("name")
    show.set_defaults(func=cmd_show_credits)


def cmd_show_credits(args) -> int:
    from node.services.generation import quota_of

    config = config_from(args)

    async def run():
        q = await quota_of(offline_node(config), await local_user(args.name))
        print(f"{args.name}: {q.credits} credits; {q.free_used} of {q.free_per_day} free generations used today "
              f"(resets {q.resets_at:%Y-%m-%d %H:%M} UTC)")

    asyncio.run(with_db(config, run))
    return 0
