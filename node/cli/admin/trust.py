"""`vitascope admin trust list | pin|trust|distrust DOMAIN [--ca PEM] | forget DOMAIN`: peer nodes' C2PA
certificate authorities (pinned on first use, or decided by the admin; docs/provenance.md)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from node.cli.common import add_config_option, config_from, fail, offline_node, with_db


def register(admin) -> None:
    trust = admin.add_parser("trust", help="peer nodes' C2PA certificate authorities")
    add_config_option(trust)
    tsub = trust.add_subparsers(dest="trust_command", required=True)
    tsub.add_parser("list", help="known peers and their trust state").set_defaults(func=cmd_trust)
    for name, text in (("pin", "learn a peer's CAs now (from the peer, or --ca FILE)"),
                       ("trust", "trust a peer's CAs (admin decision; replaces the pin)"),
                       ("distrust", "never trust this peer's videos"),
                       ("forget", "drop what we know; the next video pins again")):
        p = tsub.add_parser(name, help=text)
        p.add_argument("domain")
        if name in ("pin", "trust", "distrust"):
            p.add_argument("--ca", help="PEM file with the peer's CA certificates")
        add_config_option(p)
        p.set_defaults(func=cmd_trust)


def cmd_trust(args) -> int:
    from node.app import load_identity
    from node.models import NodeTrust
    from node.services import peer_trust
    from node.trust import split_pems

    config = config_from(args)
    node = offline_node(config)
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
            print(f"forgot {domain}" if await peer_trust.forget(domain) else f"{domain} was not known")
            return 0
        pems = split_pems(Path(args.ca).read_text()) if getattr(args, "ca", None) else None
        row = await peer_trust.decide(node, domain, args.trust_command, pems)
        print(f"{row.domain}: {row.state}, {len(split_pems(row.ca_pems))} CA(s)")
        return 0

    try:
        return asyncio.run(with_db(config, run))
    except Exception as exc:
        return fail(str(exc))
