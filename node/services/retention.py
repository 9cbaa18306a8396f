"""Retention of finished delivery rows (federation.delivery_retention_days; docs/admin.md).

Delivered, failed and skipped `Delivery` rows and delivered or failed `PushDelivery` rows older than
the retention are deleted, then every `OutboxActivity` past it that no delivery row names any more
(its id answers 404 from then on, as an unstored Mastodon activity does) — except a `Follow` or a
`Block`, which stand for a relationship a peer may still dereference them for (an `Accept` or
`Undo` naming one by id). Pending rows always stay:
their retries end them. A skipped row stays at least the delivery retry window, while a peer that
talks to us again may still have it sent. Web Push subscriptions the push service said are gone
(4xx) are removed when it says so (node.web_push), so none is left to prune here.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from federation.delivery import RETRY_WINDOW
from node.context import Node
from node.models import Delivery, OutboxActivity, PushDelivery

log = logging.getLogger(__name__)

# Sent activities kept whatever their age (see above).
KEPT_TYPES = ("Follow", "Block")
BATCH = 1000  # rows per DELETE, so a first prune of a large backlog never holds long locks


async def _delete_in_batches(query) -> int:
    deleted = 0
    while ids := await query.limit(BATCH).values_list("id", flat=True):
        deleted += await query.model.filter(id__in=list(ids)).delete()
        if len(ids) < BATCH:
            break
    return deleted


async def _delete_unreferenced_activities(cutoff: datetime) -> int:
    """Sent activities made before ``cutoff`` that no delivery row names, oldest first by id (the
    primary key), a batch at a time; which of a batch are named is one look-up by the indexed
    deliveries.activity_id, never an anti-join over the whole deliveries table."""
    deleted, after = 0, 0
    while batch := await OutboxActivity.filter(created_at__lt=cutoff, id__gt=after).exclude(
            type__in=KEPT_TYPES).order_by("id").limit(
            BATCH).values_list("id", flat=True):
        after = batch[-1]
        named = set(await Delivery.filter(activity_id__in=batch).distinct().values_list("activity_id", flat=True))
        if gone := [activity_id for activity_id in batch if activity_id not in named]:
            deleted += await OutboxActivity.filter(id__in=gone).delete()
        if len(batch) < BATCH:
            break
    return deleted


async def prune(node: Node, now: datetime | None = None) -> dict[str, int]:
    """Delete the finished rows past the retention; returns how many of each went (nothing when the
    retention is 0: kept forever)."""
    days = node.config["federation.delivery_retention_days"]
    if days == 0:
        return {"deliveries": 0, "push_deliveries": 0, "activities": 0}
    now = now or datetime.now(timezone.utc)
    cutoff = now - timedelta(days=days)
    counts = {
        "deliveries": await _delete_in_batches(Delivery.filter(state__in=["delivered", "failed"], created_at__lt=cutoff))
        + await _delete_in_batches(Delivery.filter(state="skipped", created_at__lt=min(cutoff, now - RETRY_WINDOW))),
        "push_deliveries": await _delete_in_batches(
            PushDelivery.filter(state__in=["delivered", "failed"], created_at__lt=cutoff)),
        "activities": await _delete_unreferenced_activities(cutoff),
    }
    if any(counts.values()):
        log.info("pruned %(deliveries)d deliveries, %(push_deliveries)d Web Push deliveries and "
                 "%(activities)d sent activities", counts)
    return counts
