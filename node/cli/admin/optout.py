"""`vitascope admin optout add HOLDER TERM [TERM …] | list | remove ID`: the copyright opt-out registry
(prompts naming a registered term are refused)."""

from __future__ import annotations

import asyncio

from node.cli.common import add_config_option, config_from, fail, with_db


def register(admin) -> None:
    optout = admin.add_parser("optout", help="the copyright opt-out registry")
    add_config_option(optout)
    osub = optout.add_subparsers(dest="optout_command", required=True)
    add = osub.add_parser("add", help="refuse prompts naming these terms")
    add_config_option(add)
    add.add_argument("holder", help="rights holder, shown in refusals")
    add.add_argument("terms", nargs="+", help="names and phrases to refuse (whole words, any case)")
    add.add_argument("--note", default="")
    add.set_defaults(func=cmd_optout_add)
    lst = osub.add_parser("list")
    add_config_option(lst)
    lst.set_defaults(func=cmd_optout_list)
    rm = osub.add_parser("remove")
    add_config_option(rm)
    rm.add_argument("id", type=int)
    rm.set_defaults(func=cmd_optout_remove)


def cmd_optout_add(args) -> int:
    from node.errors import ApiError
    from node.services.generation import add_opt_out

    config = config_from(args)

    async def run():
        entry = await add_opt_out(args.holder, args.terms, note=args.note)
        print(f"added opt-out {entry.id}: {entry.holder}: {', '.join(entry.terms)}")

    try:
        asyncio.run(with_db(config, run))
    except ApiError as exc:
        return fail(exc.message)
    return 0


def cmd_optout_list(args) -> int:
    from node.models import CopyrightOptOut

    config = config_from(args)

    async def run():
        for entry in await CopyrightOptOut.all().order_by("id"):
            note = f"  ({entry.note})" if entry.note else ""
            print(f"{entry.id:<20} {entry.holder:<30} {', '.join(entry.terms)}{note}")

    asyncio.run(with_db(config, run))
    return 0


def cmd_optout_remove(args) -> int:
    from node.errors import ApiError
    from node.services.generation import remove_opt_out

    config = config_from(args)
    try:
        asyncio.run(with_db(config, lambda: remove_opt_out(args.id)))
    except ApiError:
        return fail(f"no opt-out with id {args.id}")
    print(f"removed opt-out {args.id}")
    return 0
