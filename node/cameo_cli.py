"""`vitascope admin cameos …`: the moderators' review queue of cameo captures.

    vitascope admin cameos list [--state needs_review|pending|verified|rejected] [--json]
    vitascope admin cameos approve ID
    vitascope admin cameos reject ID --reason R

Registered through node.cli.EXTRA_COMMANDS; the admin API offers the same (docs/cameos.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json

from node.models.cameos import CAMEO_STATES


def _list(args) -> int:
    from node.cli import _config, _with_db
    from node.models import Cameo

    async def run():
        return await Cameo.filter(state=args.state).order_by("id").prefetch_related("account")

    found = asyncio.run(_with_db(_config(args), run))
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


def _decide(args) -> int:
    from node.cli import _config, _with_db
    from node.errors import ApiError
    from node.services import cameos

    async def run():
        return await cameos.review(None, args.id, approve=args.cameos_command == "approve",
                                   reason=getattr(args, "reason", None))

    try:
        cameo = asyncio.run(_with_db(_config(args), run))
    except ApiError as exc:
        print(f"vitascope: cameo {args.id}: {exc.message}")
        return 1
    print(f"cameo {cameo.id} (@{cameo.handle}): {cameo.state}")
    return 0


def _cameo_id(value: str) -> int:
    if not value.isdigit() or len(value) > 19:
        raise argparse.ArgumentTypeError(f"not a cameo id: {value!r}")
    return int(value)


def register(subparsers: argparse._SubParsersAction) -> None:
    admin = subparsers.choices["admin"]
    asub = next(a for a in admin._actions if isinstance(a, argparse._SubParsersAction))
    cameos = asub.add_parser("cameos", help="review cameo captures the checks could not decide")
    csub = cameos.add_subparsers(dest="cameos_command", required=True)
    listing = csub.add_parser("list", help="captures in a state (default: waiting for review)")
    listing.add_argument("--state", choices=CAMEO_STATES, default="needs_review")
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--config", default=argparse.SUPPRESS)
    listing.set_defaults(func=_list)
    approve = csub.add_parser("approve", help="verify a capture")
    approve.add_argument("id", type=_cameo_id)
    approve.add_argument("--config", default=argparse.SUPPRESS)
    approve.set_defaults(func=_decide)
    reject = csub.add_parser("reject", help="reject a capture")
    reject.add_argument("id", type=_cameo_id)
    reject.add_argument("--reason", required=True)
    reject.add_argument("--config", default=argparse.SUPPRESS)
    reject.set_defaults(func=_decide)
