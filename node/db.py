"""Database connection and schema migrations (Tortoise's migration framework).

Migrations live in node/migrations and are made with
`python -m tortoise -c node.db.DEV_TORTOISE_CONFIG makemigrations`; they use Tortoise operations,
not SQL, so the same files migrate SQLite and PostgreSQL.
"""

from __future__ import annotations

import functools
import logging
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import asyncpg
from tortoise import Tortoise
from tortoise.exceptions import IntegrityError, OperationalError

log = logging.getLogger(__name__)

MODELS_MODULES = ["node.models"]


def _normalise_url(url: str) -> str:
    """Tortoise wants asyncpg:// or postgres://; accept the common postgresql:// spelling."""
    if url.startswith("postgresql://"):
        return "postgres://" + url[len("postgresql://"):]
    return url


def _postgres(url: str) -> dict[str, Any]:
    """The connection for a PostgreSQL URL, with connections handed back to the pool as they are.

    Tortoise takes a pool connection per statement, and asyncpg resets each one it gets back
    (RESET ALL, UNLISTEN, CLOSE ALL, advisory unlock): a second round trip for every statement. The
    node sets no session state, listens to nothing, holds no advisory lock or cursor, so the reset
    query is skipped; a transaction left open is still rolled back.
    """
    import asyncpg  # PostgreSQL only: a SQLite node never loads the driver
    from tortoise.backends.base.config_generator import expand_db_url

    class PooledConnection(asyncpg.Connection):
        def get_reset_query(self) -> str:
            return ""

        async def reset(self, *, timeout: float | None = None) -> None:
            # Only a transaction left open needs anything done (asyncpg rolls it back); otherwise
            # handing the connection back is free of asyncpg's timeout scope per statement.
            if self.is_in_transaction() or self._top_xact is not None:
                await super().reset(timeout=timeout)

    config = expand_db_url(url)
    config["credentials"]["connection_class"] = PooledConnection
    # asyncpg keeps a connection's statements prepared (parsed and described once), but only the
    # last 100, and only those under 15 kB of SQL: the read path alone has more than 100 shapes
    # (node.prepared: list, flags, cursors, page size), each parsed again whenever it fell out.
    config["credentials"].setdefault("max_cacheable_statement_size", 128 * 1024)
    config["credentials"].setdefault("statement_cache_size", 400)
    return config


def tortoise_config(database_url: str) -> dict[str, Any]:
    url = _normalise_url(database_url)
    if url.startswith("sqlite://"):
        Path(url[len("sqlite://"):]).parent.mkdir(parents=True, exist_ok=True)
    return {
        "connections": {"default": url if url.startswith("sqlite://") else _postgres(url)},
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
    from tortoise.migrations.api import migrate as run_migrations  # loaded only by the commands that migrate

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


_statements: ContextVar[list[int] | None] = ContextVar("statements", default=None)


def count_statements() -> Callable[[Callable[[], Awaitable[Any]]], Awaitable[tuple[Any, int]]]:
    """Turn on statement counting (`database.count_statements`); returns `run(fn)` → (fn's result,
    the statements it ran). Each request runs in its own task, so counts never mix.

    The ORM logs each statement it runs as `debug("%s: %s", query, values)`; its logger's `debug`
    is replaced by a counter, so counting costs a call per statement, not a log record (which
    cost the bench's node about a twentieth of its CPU)."""
    orm_log = logging.getLogger("tortoise.db_client")

    def debug(msg: object, *args: Any, **kwargs: Any) -> None:
        counter = _statements.get()
        if counter is not None and msg == "%s: %s":
            counter[0] += 1

    orm_log.debug = debug  # type: ignore[method-assign]

    async def run(fn):
        counter = [0]
        token = _statements.set(counter)
        try:
            return await fn(), counter[0]
        finally:
            _statements.reset(token)

    return run


@asynccontextmanager
async def one_connection() -> AsyncIterator[None]:
    """The block's statements on one PostgreSQL pool connection, each still committed on its own (no
    transaction is opened; one the block opens works as it would on the pool).

    Tortoise takes a connection from the pool for every statement and gives it back after, which
    costs more of the node's CPU than the statement's own round trip on a page of six; a read
    handler takes one for the whole request (`on_one_connection`). Nothing changes on SQLite (one
    connection anyway), inside a transaction, or before the pool is made."""
    from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
    from tortoise.backends.base.client import TransactionalDBClient
    from tortoise.connection import connections

    client = connections.get("default")
    if (not isinstance(client, AsyncpgDBClient) or isinstance(client, TransactionalDBClient)
            or client._pool is None):
        yield
        return
    pinned = TransactionWrapper(client)
    pinned._connection = await client._pool.acquire()
    pinned.pinned = True  # `fetch` reads on it directly
    token = connections.set("default", pinned)
    try:
        yield
    finally:
        connections.reset(token)
        await client._pool.release(pinned._connection)


async def fetch(client: Any, sql: str, values: list) -> list:
    """A read's rows: on the request's own connection (`one_connection`) straight from asyncpg's
    `fetch`, past Tortoise's per-statement wrapper (two coroutines, a lock, the SQL upper-cased to
    tell a read from a write), a twentieth of a page's CPU; otherwise through `execute_query`.
    Counted by `count_statements` and its errors turned into Tortoise's, as Tortoise does."""
    if not getattr(client, "pinned", False):
        return (await client.execute_query(sql, values))[1]
    client.log.debug("%s: %s", sql, values)
    async with client._lock:  # one statement at a time on a connection, as Tortoise's wrapper
        try:
            return await client._connection.fetch(sql, *values)
        except (asyncpg.SyntaxOrAccessError, asyncpg.exceptions.DataError) as exc:
            raise OperationalError(exc) from exc
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(exc) from exc


def on_one_connection(handler: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Awaitable[Any]]:
    """A read handler (and its token look-up, when put above `scope`) on `one_connection`."""
    @functools.wraps(handler)
    async def wrapper(request: Any) -> Any:
        async with one_connection():
            return await handler(request)

    return wrapper


async def close() -> None:
    await Tortoise.close_connections()
