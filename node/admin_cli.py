"""`vitascope admin inbox …`: received activities that ended in error or were ignored, and retrying them.

    vitascope admin inbox [--state error|ignored|pending|…] [--limit N] [--json]
    vitascope admin inbox retry ID [ID…] | --all-errors

`vitascope admin recount`: recompute the counts statuses and accounts show.

Registered through node.cli.EXTRA_COMMANDS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from node.models.federation import INBOX_STATES

DEFAULT_LIMIT = 50


def _list(args) -> int:
    from node.cli import _config, _with_db
    from node.services import inbox_items

    async def run():
        return await inbox_items.query(args.state).order_by("-id").limit(args.limit)

    items = asyncio.run(_with_db(_config(args), run))
    if args.json:
        print(json.dumps([inbox_items.item_json(i) for i in items], indent=2))
        return 0
    if not items:
        print(f"no inbox items {'in ' + args.state if args.state else 'in error or ignored'}")
        return 0
    print(f"{'id':<20} {'type':<10} {'received':<24} {'state':<10} {'actor':<40} reason")
    for row in (inbox_items.item_json(i) for i in items):
        print(f"{row['id']:<20} {row['type']:<10} {row['received_at']:<24} {row['state']:<10} {row['actor']:<40} "
              f"{row['reason'] or '-'}")
    return 0


def _retry(args) -> int:
    from node.cli import _config, _with_db
    from node.services import inbox_items

    async def run():
        if args.all_errors:
            return await inbox_items.retry_all_errors(), {}
        problems = await inbox_items.not_retryable(args.ids)
        if problems:
            return 0, problems
        return await inbox_items.retry(args.ids), {}

    count, problems = asyncio.run(_with_db(_config(args), run))
    for item_id, reason in problems.items():
        print(f"vitascope: inbox item {item_id}: {reason}", file=sys.stderr)
    if problems:
        return 1
    print(f"{count} inbox item{'' if count == 1 else 's'} back to pending; the running node processes "
          f"{'it' if count == 1 else 'them'} shortly")
    return 0


def _recount(args) -> int:
    from node.cli import _config, _with_db
    from node.services import counters

    fixed = asyncio.run(_with_db(_config(args), counters.recount))
    wrong = {k: v for k, v in fixed.items() if v}
    print("counts recomputed: " + (", ".join(f"{k} {v}" for k, v in wrong.items()) + " fixed" if wrong
                                   else "all were right"))
    return 0


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive number: {value!r}")
    return int(value)


def _item_id(value: str) -> int:
    if not value.isdigit() or len(value) > 19:
        raise argparse.ArgumentTypeError(f"not an inbox item id: {value!r}")
    return int(value)


def register(subparsers: argparse._SubParsersAction) -> None:
    admin = subparsers.choices["admin"]
    asub = next(a for a in admin._actions if isinstance(a, argparse._SubParsersAction))
    inbox = asub.add_parser("inbox", help="received activities that ended in error or were ignored (and retry)")
    inbox.add_argument("--state", choices=INBOX_STATES, help="only this state (default: error and ignored)")
    inbox.add_argument("--limit", type=_positive, default=DEFAULT_LIMIT,
                       help=f"newest N items (default {DEFAULT_LIMIT})")
    inbox.add_argument("--json", action="store_true", help="print JSON (the admin API's shape)")
    inbox.add_argument("--config", default=argparse.SUPPRESS)
    inbox.set_defaults(func=_list)
    isub = inbox.add_subparsers(dest="inbox_command")
    retry = isub.add_parser("retry", help="put error (or ignored) items back to pending for the processor")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("ids", nargs="*", type=_item_id, default=[], metavar="ID")
    which.add_argument("--all-errors", action="store_true", help="every item in error")
    retry.add_argument("--config", default=argparse.SUPPRESS)
    retry.set_defaults(func=_retry)
    recount = asub.add_parser("recount", help="recompute the counts statuses and accounts show (replies, "
                                              "reblogs, favourites, remixes, followers, following, statuses)")
    recount.add_argument("--config", default=argparse.SUPPRESS)
    recount.set_defaults(func=_recount)
