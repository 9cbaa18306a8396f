"""`vitascope admin cameos …`: the moderators' review queue of cameo captures.

    vitascope admin cameos list [--state needs_review|pending|verified|rejected] [--json]
    vitascope admin cameos approve ID
    vitascope admin cameos reject ID --reason R

The admin API offers the same (docs/cameos.md).
"""

from __future__ import annotations

import asyncio
import json

from node.cli.common import add_config_option, config_from, row_id, with_db
from node.models.cameos import CAMEO_STATES


def register(admin) -> None:
    cameos = admin.add_parser("cameos", help="review cameo captures the checks could not decide")
    csub = cameos.add_subparsers(dest="cameos_command", required=True)
    listing = csub.add_parser("list", help="captures in a state (default: waiting for review)")
    listing.add_argument("--state", choices=CAMEO_STATES, default="needs_review")
    listing.add_argument("--json", action="store_true")
    add_config_option(listing)
    listing.set_defaults(func=cmd_list)
    approve = csub.add_parser("approve", help="verify a capture")
    approve.add_argument("id", type=row_id("a cameo"))
    add_config_option(approve)
    approve.set_defaults(func=cmd_decide)
    reject = csub.add_parser("reject", help="reject a capture")
    reject.add_argument("id", type=row_id("a cameo"))
    reject.add_argument("--reason", required=True)
    add_config_option(reject)
    reject.set_defaults(func=cmd_decide)


def cmd_list(args) -> int:
    from node.models import Cameo

    async def run():
        return await Cameo.filter(state=args.state).order_by("id").prefetch_related("account")

    found = asyncio.run(with_db(config_from(args), run))
    rows = [{"id": str(c.id), "kind": c.kind, "handle": c.handle, "account": c.account.acct(), "state": c.state,
             "reason": c.review_reason, "challenge_phrase": c.challenge_phrase, "evidence": c.evidence}
            for c in found]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no cameos in {args.state}")
    for row in rows:
        print(f"{row['id']:<20} {row['kind']:<10} @{row['handle']:<31} {row['account']:<30} {row['reason'] or '-'}")
    return 0


def cmd_decide(args) -> int:
    from node.errors import ApiError
    from node.services import cameos

    async def run():
        return await cameos.review(None, args.id, approve=args.cameos_command == "approve",
                                   reason=getattr(args, "reason", None))

    try:
        cameo = asyncio.run(with_db(config_from(args), run))
    except ApiError as exc:
        print(f"vitascope: cameo {args.id}: {exc.message}")
        return 1
    print(f"cameo {cameo.id} (@{cameo.handle}): {cameo.state}")
    return 0
