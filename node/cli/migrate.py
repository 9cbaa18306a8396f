"""`vitascope migrate`: apply the database migrations (node/migrations; `serve` does it on start too)."""

from __future__ import annotations

import asyncio

from node.cli.common import add_config_option, config_from


def register(sub) -> None:
    mig = sub.add_parser("migrate", help="apply database migrations")
    add_config_option(mig)
    mig.set_defaults(func=cmd_migrate)


def cmd_migrate(args) -> int:
    from node import db

    config = config_from(args)
    asyncio.run(db.migrate(config.database_url))
    print("migrations applied")
    return 0
