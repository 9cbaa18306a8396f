"""`vitascope admin prune`: delete the finished delivery rows past federation.delivery_retention_days
now (each web process also does it hourly; node.services.retention)."""

from __future__ import annotations

import asyncio

from node.cli.common import add_config_option, config_from, offline_node, with_db


def register(admin) -> None:
    prune = admin.add_parser("prune", help="delete delivered, failed and skipped deliveries, and the sent "
                                           "activities they named, older than federation.delivery_retention_days")
    add_config_option(prune)
    prune.set_defaults(func=cmd_prune)


def cmd_prune(args) -> int:
    from node.services import retention

    config = config_from(args)
    node = offline_node(config)
    counts = asyncio.run(with_db(config, lambda: retention.prune(node)))
    if not config["federation.delivery_retention_days"]:
        print("federation.delivery_retention_days is 0: delivery rows are kept forever")
    else:
        print(f"pruned {counts['deliveries']} deliveries, {counts['push_deliveries']} Web Push deliveries "
              f"and {counts['activities']} sent activities")
    return 0
