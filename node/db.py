"""Database connection and schema migrations (Tortoise's migration framework).

Migrations live in node/migrations and are made with
`python -m tortoise -c node.db.DEV_TORTOISE_CONFIG makemigrations`; they use Tortoise operations,
not SQL, so the same files migrate SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from tortoise import Tortoise

log = logging.getLogger(__name__)

MODELS_MODULES = ["node.models"]


def _normalise_url(url: str) -> str:
    """Tortoise wants asyncpg:// or postgres://; accept the common postgresql:// spelling."""
    if url.startswith("postgresql://"):
        return "postgres://" + url[len("postgresql://"):]
    return url


def tortoise_config(database_url: str) -> dict[str, Any]:
    url = _normalise_url(database_url)
    if url.startswith("sqlite://"):
        Path(url[len("sqlite://"):]).parent.mkdir(parents=True, exist_ok=True)
    return {
        "connections": {"default": url},
        "apps": {
            "models": {
                "models": MODELS_MODULES,
                "default_connection": "default",
                "migrations": "node.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


# For the `tortoise` CLI when writing new migrations.
DEV_TORTOISE_CONFIG = tortoise_config("sqlite://data/dev-migrations.sqlite3")


async def migrate(database_url: str) -> None:
    """Apply every pending migration (idempotent; safe on every start)."""
    from tortoise.migrations.api import migrate as run_migrations

    await run_migrations(config=tortoise_config(database_url))
    await Tortoise.close_connections()


async def connect(database_url: str) -> None:
    await Tortoise.init(config=tortoise_config(database_url))
    if database_url.startswith("sqlite://"):
        conn = Tortoise.get_connection("default")
        # WAL lets the web process read while a worker or CLI writes. synchronous=NORMAL is SQLite's
        # recommended setting under WAL: a commit no longer waits for an fsync (the WAL is synced at
        # checkpoints), so the database stays consistent and survives a crash of the process; only a
        # power loss or OS crash can lose the last transactions committed before it.
        await conn.execute_script(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;")


async def close() -> None:
    await Tortoise.close_connections()
