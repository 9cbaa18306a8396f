"""`vitascope verify FILE [--trust-ca PEM] [--json]`: a video's C2PA provenance verdict and remix chain,
checked against this node's trust anchors (its own CA and the peers' it trusts or pinned)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from node.cli.common import add_config_option, config_from, offline_node, with_db


def register(sub) -> None:
    verify = sub.add_parser("verify", help="print the C2PA provenance verdict and remix chain of a video")
    verify.add_argument("file")
    verify.add_argument("--trust-ca", action="append", default=[], help="extra trusted CA (PEM file)")
    verify.add_argument("--json", action="store_true", help="print the provenance object instead")
    add_config_option(verify)
    verify.set_defaults(func=cmd_verify)


def cmd_verify(args) -> int:
    from node.app import load_identity
    from node.serializers import provenance_json
    from node.trust import trust_anchors
    from provenance.c2pa import format_verdict, verify_video

    path = Path(args.file)
    if not path.is_file():
        print(f"vitascope: no such file: {path}", file=sys.stderr)
        return 2
    config = config_from(args)
    node = offline_node(config)
    node.extras["identity"] = load_identity(config)
    extra = [Path(p).read_text() for p in args.trust_ca]

    async def anchors():
        return await trust_anchors(node)

    pems = asyncio.run(with_db(config, anchors)) + extra
    verdict = verify_video(path, pems)
    if args.json:
        print(json.dumps(provenance_json(verdict), indent=2))
    else:
        print(format_verdict(verdict))
    return 0 if verdict.ok else 1
