"""`vitascope admin prompt-refusals [--limit N]`: refused prompts, newest first, for moderators."""

from __future__ import annotations

import asyncio

from node.cli.common import add_config_option, config_from, with_db


def register(admin) -> None:
    refusals = admin.add_parser("prompt-refusals", help="refused prompts, newest first (for moderators)")
    add_config_option(refusals)
    refusals.add_argument("--limit", type=int, default=50)
    refusals.set_defaults(func=cmd_refusals)


def cmd_refusals(args) -> int:
    from node.models import PromptRefusal

    config = config_from(args)

    async def run():
        for r in await PromptRefusal.all().order_by("-id").limit(args.limit).prefetch_related("account"):
            print(f"{r.created_at:%Y-%m-%d %H:%M} {r.account.acct():<24} {r.rule:<10} {r.reason}\n    {r.prompt!r}")

    asyncio.run(with_db(config, run))
    return 0
