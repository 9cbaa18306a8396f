"""Storing verified inbox POSTs: one row per activity id, committed before the 202.

federation.inbox verifies a POST and calls ``store``; the processor (node.activitypub.process)
works from the stored rows later, so an item survives restarts because the row is the truth.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from functools import cache
from typing import Any

from tortoise import timezone as orm_timezone
from tortoise.exceptions import ValidationError

from federation.inbox import InboxRefused, ReceivedActivity
from node.models import InboxItem

log = logging.getLogger(__name__)

# Rows per INSERT statement (SQLite allows 32,766 parameters per statement).
INSERT_CHUNK = 500
_FIELDS = InboxItem._meta.fields_map
_COLUMNS = InboxItem._meta.fields_db_projection
# Every stored field except those the database fills itself (none today: the id is a snowflake).
_INSERTED = [name for name in _COLUMNS if not _FIELDS[name].generated]


def _db_row(activity: ReceivedActivity) -> list[Any]:
    """The INSERT values of an activity's row, converted and validated by the model's own fields.

    A value a field refuses (an id longer than the column, say) fails this one request only.
    """
    given = {"created_at": orm_timezone.now(), "activity_id": activity.activity_id, "actor_uri": activity.actor,
             "type": activity.type, "document": activity.document, "signer": activity.signer}
    row = []
    for name in _INSERTED:
        field = _FIELDS[name]
        if name in given:
            row.append(field.to_db_value(given[name], InboxItem))
        elif callable(field.default):  # a new id
            row.append(field.to_db_value(field.default(), InboxItem))
        else:  # state "pending", attempts 0, no error…: the same for every row
            row.append(_constant_default(name))
    return row


@cache
def _constant_default(name: str) -> Any:
    field = _FIELDS[name]
    return field.to_db_value(field.default, InboxItem)


@cache
def _statements() -> tuple[str, str, str]:
    """INSERT head, ON CONFLICT tail, and the name of the activity id column."""
    activity_id = _COLUMNS["activity_id"]
    head = f'INSERT INTO "{InboxItem._meta.db_table}" (' + ",".join(f'"{_COLUMNS[n]}"' for n in _INSERTED) + ") VALUES "
    tail = f' ON CONFLICT ("{activity_id}") DO NOTHING RETURNING "{activity_id}"'
    return head, tail, activity_id


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


async def insert_new_items(rows: list[list[Any]]) -> set[str]:
    """Store the rows (from ``_db_row``) whose activity id is not stored yet; returns those ids.

    One ``INSERT … ON CONFLICT (activity_id) DO NOTHING RETURNING activity_id`` per chunk: a single
    round trip to the database, atomic on its own, that dedupes against every process's rows.
    """
    db = InboxItem._meta.db
    dialect = db.capabilities.dialect
    if dialect == "sqlite" and (inserted := _direct_sqlite.insert(db.filename, rows)) is not None:
        return inserted
    activity_id = _statements()[2]
    inserted = set()
    for sql, values in _chunks(rows, numbered=dialect == "postgres"):
        inserted.update(row[activity_id] for row in await db.execute_query_dict(sql, values))
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

    def insert(self, filename: str, rows: list[list[Any]]) -> set[str] | None:
        if filename == ":memory:":
            return None  # a private database only the shared connection can see
        connection = self._connect(filename)
        inserted: set[str] = set()
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                for sql, values in _chunks(rows, numbered=False):
                    inserted.update(row[0] for row in connection.execute(sql, values).fetchall())
            except BaseException:
                connection.rollback()
                raise
            connection.commit()
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                return None
            raise
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


class InboxWriter:
    """Group commit for the inbox: POSTs that arrive while a write is in flight share the next one.

    Each POST still gets its 202 only after its row is committed; under load one statement (one
    commit) carries many rows instead of one.
    """

    def __init__(self) -> None:
        self._waiting: list[tuple[str, list[Any], asyncio.Future[bool]]] = []
        self._flushing = False

    async def store(self, activity: ReceivedActivity) -> bool:
        """federation.inbox's InboxStore: False when the activity id was already stored."""
        try:
            row = _db_row(activity)
        except ValidationError as exc:
            raise InboxRefused(400, f"activity cannot be stored: {str(exc)[:200]}") from None
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((activity.activity_id, row, future))
        if not self._flushing:
            self._flushing = True
            asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    await self._write(batch)
                except Exception as exc:
                    for *_, future in batch:
                        if not future.done():
                            future.set_exception(exc)
        finally:
            self._flushing = False

    async def _write(self, batch: list[tuple[str, list[Any], asyncio.Future[bool]]]) -> None:
        fresh: dict[str, tuple[list[Any], asyncio.Future[bool]]] = {}
        for activity_id, row, future in batch:
            if activity_id in fresh:
                future.set_result(False)  # the same activity twice in one batch
            else:
                fresh[activity_id] = (row, future)
        inserted = await insert_new_items([row for row, _ in fresh.values()])
        for activity_id, (_, future) in fresh.items():
            future.set_result(activity_id in inserted)


store = InboxWriter().store
