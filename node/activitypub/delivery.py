"""Delivery jobs: one arq job per `Delivery` row (and per Web Push `PushDelivery`, node.web_push), on their own queue, run by a worker inside the web
process (or by `vitascope delivery-worker`).

The row is the truth. A job reads it, makes one attempt (federation.delivery.deliver), and writes
the outcome: delivered, failed for good, or pending again with its next attempt time and a deferred
job. On start, and every minute, pending rows whose job is missing (Redis lost, process killed) are
queued again; arq's job ids (`deliver:<row>:<attempt>`) keep that from sending anything twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from arq.worker import Worker, func

from federation import delivery as policy
from node import web_push
from node.activitypub import blocked_domains
from node.activitypub.runtime import federation
from node.context import Node
from node.models import Account, Delivery, DomainHealth, OutboxActivity
from node.redis_server import in_process_worker, run_in_process_worker

log = logging.getLogger(__name__)

QUEUE = "vitascope:delivery"
SWEEP_SECONDS = 60
# A pending row whose job should have run this long ago is presumed lost and queued again.
LOST_AFTER = timedelta(seconds=30)
_BODY_CACHE_SIZE = 64

# Domains known to be failing or unavailable, so the inbox can tell them cheaply they are back.
_unhealthy: set[str] = set()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def job_id(delivery_id: int, attempts: int) -> str:
    return f"deliver:{delivery_id}:{attempts}"


async def enqueue(node: Node, delivery_ids: list[int], *, attempts: int = 0, at: datetime | None = None) -> None:
    if node.arq is None or not delivery_ids:
        return
    for delivery_id in delivery_ids:
        await node.arq.enqueue_job("deliver", delivery_id, _job_id=job_id(delivery_id, attempts), _queue_name=QUEUE,
                                   _defer_until=at)


async def _signing_material(ctx: dict[str, Any], activity_id: int) -> tuple[bytes, str, str]:
    """(body, key id, private key) of an activity, cached: a fan-out sends one body many times."""
    cache: dict[int, tuple[bytes, str, str]] = ctx.setdefault("bodies", {})
    if activity_id in cache:
        return cache[activity_id]
    node: Node = ctx["node"]
    activity = await OutboxActivity.get(id=activity_id)
    body = json.dumps(activity.document, separators=(",", ":"), ensure_ascii=False).encode()
    if activity.account_id is None:
        runtime = federation(node)
        key_id, pem = runtime.instance_key_id, runtime.instance_private_pem
    else:
        account = await Account.get(id=activity.account_id)
        key_id, pem = account.public_key_id, account.private_key_pem
    if len(cache) >= _BODY_CACHE_SIZE:
        cache.pop(next(iter(cache)))
    cache[activity_id] = (body, key_id, pem)
    return cache[activity_id]


async def _record_domain(domain: str, health: DomainHealth | None, outcome: policy.Outcome, now: datetime) -> None:
    state = policy.DomainState(
        failing_since=health.failing_since if health else None, last_success_at=health.last_success_at if health else None,
        failures=health.failures if health else 0, unavailable=health.unavailable if health else False,
        scheme=health.signature_scheme if health else None)  # type: ignore[arg-type]
    if outcome.delivered:
        new = state.after_success(now, outcome.scheme)
        # Healthy and unchanged: skip the write unless the success stamp is getting old.
        if health and state.failing_since is None and state.scheme == new.scheme and state.last_success_at \
                and now - state.last_success_at < timedelta(minutes=1):
            return
        _unhealthy.discard(domain)
    elif outcome.domain_failure:
        new = state.after_failure(now)
        _unhealthy.add(domain)
    else:
        return
    await DomainHealth.update_or_create(domain=domain, defaults={
        "signature_scheme": new.scheme, "failing_since": new.failing_since, "failures": new.failures,
        "unavailable": new.unavailable, "last_success_at": new.last_success_at})


async def deliver(ctx: dict[str, Any], delivery_id: int) -> str:
    """The arq job: one attempt at one delivery."""
    node: Node = ctx["node"]
    row = await Delivery.get_or_none(id=delivery_id)
    if row is None or row.state != "pending":
        return "nothing to do"
    if blocked_domains.suspends(row.domain):
        row.state, row.last_error = "skipped", "domain is suspended by this server"
        await row.save(update_fields=["state", "last_error"])
        return "skipped"
    now = _now()
    health = await DomainHealth.get_or_none(domain=row.domain)
    if health is not None and health.unavailable:
        row.state, row.last_error = "skipped", "domain unavailable"
        await row.save(update_fields=["state", "last_error"])
        return "skipped"
    body, key_id, pem = await _signing_material(ctx, row.activity_id)
    outcome = await policy.deliver(federation(node).fetcher, row.inbox, body, key_id=key_id, private_pem=pem,
                                   known_scheme=health.signature_scheme if health else None)  # type: ignore[arg-type]
    row.attempts += 1
    row.first_attempt_at = row.first_attempt_at or now
    row.last_status, row.last_error, row.scheme = outcome.status, outcome.error, outcome.scheme
    retry_at = None
    if outcome.delivered:
        row.state, row.delivered_at, row.next_attempt_at = "delivered", now, None
    elif outcome.retryable:
        delay = policy.retry_delay(row.attempts, row.first_attempt_at, now)
        if delay is None:
            row.state, row.next_attempt_at = "failed", None
        else:
            retry_at = row.next_attempt_at = now + delay
    else:
        row.state, row.next_attempt_at = "failed", None
    await row.save()
    await _record_domain(row.domain, health, outcome, now)
    if retry_at is not None:
        await enqueue(node, [row.id], attempts=row.attempts, at=retry_at)
    if not outcome.delivered:
        log.info("delivery %s to %s: %s (%s)", row.id, row.inbox, row.state, outcome.error)
    return row.state


async def requeue_lost(node: Node) -> int:
    """Queue again pending rows whose job should have run by now (their job was lost)."""
    cutoff = _now() - LOST_AFTER
    rows = await Delivery.filter(state="pending", created_at__lt=cutoff).filter(
        next_attempt_at__isnull=True).values("id", "attempts")
    rows += await Delivery.filter(state="pending", next_attempt_at__lt=cutoff).values("id", "attempts")
    for row in rows:
        await enqueue(node, [row["id"]], attempts=row["attempts"])
    return len(rows) + await web_push.requeue_lost(node, cutoff)


def is_unhealthy(domain: str) -> bool:
    """Whether deliveries to ``domain`` are failing (asked on every inbox POST: no database)."""
    return domain in _unhealthy


async def heard_from(node: Node, domain: str) -> None:
    """A peer we had trouble reaching talked to us: mark it healthy and resend what was skipped."""
    if domain not in _unhealthy:
        return
    _unhealthy.discard(domain)
    await DomainHealth.filter(domain=domain).update(failing_since=None, failures=0, unavailable=False)
    recent = _now() - policy.RETRY_WINDOW
    skipped = await Delivery.filter(domain=domain, state="skipped", created_at__gte=recent).values_list("id", flat=True)
    if skipped:
        await Delivery.filter(id__in=list(skipped)).update(state="pending", next_attempt_at=None)
        await enqueue(node, list(skipped), attempts=-1)


async def _sweeper(node: Node) -> None:
    while True:
        try:
            _unhealthy.update(await DomainHealth.filter(failing_since__not_isnull=True).values_list("domain", flat=True))
            count = await requeue_lost(node)
            if count:
                log.info("queued %d pending deliveries again", count)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("delivery sweeper failed; trying again in %s s", SWEEP_SECONDS)
        await asyncio.sleep(SWEEP_SECONDS)


def make_worker(node: Node) -> Worker:
    return in_process_worker(
        node, [func(deliver, name="deliver", max_tries=3), func(web_push.push, name="web_push", max_tries=3)],
        queue_name=QUEUE,
        max_jobs=node.config["federation.delivery_concurrency"],
        job_timeout=node.config["federation.fetch_timeout_seconds"] * 3 + 10, keep_result=300, poll_delay=0.2)


async def start_worker(node: Node) -> list[asyncio.Task]:
    """The in-process delivery worker and the sweeper, as background tasks of the web app."""
    return [asyncio.create_task(run_in_process_worker(make_worker(node))), asyncio.create_task(_sweeper(node))]
