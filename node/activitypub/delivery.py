"""Delivery jobs: one arq job per `Delivery` row (and per Web Push `PushDelivery`, node.web_push), on their own queue, run by a worker inside the web
process (or by `vitascope delivery-worker`).

The row is the truth. A job reads it, makes one attempt (federation.delivery.deliver), and writes
the outcome: delivered, failed for good, or pending again with its next attempt time and a deferred
job. Whenever the worker starts (with the process, and again after a lost Redis), every pending row
that is due is queued again, and every federation.sweep_seconds those due for LOST_AFTER: their job
may be missing (Redis lost or restarted without it, process killed); arq's job ids (`deliver:<row>:<attempt>`) make
queueing a job that still exists a no-op, so nothing is sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime, timedelta, timezone
from collections.abc import Awaitable
from typing import Any

from arq.worker import Retry, Worker, func

from federation import delivery as policy
from node import redis_keys, web_push
from node.activitypub import blocked_domains
from node.activitypub.runtime import federation
from node.context import Node
from node.models import Account, Delivery, DomainHealth, OutboxActivity
from node.redis_server import in_process_worker, run_in_process_worker
from node.supervise import start, supervise

log = logging.getLogger(__name__)

# A pending row whose job should have run this long ago (or one sweep interval, if shorter) is
# presumed lost and queued again.
LOST_AFTER = timedelta(seconds=30)
ERROR_RETRY_S = 5
_BODY_CACHE_SIZE = 64

# Domains known to be failing or unavailable, so the inbox can tell them cheaply they are back.
_unhealthy: set[str] = set()
# Set when a job could not be queued: the sweeper then sweeps at once (see _sweep).
_sweep_now = asyncio.Event()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def job_id(delivery_id: int, attempts: int) -> str:
    return f"deliver:{delivery_id}:{attempts}"


async def enqueue(node: Node, delivery_ids: list[int], *, attempts: int = 0, at: datetime | None = None) -> None:
    """Queue the rows' jobs. When Redis refuses, the sweeper is woken to queue every due pending row
    as soon as Redis answers again, rather than at its next round."""
    if node.arq is None or not delivery_ids:
        return
    try:
        for delivery_id in delivery_ids:
            await node.arq.enqueue_job("deliver", delivery_id, _job_id=job_id(delivery_id, attempts),
                                       _queue_name=redis_keys.DELIVERY_QUEUE, _defer_until=at)
    except Exception:
        sweep_soon()
        raise


def sweep_soon() -> None:
    """A job of this queue could not be queued: the sweeper queues every due pending row (deliveries
    and pushes) as soon as Redis answers again."""
    _sweep_now.set()


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
        if (health and state.failing_since is None and state.scheme == new.scheme and state.last_success_at
                and now - state.last_success_at < timedelta(minutes=1)):
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
    """The arq job: one attempt at one delivery. An error of ours (the database busy, Redis lost) is no
    outcome of the attempt: the job runs again after ERROR_RETRY_S (within its max_tries), where arq
    would keep it as failed, and its row pending, until the result expires."""
    try:
        return await _attempt(ctx, delivery_id)
    except Exception as exc:
        log.warning("delivery %s failed (%r); trying again in %s s", delivery_id, exc, ERROR_RETRY_S)
        raise Retry(defer=ERROR_RETRY_S) from exc


async def _attempt(ctx: dict[str, Any], delivery_id: int) -> str:
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


async def requeue_lost(node: Node, lost_after: timedelta = LOST_AFTER) -> int:
    """Queue again pending rows whose job should have run ``lost_after`` ago (their job may be lost)."""
    cutoff = _now() - lost_after
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


async def _sweep(node: Node) -> None:
    """Every federation.sweep_seconds, reload the failing domains and queue again the deliveries whose
    job is lost; at once, and every due one, when queueing a job failed (run under node.supervise, so a sweep that
    fails too, Redis still away, is tried again after a short pause)."""
    interval = node.config["federation.sweep_seconds"]
    lost_after = min(LOST_AFTER, timedelta(seconds=interval))
    while True:
        now = _sweep_now.is_set()
        _sweep_now.clear()
        try:
            _unhealthy.update(await DomainHealth.filter(failing_since__not_isnull=True).values_list("domain", flat=True))
            count = await requeue_lost(node, timedelta(0) if now else lost_after)
        except Exception:
            if now:
                _sweep_now.set()
            raise
        if count:
            log.info("queued %d pending deliveries again", count)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_sweep_now.wait(), interval)


async def _on_worker_start(ctx: dict[str, Any]) -> None:
    """At every start of the worker, queue every due pending row: a Redis that was lost may have come
    back without their jobs (or without the last second of them)."""
    count = await requeue_lost(ctx["node"], lost_after=timedelta(0))
    if count:
        log.info("delivery worker started with %d pending deliveries due", count)


def make_worker(node: Node) -> Worker:
    return in_process_worker(
        node, [func(deliver, name="deliver", max_tries=3), func(web_push.push, name="web_push", max_tries=3)],
        queue_name=redis_keys.DELIVERY_QUEUE,
        max_jobs=node.config["federation.delivery_concurrency"],
        job_timeout=node.config["federation.fetch_timeout_seconds"] * 3 + 10, keep_result=300, poll_delay=0.2,
        on_startup=_on_worker_start)


def run_worker(node: Node) -> Awaitable[None]:
    """The delivery worker, started again (a fresh arq worker) whenever it fails, e.g. on a lost Redis."""
    return supervise("delivery worker", lambda: run_in_process_worker(make_worker(node)))


async def start_worker(node: Node) -> list[asyncio.Task]:
    """The in-process delivery worker and the sweeper, as background tasks of the web app."""
    return [asyncio.create_task(run_worker(node), name="delivery worker"),
            start("delivery sweeper", lambda: _sweep(node))]
