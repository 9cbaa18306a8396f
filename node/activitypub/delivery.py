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
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.worker import Retry, Worker, func

from federation import delivery as policy
from node import redis_keys, web_push
from node.activitypub import blocked_domains
from node.activitypub.runtime import federation, sweep_now, sweep_soon
from node.context import Node
from node.models import Account, Delivery, DomainHealth, OutboxActivity
from node.redis_server import in_process_worker, run_in_process_worker
from node.services import deliveries
from node.supervise import start, supervise

log = logging.getLogger(__name__)

# A pending row whose job should have run this long ago (or one sweep interval, if shorter) is
# presumed lost and queued again.
LOST_AFTER = timedelta(seconds=30)
ERROR_RETRY_S = 5
_BODY_CACHE_SIZE = 64
_QUEUE_READ_LIMIT = 2000

# Domains known to be failing or unavailable, so the inbox can tell them cheaply they are back.
_unhealthy: set[str] = set()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def job_id(delivery_id: int, attempts: int) -> str:
    return f"deliver:{delivery_id}:{attempts}"


# Queues jobs as arq's enqueue_job does (a job whose job or result key exists is left alone), many in
# one atomic call: a fan-out queues a thousand jobs in a few round trips instead of four each.
_ENQUEUE = """
local n = 0
for i = 5, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('exists', ARGV[1] .. id, ARGV[2] .. id) == 0 then
    redis.call('psetex', ARGV[1] .. id, ARGV[4], ARGV[i + 1])
    redis.call('zadd', KEYS[1], ARGV[3], id)
    n = n + 1
  end
end
return n
"""
_ENQUEUE_CHUNK = 500


async def enqueue(node: Node, delivery_ids: list[int], *, attempts: int = 0, at: datetime | None = None) -> None:
    """Queue the rows' jobs. When Redis refuses, the sweeper is woken to queue every due pending row
    as soon as Redis answers again, rather than at its next round."""
    if node.arq is None or not delivery_ids:
        return
    try:
        now_ms = int(_now().timestamp() * 1000)
        score = int(at.timestamp() * 1000) if at is not None else now_ms
        # arq's expiry: 24 h after the job is due (the job is dropped unstarted after that; the sweeper
        # queues its row again).
        expires_ms = score - now_ms + node.arq.expires_extra_ms
        for start in range(0, len(delivery_ids), _ENQUEUE_CHUNK):
            args: list[Any] = [job_key_prefix, result_key_prefix, score, expires_ms]
            for delivery_id in delivery_ids[start:start + _ENQUEUE_CHUNK]:
                args += [job_id(delivery_id, attempts),
                         serialize_job("deliver", (delivery_id,), {}, None, now_ms, serializer=node.arq.job_serializer)]
            await node.arq.eval(_ENQUEUE, 1, redis_keys.DELIVERY_QUEUE, *args)
    except Exception:
        sweep_soon()
        raise


T = TypeVar("T")
R = TypeVar("R")


class _Batcher(Generic[T, R]):
    """Runs ``run`` on everything asked for during the loop turn it started in, or while the previous
    run was under way: the jobs of a fan-out share one query for their rows and one transaction for
    their outcomes (a group commit). Each caller gets its own item's result (or the run's error)."""

    def __init__(self, run: Callable[[list[T]], Awaitable[list[R]]]) -> None:
        self._run = run
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._task: asyncio.Task | None = None

    async def __call__(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._task is None:
            self._task = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while self._pending:
                await asyncio.sleep(0)  # the jobs started in this turn join
                batch, self._pending = self._pending, []
                try:
                    results = await self._run([item for item, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                else:
                    for (_, future), result in zip(batch, results):
                        if not future.done():
                            future.set_result(result)
        finally:
            self._task = None
            for _, future in batch + self._pending:  # cancelled (shutdown): nobody waits forever
                if not future.done():
                    future.cancel()
            self._pending = []


async def _load(ids: list[int]) -> list[deliveries.Row | None]:
    found = await deliveries.rows(list(set(ids)))
    return [found.get(delivery_id) for delivery_id in ids]


async def _save(outcomes: list[tuple[deliveries.Row, policy.Outcome | None, datetime]]) -> list[None]:
    """The rows as the jobs left them, and each domain's health after the batch's outcomes in order."""
    states: dict[str, policy.DomainState] = {}
    changed: set[str] = set()
    for row, outcome, now in outcomes:
        if outcome is None:
            continue
        state = states.get(row.domain) or row.health or policy.DomainState()
        new = _domain_after(row.domain, state, outcome, now)
        if new is not None:
            states[row.domain] = new
            changed.add(row.domain)
    await deliveries.save([row for row, *_ in outcomes], {domain: states[domain] for domain in changed},
                          outcomes[-1][2])
    return [None] * len(outcomes)


def _domain_after(domain: str, state: policy.DomainState, outcome: policy.Outcome,
                  now: datetime) -> policy.DomainState | None:
    """The domain's state after ``outcome``; None when nothing needs writing."""
    if outcome.delivered:
        new = state.after_success(now, outcome.scheme)
        _unhealthy.discard(domain)
        # Healthy and unchanged: skip the write unless the success stamp is getting old.
        if (state.failing_since is None and state.scheme == new.scheme and state.last_success_at
                and now - state.last_success_at < timedelta(minutes=1)):
            return None
        return new
    if outcome.domain_failure:
        _unhealthy.add(domain)
        return state.after_failure(now)
    return None


async def _payload(ctx: dict[str, Any], activity_id: int) -> policy.Payload:
    """An activity's body, signing key and digests, read once: a fan-out sends one body many times
    (the first jobs of a fan-out, starting together, share one read)."""
    cache: dict[int, asyncio.Future[policy.Payload]] = ctx["payloads"]
    future = cache.get(activity_id)
    if future is None:
        if len(cache) >= _BODY_CACHE_SIZE:
            cache.pop(next(iter(cache)))
        future = cache[activity_id] = asyncio.ensure_future(_read_payload(ctx["node"], activity_id))
    try:
        return await asyncio.shield(future)
    except Exception:
        if cache.get(activity_id) is future:
            del cache[activity_id]
        raise


async def _read_payload(node: Node, activity_id: int) -> policy.Payload:
    activity = await OutboxActivity.get(id=activity_id)
    body = json.dumps(activity.document, separators=(",", ":"), ensure_ascii=False).encode()
    if activity.account_id is None:
        runtime = federation(node)
        return policy.Payload.of(body, runtime.instance_key_id, runtime.instance_private_pem)
    account = await Account.get(id=activity.account_id)
    return policy.Payload.of(body, account.public_key_id, account.private_key_pem)


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
    """Read the row (batched), send, and write the outcome (batched): the job ends only once its
    outcome is committed, so a job arq counts as done never leaves its row behind."""
    node: Node = ctx["node"]
    row: deliveries.Row | None = await ctx["rows"](delivery_id)
    if row is None or row.state != "pending":
        return "nothing to do"
    health, save = row.health, ctx["outcomes"]
    now = _now()
    skip = ("domain is suspended by this server" if blocked_domains.suspends(row.domain)
            else "domain unavailable" if health is not None and health.unavailable else None)
    if skip is not None:
        row.state, row.last_error = "skipped", skip
        await save((row, None, now))
        return "skipped"
    payload = await _payload(ctx, row.activity_id)
    outcome = await policy.deliver(federation(node).fetcher, row.inbox, payload,
                                   known_scheme=health.scheme if health else None)
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
    await save((row, outcome, now))
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
        now = sweep_now.is_set()
        sweep_now.clear()
        try:
            _unhealthy.update(await DomainHealth.filter(failing_since__not_isnull=True).values_list("domain", flat=True))
            count = await requeue_lost(node, timedelta(0) if now else lost_after)
        except Exception:
            if now:
                sweep_now.set()
            raise
        if count:
            log.info("queued %d pending deliveries again", count)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sweep_now.wait(), interval)


async def _on_worker_start(ctx: dict[str, Any]) -> None:
    """At every start of the worker, queue every due pending row: a Redis that was lost may have come
    back without their jobs (or without the last second of them)."""
    count = await requeue_lost(ctx["node"], lost_after=timedelta(0))
    if count:
        log.info("delivery worker started with %d pending deliveries due", count)


def make_worker(node: Node) -> Worker:
    worker = in_process_worker(
        node, [func(deliver, name="deliver", max_tries=3), func(web_push.push, name="web_push", max_tries=3)],
        queue_name=redis_keys.DELIVERY_QUEUE,
        max_jobs=node.config["federation.delivery_concurrency"],
        job_timeout=node.config["federation.fetch_timeout_seconds"] * 3 + 10, keep_result=300, poll_delay=0.2,
        on_startup=_on_worker_start)
    # arq reads this many due job ids per poll and sleeps poll_delay once they are all started: at its
    # default (5 × max_jobs) a fan-out of a thousand spent seconds in those sleeps.
    worker.queue_read_limit = max(worker.queue_read_limit, _QUEUE_READ_LIMIT)
    # Shared by the worker's jobs (arq gives each job a shallow copy of this dict).
    worker.ctx.update(payloads={}, rows=_Batcher(_load), outcomes=_Batcher(_save))
    return worker


def run_worker(node: Node) -> Awaitable[None]:
    """The delivery worker, started again (a fresh arq worker) whenever it fails, e.g. on a lost Redis."""
    return supervise("delivery worker", lambda: run_in_process_worker(make_worker(node)))


async def start_worker(node: Node) -> list[asyncio.Task]:
    """The in-process delivery worker and the sweeper, as background tasks of the web app."""
    return [asyncio.create_task(run_worker(node), name="delivery worker"),
            start("delivery sweeper", lambda: _sweep(node))]
