"""Delivery rows read and written a batch at a time: the delivery jobs that run together (a fan-out
starts dozens per turn of the event loop) share one query for their rows and one transaction for
their outcomes, instead of two queries and a commit each (node.activitypub.delivery)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from tortoise.transactions import in_transaction

from federation import delivery as policy
from node.models import Delivery, DomainHealth

_ROW_FIELDS = ["state", "attempts", "first_attempt_at", "next_attempt_at", "delivered_at", "last_status",
               "last_error", "scheme"]
_HEALTH_FIELDS = ["signature_scheme", "failing_since", "failures", "unavailable", "last_success_at", "updated_at"]


async def rows_with_health(ids: Iterable[int]) -> dict[int, tuple[Delivery, DomainHealth | None]]:
    """The rows of ``ids`` that exist, each with its domain's health row (if any): two queries."""
    rows = await Delivery.filter(id__in=list(ids))
    domains = {row.domain for row in rows}
    health = {h.domain: h for h in await DomainHealth.filter(domain__in=list(domains))} if domains else {}
    return {row.id: (row, health.get(row.domain)) for row in rows}


def domain_state(health: DomainHealth | None) -> policy.DomainState:
    if health is None:
        return policy.DomainState()
    return policy.DomainState(failing_since=health.failing_since, last_success_at=health.last_success_at,
                              failures=health.failures, unavailable=health.unavailable,
                              scheme=health.signature_scheme)  # type: ignore[arg-type]


async def save(rows: list[Delivery], health: dict[str, policy.DomainState], now: datetime) -> None:
    """Write the rows' outcomes and the domains' new states in one transaction (one statement each)."""
    async with in_transaction():
        if rows:
            await Delivery.bulk_update(rows, fields=_ROW_FIELDS, batch_size=500)
        if health:
            await DomainHealth.bulk_create(
                [DomainHealth(domain=domain, signature_scheme=state.scheme, failing_since=state.failing_since,
                              failures=state.failures, unavailable=state.unavailable,
                              last_success_at=state.last_success_at, updated_at=now)
                 for domain, state in health.items()],
                on_conflict=["domain"], update_fields=_HEALTH_FIELDS, batch_size=500)
