"""Scheduled statuses (Mastodon's `scheduled_at`): kept as rows, published when due by a loop in
every web process (node.scheduled_publisher). A row is claimed before it is published, and the
status is created with an idempotency key of the row, so two processes, or a crash between posting
and deleting the row, never post it twice."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from node.context import Node
from node.errors import ApiError, not_found, unprocessable
from node.models import Account, ScheduledStatus, User
from node.models.statuses import VISIBILITIES
from node.services.parental import direct_recipients
from node.services.statuses import check_text, create_status, own_media, resolve_mentions

log = logging.getLogger(__name__)

TOTAL_LIMIT = 300  # as Mastodon
DAILY_LIMIT = 25
CLAIM_TIMEOUT = timedelta(minutes=5)  # a claim older than this was lost with its process


def parse_time(value: str) -> datetime:
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise unprocessable("scheduled_at must be an ISO 8601 date and time") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def is_due_now(node: Node, when: datetime) -> bool:
    """Mastodon posts at once what is scheduled less than the minimum ahead."""
    return when <= datetime.now(timezone.utc) + timedelta(seconds=node.config["limits.min_schedule_seconds"])


async def _check_limits(account: Account, when: datetime, exclude: int | None = None) -> None:
    query = ScheduledStatus.filter(account_id=account.id)
    if exclude is not None:
        query = query.exclude(id=exclude)
    if await query.count() >= TOTAL_LIMIT:
        raise unprocessable(f"you cannot have more than {TOTAL_LIMIT} scheduled statuses")
    day = when.replace(hour=0, minute=0, second=0, microsecond=0)
    if await query.filter(scheduled_at__gte=day, scheduled_at__lt=day + timedelta(days=1)).count() >= DAILY_LIMIT:
        raise unprocessable(f"you cannot schedule more than {DAILY_LIMIT} statuses on the same day")


async def schedule(node: Node, user: User, when: datetime, params: dict[str, Any]) -> ScheduledStatus:
    """Check the status as posting it would, then keep it for `when`."""
    account = user.account
    if (params.get("visibility") or "public") not in VISIBILITIES:
        raise unprocessable(f"visibility must be one of {', '.join(VISIBILITIES)}")
    check_text(node, params["text"], params["spoiler_text"], params["media_ids"])
    if params.get("visibility") == "direct":  # checked again when it is published
        await direct_recipients(account, await resolve_mentions(node, params["text"]))
    await own_media(account, params["media_ids"])
    await _check_limits(account, when)
    stored = {**params, "media_ids": [str(m) for m in params["media_ids"]], "scheduled_at": None,
              "in_reply_to_id": str(params["in_reply_to_id"]) if params.get("in_reply_to_id") else None,
              "remix_of_id": str(params["remix_of_id"]) if params.get("remix_of_id") else None}
    return await ScheduledStatus.create(account=account, scheduled_at=when, params=stored)


async def reschedule(node: Node, account: Account, scheduled_id: int, when: datetime) -> ScheduledStatus:
    row = await _own(account, scheduled_id)
    if is_due_now(node, when):
        raise unprocessable(f"scheduled_at must be at least {node.config['limits.min_schedule_seconds'] // 60} minutes in the future")
    await _check_limits(account, when, exclude=row.id)
    row.scheduled_at = when
    await row.save(update_fields=["scheduled_at"])
    return row


async def cancel(account: Account, scheduled_id: int) -> None:
    await (await _own(account, scheduled_id)).delete()


async def _own(account: Account, scheduled_id: int) -> ScheduledStatus:
    row = await ScheduledStatus.get_or_none(id=scheduled_id, account_id=account.id, claimed_at=None)
    if row is None:
        raise not_found()
    return row


async def publish_due(node: Node) -> int:
    """Publish every due status this process can claim; the number published."""
    now = datetime.now(timezone.utc)
    due = await ScheduledStatus.filter(scheduled_at__lte=now).order_by("scheduled_at").limit(100)
    published = 0
    for row in due:
        claim = ScheduledStatus.filter(id=row.id)
        if row.claimed_at is None:
            claim = claim.filter(claimed_at=None)
        elif row.claimed_at < now - CLAIM_TIMEOUT:
            claim = claim.filter(claimed_at=row.claimed_at)
        else:
            continue  # being published by another process
        if not await claim.update(claimed_at=now):
            continue  # another process has it
        await _publish(node, row)
        published += 1
    return published


async def _publish(node: Node, row: ScheduledStatus) -> None:
    p = row.params
    user = await User.get_or_none(account_id=row.account_id).prefetch_related("account")
    try:
        if user is not None and user.account.deleted_at is None and user.account.suspended_at is None:
            await create_status(
                node, user, text=p.get("text") or "", visibility=p.get("visibility"),
                spoiler_text=p.get("spoiler_text") or "", sensitive=bool(p.get("sensitive")),
                in_reply_to_id=int(p["in_reply_to_id"]) if p.get("in_reply_to_id") else None,
                media_ids=[int(m) for m in p.get("media_ids") or []], language=p.get("language"),
                idempotency_key=f"scheduled:{row.id}",
                remix_of_id=int(p["remix_of_id"]) if p.get("remix_of_id") else None,
                remixable=p.get("remixable", True))
    except ApiError as exc:  # e.g. its reply parent or media went away meanwhile: dropped, as Mastodon
        log.warning("scheduled status %s not published: %s", row.id, exc.message)
    await row.delete()
