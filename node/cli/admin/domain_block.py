"""`vitascope admin domain-block …`: domain blocks from the command line (the same service as
`/api/v1/admin/domain_blocks`, node.services.domain_blocks).

    vitascope admin domain-block add DOMAIN [--severity silence|suspend|noop] [--reject-media]
                                            [--reject-reports] [--private-comment TEXT] [--public-comment TEXT]
    vitascope admin domain-block list [--json]
    vitascope admin domain-block remove DOMAIN

Adding and removing need the node's Redis: the running node reloads its blocks as soon as one changes here.
"""

from __future__ import annotations

import asyncio
import json

from node.cli.common import add_config_option, config_from, fail, with_db, with_node
from node.models.moderation import SEVERITIES


def register(admin) -> None:
    blocks = admin.add_parser("domain-block", help="limit, suspend or unblock a remote server (and its subdomains)")
    add_config_option(blocks)
    bsub = blocks.add_subparsers(dest="domain_block_command", required=True)
    add = bsub.add_parser("add", help="block a domain")
    add.add_argument("domain", help="host or host:port")
    add.add_argument("--severity", choices=SEVERITIES, default="silence",
                     help="suspend: nothing in or out; silence: out of public timelines (default); noop: only "
                          "the rejections below")
    add.add_argument("--reject-media", action="store_true", help="never download its media")
    add.add_argument("--reject-reports", action="store_true", help="ignore its reports")
    add.add_argument("--private-comment", metavar="TEXT", help="a note for the admins")
    add.add_argument("--public-comment", metavar="TEXT", help="the reason shown in /api/v1/instance/domain_blocks")
    add_config_option(add)
    add.set_defaults(func=cmd_add)
    listing = bsub.add_parser("list", help="the blocked domains")
    listing.add_argument("--json", action="store_true", help="print JSON (the admin API's shape)")
    add_config_option(listing)
    listing.set_defaults(func=cmd_list)
    remove = bsub.add_parser("remove", help="lift a block")
    remove.add_argument("domain")
    add_config_option(remove)
    remove.set_defaults(func=cmd_remove)


def _describe(block) -> str:
    parts = [block.severity] + [name.replace("_", " ") for name in ("reject_media", "reject_reports")
                                if getattr(block, name)]
    return ", ".join(parts)


def cmd_add(args) -> int:
    from node.services import domain_blocks

    async def work(node) -> int:
        block = await domain_blocks.create(node, args.domain, severity=args.severity, reject_media=args.reject_media,
                                           reject_reports=args.reject_reports, private_comment=args.private_comment,
                                           public_comment=args.public_comment)
        print(f"blocked {block.domain}: {_describe(block)}")
        return 0

    return asyncio.run(with_node(args, work))


def cmd_list(args) -> int:
    from node.models import DomainBlock
    from node.serializers import domain_block_json

    async def work() -> int:
        rows = await DomainBlock.all().order_by("domain")
        if args.json:
            print(json.dumps([domain_block_json(b) for b in rows], indent=2))
        elif not rows:
            print("no domain blocks")
        else:
            print(f"{'domain':<40} {'since':<24} limits")
            for block in rows:
                row = domain_block_json(block)
                print(f"{block.domain:<40} {row['created_at']:<24} {_describe(block)}")
        return 0

    return asyncio.run(with_db(config_from(args), work))


def cmd_remove(args) -> int:
    from node.models import DomainBlock
    from node.services import domain_blocks

    async def work(node) -> int:
        block = await DomainBlock.get_or_none(domain=domain_blocks.normalize_domain(node, args.domain))
        if block is None:
            return fail(f"no domain block on {args.domain}")
        await domain_blocks.remove(node, block)
        print(f"lifted the block on {block.domain}")
        return 0

    return asyncio.run(with_node(args, work))
