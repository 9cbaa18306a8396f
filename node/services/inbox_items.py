"""Received activities as the admins see them: what ended `error` or `ignored`, and why, and
putting failed ones back in the queue once the cause is fixed; and the processor's claim of the next
batch (claim_pending) and the writing of its outcomes (record_outcomes).

The inbox processor (node.activitypub.process) drains `pending` rows, so a retried item is picked
up by the running node within its poll interval; nothing else needs waking.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from tortoise.queryset import QuerySet

from node.errors import unprocessable
from node.models import InboxItem
from node.models.federation import INBOX_STATES

# Listed when no state is asked for: the items that carry a reason.
NEEDS_ATTENTION = ("error", "ignored")
# States an admin may send back to the processor (an ignored item too: its cause may be gone,
# e.g. a peer's CA is trusted now).
RETRYABLE = ("error", "ignored")


def query(state: str | None) -> QuerySet[InboxItem]:
    if state is None:
        return InboxItem.filter(state__in=NEEDS_ATTENTION)
    if state not in INBOX_STATES:
        raise unprocessable(f"state must be one of {', '.join(INBOX_STATES)}")
    return InboxItem.filter(state=state)


async def not_retryable(ids: list[int]) -> dict[int, str]:
    """Why each of ``ids`` cannot be retried (missing, or in a state other than RETRYABLE)."""
    states = dict(await InboxItem.filter(id__in=ids).values_list("id", "state"))
    problems = {}
    for item_id in ids:
        if item_id not in states:
            problems[item_id] = "no such inbox item"
        elif states[item_id] not in RETRYABLE:
            problems[item_id] = f"is {states[item_id]}; only {' or '.join(RETRYABLE)} items can be retried"
    return problems


async def retry(ids: list[int]) -> int:
    """Put these error/ignored items back to pending; returns how many were."""
    return await InboxItem.filter(id__in=ids, state__in=RETRYABLE).update(state="pending", error=None, claimed_at=None)


async def retry_all_errors() -> int:
    return await InboxItem.filter(state="error").update(state="pending", error=None, claimed_at=None)


@dataclass(eq=False, slots=True)
class ClaimedItem:
    """A claimed inbox row as the processor uses it: what it reads, and the outcome it sets
    (written for the whole batch by ``record_outcomes``). Plain attributes, not a model: building
    and saving ORM objects cost more than the statements themselves, 200 rows at a time."""

    id: int
    actor_uri: str
    type: str
    document: dict[str, Any]
    attempts: int
    state: str = "processing"
    error: str | None = None
    processed_at: datetime | None = None


_DOCUMENT = InboxItem._meta.fields_map["document"]


async def claim_pending(limit: int) -> list[ClaimedItem]:
    """The oldest ``limit`` pending items, marked processing by one statement that returns them, so
    processes claiming at once on one database never get the same item: on PostgreSQL the rows
    another claim has locked are skipped (``FOR UPDATE SKIP LOCKED``), and a row that another claim
    changed meanwhile is no longer pending when locked; SQLite runs one writer at a time.
    """
    db = InboxItem._meta.db
    table = InboxItem._meta.db_table
    returning = "RETURNING id, actor_uri, type, document, attempts"
    if db.capabilities.dialect == "postgres":
        sql = (f"UPDATE {table} SET state = 'processing', claimed_at = $1 WHERE state = 'pending' AND id IN "
               f"(SELECT id FROM {table} WHERE state = 'pending' ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) "
               + returning)
    else:
        sql = (f"UPDATE {table} SET state = 'processing', claimed_at = ? WHERE state = 'pending' AND id IN "
               f"(SELECT id FROM {table} WHERE state = 'pending' ORDER BY id LIMIT ?) " + returning)
    rows = await db.execute_query_dict(sql, [datetime.now(timezone.utc), limit])
    items = [ClaimedItem(row["id"], row["actor_uri"], row["type"], _DOCUMENT.to_python_value(row["document"]),
                         row["attempts"]) for row in rows]
    items.sort(key=lambda item: item.id)  # RETURNING promises no order; items are processed in arrival order
    return items


async def record_outcomes(items: list[ClaimedItem]) -> None:
    """Write each item's state, reason, attempts and processing time: one prepared statement for
    the batch (``executemany``, in one transaction)."""
    db = InboxItem._meta.db
    table = InboxItem._meta.db_table
    marks = ("$1", "$2", "$3", "$4", "$5") if db.capabilities.dialect == "postgres" else ("?",) * 5
    sql = (f"UPDATE {table} SET state = {marks[0]}, error = {marks[1]}, attempts = {marks[2]}, "
           f"processed_at = {marks[3]} WHERE id = {marks[4]}")
    await db.execute_many(sql, [[item.state, item.error, item.attempts, item.processed_at, item.id] for item in items])


async def release_stuck(claimed_before: datetime) -> int:
    """Put items claimed before ``claimed_before`` and still processing (their process died) back to pending."""
    return await InboxItem.filter(state="processing", claimed_at__lt=claimed_before).update(state="pending")
