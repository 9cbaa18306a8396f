"""Storing verified inbox POSTs: one row per activity id, committed before the 202.

federation.inbox verifies a POST and calls ``store``; the processor (node.activitypub.process)
works from the stored rows later, so an item survives restarts because the row is the truth.

An activity id is refused as already received when its ``activity_key`` is stored: 64 bits of its
SHA-256. Two different ids share a key with odds of about one in 2^64 per stored row — for a node
holding 100 million items, one wrongly refused activity in some 180 billion — in exchange for an
index of integers instead of URLs, which saves SQLite about a third of its work per row (36 → 26 µs
with 16,000 rows stored).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sqlite3
from datetime import datetime, timezone
from functools import cache
from typing import Any


from federation.inbox import InboxRefused, ReceivedActivity
from node.models import InboxItem

log = logging.getLogger(__name__)

# Rows per INSERT statement (SQLite allows 32,766 parameters per statement).
INSERT_CHUNK = 500
_FIELDS = InboxItem._meta.fields_map
_COLUMNS = InboxItem._meta.fields_db_projection
# Every stored field except those the database fills itself (none today: the id is a snowflake).
_INSERTED = [name for name in _COLUMNS if not _FIELDS[name].generated]


def activity_key(activity_id: str) -> int:
    """The dedupe key of an activity id: the first 8 bytes of its SHA-256, as a signed 64-bit integer."""
    return int.from_bytes(hashlib.sha256(activity_id.encode()).digest()[:8], "big", signed=True)


def _db_row(activity: ReceivedActivity, key: int) -> list[Any]:
    """The INSERT values of an activity's row, in ``_INSERTED`` order (hot path: no ORM objects).

    Values are what the model's fields would write; a value a field would refuse (an id longer than
    its column, a document its JSON encoder cannot write) fails this one request with a 400.
    """
    values = {"id": _new_id(), "created_at": datetime.now(timezone.utc), "activity_key": key,
              "activity_id": activity.activity_id, "actor_uri": activity.actor, "type": activity.type,
              "signer": activity.signer}
    for name, limit in _MAX_LENGTHS:
        if values[name] is not None and len(values[name]) > limit:
            raise InboxRefused(400, f"activity cannot be stored: {name} is longer than {limit} characters")
    try:
        values["document"] = _DOCUMENT.encoder(activity.document)
    except (TypeError, ValueError) as exc:  # lone surrogates, which json reads and orjson cannot write
        raise InboxRefused(400, f"activity cannot be stored: {str(exc)[:200]}") from None
    return [values[name] if name in values else _constant_default(name) for name in _INSERTED]


_new_id = _FIELDS["id"].default
_DOCUMENT = _FIELDS["document"]
_MAX_LENGTHS = [(name, _FIELDS[name].max_length) for name in ("activity_id", "actor_uri", "type", "signer")]


@cache
def _constant_default(name: str) -> Any:
    """State "pending", no attempts, no error…: the same for every new row."""
    field = _FIELDS[name]
    return field.to_db_value(field.default, InboxItem)


@cache
def _statements() -> tuple[str, str, str]:
    """INSERT head, ON CONFLICT tail, and the name of the activity key column."""
    key = _COLUMNS["activity_key"]
    head = f'INSERT INTO "{InboxItem._meta.db_table}" (' + ",".join(f'"{_COLUMNS[n]}"' for n in _INSERTED) + ") VALUES "
    tail = f' ON CONFLICT ("{key}") DO NOTHING RETURNING "{key}"'
    return head, tail, key


@cache
def _single_row_sql() -> str:
    """One row, duplicates skipped, nothing returned (``executemany`` cannot return rows)."""
    head, _, key = _statements()
    return head + "(" + ",".join("?" * len(_INSERTED)) + f') ON CONFLICT ("{key}") DO NOTHING'


def _chunks(rows: list[list[Any]], numbered: bool):
    """(SQL, parameters) per INSERT_CHUNK rows; asyncpg numbers its parameters, SQLite takes ?."""
    head, tail, _ = _statements()
    width = len(_INSERTED)
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start:start + INSERT_CHUNK]
        if numbered:
            tuples = ("(" + ",".join(f"${r * width + c + 1}" for c in range(width)) + ")" for r in range(len(chunk)))
        else:
            tuples = ("(" + ",".join("?" * width) + ")" for _ in chunk)
        yield head + ",".join(tuples) + tail, [v for row in chunk for v in row]


async def insert_new_items(rows: list[list[Any]]) -> set[int]:
    """Store the rows (from ``_db_row``) whose activity key is not stored yet; returns those keys.

    Duplicates are skipped by ``ON CONFLICT (activity_key) DO NOTHING``, which dedupes against every
    process's rows. On SQLite the rows go in on the loop's thread (``_DirectSqlite``); otherwise one
    ``INSERT … RETURNING activity_key`` per chunk: a single round trip, atomic on its own.
    """
    db = InboxItem._meta.db
    dialect = db.capabilities.dialect
    if dialect == "sqlite" and (inserted := _direct_sqlite.insert(db.filename, rows)) is not None:
        return inserted
    key = _statements()[2]
    inserted = set()
    for sql, values in _chunks(rows, numbered=dialect == "postgres"):
        inserted.update(row[key] for row in await db.execute_query_dict(sql, values))
    return inserted


class _DirectSqlite:
    """Inbox rows written on the event loop's thread with a connection of their own (SQLite only).

    Tortoise runs every SQLite statement on aiosqlite's thread. For an inbox batch that costs more
    than the write itself: two thread hand-offs and a wait for the GIL, which a busy event loop
    gives up only every switch interval, so the loop sits idle while POSTs wait for their commit.
    A batch of rows commits in well under a millisecond here (WAL, synchronous=NORMAL: no fsync),
    so it is written in place. This connection never waits for a lock (busy_timeout=0) and never
    checkpoints the WAL (the shared connection does): when another connection holds the write lock,
    ``insert`` returns None and the caller writes through the shared connection, which waits.
    """

    def __init__(self) -> None:
        self._connection: sqlite3.Connection | None = None
        self._filename: str | None = None

    def insert(self, filename: str, rows: list[list[Any]]) -> set[int] | None:
        if filename == ":memory:":
            return None  # a private database only the shared connection can see
        connection = self._connect(filename)
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                inserted = self._insert_rows(connection, rows)
            except BaseException:
                connection.rollback()
                raise
            connection.commit()
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                return None
            raise
        return inserted

    @staticmethod
    def _insert_rows(connection: sqlite3.Connection, rows: list[list[Any]]) -> set[int]:
        """All rows through one prepared statement (``executemany``: no Python per row); when the
        count of changes says some were already stored, ours are found by the ids we gave them."""
        before = connection.total_changes
        connection.executemany(_single_row_sql(), rows)
        key, row_id = _INSERTED.index("activity_key"), _INSERTED.index("id")
        if connection.total_changes - before == len(rows):
            return {row[key] for row in rows}
        table, columns = InboxItem._meta.db_table, _COLUMNS
        inserted: set[int] = set()
        for start in range(0, len(rows), INSERT_CHUNK):
            ids = [row[row_id] for row in rows[start:start + INSERT_CHUNK]]
            found = connection.execute(f'SELECT "{columns["activity_key"]}" FROM "{table}" WHERE "{columns["id"]}" IN '
                                       f'({",".join("?" * len(ids))})', ids)
            inserted.update(found_key for (found_key,) in found)
        return inserted

    def _connect(self, filename: str) -> sqlite3.Connection:
        if self._connection is None or self._filename != filename:
            self.close()
            connection = sqlite3.connect(filename, isolation_level=None)
            connection.executescript("PRAGMA busy_timeout=0; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;")
            self._connection, self._filename = connection, filename
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


_direct_sqlite = _DirectSqlite()
close = _direct_sqlite.close


# Turns of the event loop a commit waits for more rows before it is written. Under load each turn
# reads and verifies several POSTs (about a millisecond's work), so a commit carries two to three
# times as many rows — on SQLite a commit costs 100–200 µs however few rows it carries; idle, a
# turn takes microseconds.
COMMIT_GATHER_TURNS = 5


class InboxWriter:
    """Group commit for the inbox: POSTs verified while a commit gathers or is in flight share it.

    Each POST still gets its 202 only after its row is committed; under load one commit carries
    many rows instead of one.
    """

    def __init__(self) -> None:
        self._waiting: list[tuple[int, list[Any], asyncio.Future[bool]]] = []
        self._flushing = False
        self._flusher: asyncio.Task[None] | None = None  # referenced, so it is not collected mid-flight

    async def store(self, activity: ReceivedActivity) -> bool:
        """federation.inbox's InboxStore: False when the activity id was already stored."""
        key = activity_key(activity.activity_id)
        row = _db_row(activity, key)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((key, row, future))
        if not self._flushing:
            self._flushing = True
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._waiting:
                for _ in range(COMMIT_GATHER_TURNS):
                    await asyncio.sleep(0)
                batch, self._waiting = self._waiting, []
                try:
                    await self._write(batch)
                except Exception as exc:
                    for *_, future in batch:
                        if not future.done():
                            future.set_exception(exc)
        finally:
            self._flushing = False

    async def _write(self, batch: list[tuple[int, list[Any], asyncio.Future[bool]]]) -> None:
        fresh: dict[int, tuple[list[Any], asyncio.Future[bool]]] = {}
        for key, row, future in batch:
            if key in fresh:
                future.set_result(False)  # the same activity twice in one batch
            else:
                fresh[key] = (row, future)
        inserted = await insert_new_items([row for row, _ in fresh.values()])
        for key, (_, future) in fresh.items():
            future.set_result(key in inserted)


store = InboxWriter().store
