"""Delivery rows read and written a batch at a time: the delivery jobs that run together (a fan-out
starts dozens per turn of the event loop) share one query for their rows and one transaction for
their outcomes, instead of two queries and a commit each (node.activitypub.delivery).

Plain SQL with a light row object rather than the ORM: building the ORM's statements and objects
cost more per delivery than the RSA signature."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from tortoise.transactions import in_transaction

from federation import delivery as policy
from node.models import Delivery

_WRITTEN = ("state", "attempts", "first_attempt_at", "next_attempt_at", "delivered_at", "last_status", "last_error",
            "scheme")
_HEALTH = ("signature_scheme", "failing_since", "failures", "unavailable", "last_success_at")


@dataclass
class Row:
    """What a delivery job reads of its `Delivery` row and changes; ``health`` is its domain's
    `DomainHealth` (None when there is none)."""

    id: int
    activity_id: int
    inbox: str
    domain: str
    state: str
    attempts: int
    first_attempt_at: datetime | None
    health: policy.DomainState | None
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    last_status: int | None = None
    last_error: str | None = None
    scheme: str | None = None


def _sql(sql: str, numbered: bool) -> str:
    """``?`` placeholders, numbered for asyncpg."""
    if not numbered:
        return sql
    parts = sql.split("?")
    return "".join(part + (f"${i + 1}" if i < len(parts) - 1 else "") for i, part in enumerate(parts))


def _when(value: Any) -> datetime | None:
    """A timestamp as the driver returns it (SQLite: text) as an aware datetime."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


async def rows(ids: list[int]) -> dict[int, Row]:
    """The rows of ``ids`` that exist, with their domains' health: one statement."""
    db = Delivery._meta.db
    sql = ("SELECT d.id, d.activity_id, d.inbox, d.domain, d.state, d.attempts, d.first_attempt_at, "
           "d.next_attempt_at, d.delivered_at, d.last_status, d.last_error, d.scheme, "
           "h.domain AS h_domain, h.signature_scheme, h.failing_since, h.failures, h.unavailable, h.last_success_at "
           "FROM deliveries d LEFT JOIN domain_health h ON h.domain = d.domain "
           f"WHERE d.id IN ({','.join('?' * len(ids))})")
    found = {}
    for r in await db.execute_query_dict(_sql(sql, db.capabilities.dialect == "postgres"), ids):
        health = None if r["h_domain"] is None else policy.DomainState(
            failing_since=_when(r["failing_since"]), last_success_at=_when(r["last_success_at"]),
            failures=r["failures"], unavailable=bool(r["unavailable"]), scheme=r["signature_scheme"])
        found[r["id"]] = Row(r["id"], r["activity_id"], r["inbox"], r["domain"], r["state"], r["attempts"],
                             _when(r["first_attempt_at"]), health, _when(r["next_attempt_at"]),
                             _when(r["delivered_at"]), r["last_status"], r["last_error"], r["scheme"])
    return found


async def save(changed: list[Row], health: dict[str, policy.DomainState], now: datetime) -> None:
    """Write the rows' outcomes and the domains' new states in one transaction (one prepared statement
    each, run for every row); without health changes, the usual case, one ``executemany`` that is a
    transaction of its own (a round trip less)."""
    db = Delivery._meta.db
    numbered = db.capabilities.dialect == "postgres"
    rows_sql = _sql(f"UPDATE deliveries SET {', '.join(f'{name} = ?' for name in _WRITTEN)} WHERE id = ?", numbered)
    rows = [[getattr(row, name) for name in _WRITTEN] + [row.id] for row in changed]
    if not health:
        await db.execute_many(rows_sql, rows)
        return
    columns = ("domain", *_HEALTH, "updated_at")
    health_sql = _sql(f"INSERT INTO domain_health ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
                      "ON CONFLICT (domain) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in columns[1:]),
                      numbered)
    async with in_transaction() as tx:
        if rows:
            await tx.execute_many(rows_sql, rows)
        await tx.execute_many(health_sql, [[domain, state.scheme, state.failing_since, state.failures,
                                            state.unavailable, state.last_success_at, now]
                                           for domain, state in health.items()])
