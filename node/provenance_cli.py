"""`vitascope verify FILE` and `vitascope admin trust …` (peer CA pinning)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path


def _verify(args) -> int:
    from node.cli import _config, _offline_node, _with_db
    from node.app import load_identity
    from node.trust import provenance_json, trust_anchors
    from provenance.c2pa import format_verdict, verify_video

    path = Path(args.file)
    if not path.is_file():
        print(f"vitascope: no such file: {path}", file=sys.stderr)
        return 2
    config = _config(args)
    node = _offline_node(config)
    node.extras["identity"] = load_identity(config)
    extra = [Path(p).read_text() for p in args.trust_ca]

    async def anchors():
        return await trust_anchors(node)

    pems = asyncio.run(_with_db(config, anchors)) + extra
    verdict = verify_video(path, pems)
    if args.json:
        import json

        print(json.dumps(provenance_json(verdict), indent=2))
    else:
        print(format_verdict(verdict))
    return 0 if verdict.ok else 1


def _trust(args) -> int:
    from node.app import load_identity
    from node.cli import _config, _offline_node, _with_db
    from node.models import NodeTrust
    from node.trust import pin_peer, split_pems

    config = _config(args)
    node = _offline_node(config)
    node.extras["identity"] = load_identity(config)

    async def run():
        if args.trust_command == "list":
            rows = await NodeTrust.all().order_by("domain")
            for r in rows:
                print(f"{r.domain:<40} {r.state:<11} {len(split_pems(r.ca_pems))} CA(s) {r.note}")
            if not rows:
                print("no peer CAs known yet")
            return 0
        domain = args.domain.lower()
        if args.trust_command == "forget":
            deleted = await NodeTrust.filter(domain=domain).delete()
            print(f"forgot {domain}" if deleted else f"{domain} was not known")
            return 0
        pems = split_pems(Path(args.ca).read_text()) if getattr(args, "ca", None) else None
        state = {"pin": "pinned", "trust": "trusted", "distrust": "distrusted"}[args.trust_command]
        if state == "distrusted" and pems is None:
            row = await NodeTrust.get_or_none(domain=domain)
            pems = split_pems(row.ca_pems) if row else []
        row = await pin_peer(node, domain, pems, state=state)
        print(f"{row.domain}: {row.state}, {len(split_pems(row.ca_pems))} CA(s)")
        return 0

    try:
        return asyncio.run(_with_db(config, run))
    except Exception as exc:
        print(f"vitascope: {exc}", file=sys.stderr)
        return 1


def _rotate(args) -> int:
    from node.app import load_identity
    from node.cli import _config

    config = _config(args)
    identity = load_identity(config)
    if args.ca:
        identity.rotate_ca()
    else:
        identity.rotate_leaf()
    print(f"rotated the {'CA and ' if args.ca else ''}signing certificate; new one valid until "
          f"{identity.leaf_not_after.isoformat()}; {len(identity.published_ca_pems)} CA(s) published")
    print("restart the web process to sign with it")
    return 0


def register(subparsers) -> None:
    verify = subparsers.add_parser("verify", help="print the C2PA provenance verdict and remix chain of a video")
    verify.add_argument("file")
    verify.add_argument("--trust-ca", action="append", default=[], help="extra trusted CA (PEM file)")
    verify.add_argument("--json", action="store_true", help="print the provenance object instead")
    verify.add_argument("--config", default=argparse.SUPPRESS)
    verify.set_defaults(func=_verify)

    admin = subparsers.choices["admin"]
    asub = next(a for a in admin._actions if isinstance(a, argparse._SubParsersAction))
    trust = asub.add_parser("trust", help="peer nodes' C2PA certificate authorities")
    trust.add_argument("--config", default=argparse.SUPPRESS)
    rotate = asub.add_parser("rotate-signing-key", help="renew the C2PA signing certificate (and the CA with --ca)")
    rotate.add_argument("--ca", action="store_true", help="also start a new CA (the old one stays published)")
    rotate.add_argument("--config", default=argparse.SUPPRESS)
    rotate.set_defaults(func=_rotate)

    tsub = trust.add_subparsers(dest="trust_command", required=True)
    tsub.add_parser("list", help="known peers and their trust state").set_defaults(func=_trust)
    for name, text in (("pin", "learn a peer's CAs now (from the peer, or --ca FILE)"),
                       ("trust", "trust a peer's CAs (admin decision; replaces the pin)"),
                       ("distrust", "never trust this peer's videos"),
                       ("forget", "drop what we know; the next video pins again")):
        p = tsub.add_parser(name, help=text)
        p.add_argument("domain")
        if name in ("pin", "trust", "distrust"):
            p.add_argument("--ca", help="PEM file with the peer's CA certificates")
        p.add_argument("--config", default=argparse.SUPPRESS)
        p.set_defaults(func=_trust)
