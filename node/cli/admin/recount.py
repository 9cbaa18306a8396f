"""`vitascope admin recount`: recompute the counts statuses and accounts show (node.services.counters)."""

from __future__ import annotations

import asyncio

from node.cli.common import add_config_option, config_from, with_db


def register(admin) -> None:
    recount = admin.add_parser("recount", help="recompute the counts statuses and accounts show (replies, "
                                               "reblogs, favourites, remixes, followers, following, statuses)")
    add_config_option(recount)
    recount.set_defaults(func=cmd_recount)


def cmd_recount(args) -> int:
    from node.services import counters

    fixed = asyncio.run(with_db(config_from(args), counters.recount))
    wrong = {k: v for k, v in fixed.items() if v}
    print("counts recomputed: " + (", ".join(f"{k} {v}" for k, v in wrong.items()) + " fixed" if wrong
                                   else "all were right"))
    return 0
