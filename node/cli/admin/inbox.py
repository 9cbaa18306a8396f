"""`vitascope admin inbox …`: received activities that ended in error or were ignored, and retrying them.

    vitascope admin inbox [--state error|ignored|pending|…] [--limit N] [--json]
    vitascope admin inbox retry ID [ID…] | --all-errors
"""

from __future__ import annotations

import asyncio
import json

from node.cli.common import add_config_option, config_from, fail, positive_int, row_id, with_db
from node.models.federation import INBOX_STATES

DEFAULT_LIMIT = 50


def register(admin) -> None:
    inbox = admin.add_parser("inbox", help="received activities that ended in error or were ignored (and retry)")
    inbox.add_argument("--state", choices=INBOX_STATES, help="only this state (default: error and ignored)")
    inbox.add_argument("--limit", type=positive_int, default=DEFAULT_LIMIT,
                       help=f"newest N items (default {DEFAULT_LIMIT})")
    inbox.add_argument("--json", action="store_true", help="print JSON (the admin API's shape)")
    add_config_option(inbox)
    inbox.set_defaults(func=cmd_list)
    isub = inbox.add_subparsers(dest="inbox_command")
    retry = isub.add_parser("retry", help="put error (or ignored) items back to pending for the processor")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("ids", nargs="*", type=row_id("an inbox item"), default=[], metavar="ID")
    which.add_argument("--all-errors", action="store_true", help="every item in error")
    add_config_option(retry)
    retry.set_defaults(func=cmd_retry)


def cmd_list(args) -> int:
    from node.serializers import inbox_item_json
    from node.services import inbox_items

    async def run():
        return await inbox_items.query(args.state).order_by("-id").limit(args.limit)

    items = asyncio.run(with_db(config_from(args), run))
    if args.json:
        print(json.dumps([inbox_item_json(i) for i in items], indent=2))
        return 0
    if not items:
        print(f"no inbox items {'in ' + args.state if args.state else 'in error or ignored'}")
        return 0
    print(f"{'id':<20} {'type':<10} {'received':<24} {'state':<10} {'actor':<40} reason")
    for row in (inbox_item_json(i) for i in items):
        print(f"{row['id']:<20} {row['type']:<10} {row['received_at']:<24} {row['state']:<10} {row['actor']:<40} "
              f"{row['reason'] or '-'}")
    return 0


def cmd_retry(args) -> int:
    from node.services import inbox_items

    async def run():
        if args.all_errors:
            return await inbox_items.retry_all_errors(), {}
        problems = await inbox_items.not_retryable(args.ids)
        if problems:
            return 0, problems
        return await inbox_items.retry(args.ids), {}

    count, problems = asyncio.run(with_db(config_from(args), run))
    for item_id, reason in problems.items():
        fail(f"inbox item {item_id}: {reason}")
    if problems:
        return 1
    print(f"{count} inbox item{'' if count == 1 else 's'} back to pending; the running node processes "
          f"{'it' if count == 1 else 'them'} shortly")
    return 0
