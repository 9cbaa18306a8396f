"""Plugin (PLUGIN_MODULES): follows the generation workers from the web process.

It listens to the workers' progress channel, streams every change of a job to its owner
(`vitascope.generation` on the user's stream), and settles ended jobs: a finished render is
C2PA-signed and stored (node.services.generation.finalize) before anyone can see it.

Nothing is lost while no web process listens: the rows are the truth. On start, and every
few seconds after, every queued or running job is compared with the queue's records
(`settle`), so jobs that finished, failed or vanished meanwhile are brought up to date.
With several web processes, one holds a Redis lease and does this work; the others wait.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiohttp import web
from redis.exceptions import LockError, LockNotOwnedError, RedisError

from generation import contract
from node import redis_keys, supervise
from node.serializers.jobs import STREAM_EVENT, job_json
from node.context import Node
from node.generation import queue
from node.generation.prompt_policy import load_classifiers
from node.models import GenerationJob
from node.models.generation import ACTIVE_STATES
from node.services import cameos
from node.services import generation as service

log = logging.getLogger(__name__)

LEASE_S = 15
SWEEP_S = 2.0
PROGRESS_SAVE_S = 1.0  # row writes for step progress, at most this often per job (every step is streamed)
SETTLE_POLL_S = 0.2
SETTLE_WAIT_S = 10.0
RETRY_S = 2.0


async def setup(app: web.Application, node: Node) -> None:
    node.extras.setdefault("prompt_classifiers", []).extend(
        load_classifiers(node.config["moderation.prompt_classifiers"]))
    node.extras.setdefault("person_finders", []).append(cameos.find_cameos)
    node.extras.setdefault("consent_providers", []).append(cameos.consent_provider)
    node.on("generation.updated", stream_job)
    app["background"].append(supervise.start("generation collector", Collector(node).run))


async def stream_job(node: Node, job: GenerationJob) -> None:
    """Push a job's new state to its owner's stream (and so to the job's SSE endpoint)."""
    await node.stream([f"user:{job.account_id}"], STREAM_EVENT, await job_json(node, job))


class Collector:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.saved_at: dict[int, float] = {}
        self.settling: dict[int, asyncio.Task] = {}

    async def run(self) -> None:
        """Lead while this process holds the lease; otherwise look again every RETRY_S. Run under
        node.supervise: a lost Redis ends the run, and the next one starts from a fresh lease and sweep."""
        while True:
            lease = self.node.redis.lock(redis_keys.GENERATION_COLLECTOR_LEASE, timeout=LEASE_S, thread_local=False)
            if await lease.acquire(blocking=False):
                try:
                    await self._lead(lease)
                finally:
                    try:
                        await lease.release()
                    except (LockError, RedisError, OSError) as exc:  # expired or unreachable: it lapses
                        log.debug("collector lease not released: %s", exc)
            await asyncio.sleep(RETRY_S)

    async def _lead(self, lease) -> None:
        pubsub = self.node.redis.pubsub()
        await pubsub.subscribe(contract.EVENTS_CHANNEL)
        try:
            await self.sweep()
            next_sweep = time.monotonic() + SWEEP_S
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=SWEEP_S)
                if message is not None:
                    event = queue.parse_event(message["data"])
                    if event is not None:
                        await self.on_event(event)
                if time.monotonic() >= next_sweep:
                    try:
                        await lease.reacquire()
                    except LockNotOwnedError:
                        log.warning("generation collector lost its lease; another web process leads now")
                        return
                    await self.sweep()
                    next_sweep = time.monotonic() + SWEEP_S
        finally:
            await pubsub.aclose()

    async def on_event(self, event: dict[str, Any]) -> None:
        job = await _active_job(event["job_id"])
        if job is None:
            return
        if event["state"] == "running":
            now = time.monotonic()
            save = now - self.saved_at.get(job.id, 0.0) >= PROGRESS_SAVE_S or event["step"] == 0
            if save:
                self.saved_at[job.id] = now
            await service.record_progress(self.node, job, event["step"], event["total"], event["eta_seconds"],
                                          save=save)
        else:
            # The worker reports the end before arq stores the result: wait for it off the event loop's path.
            self.saved_at.pop(job.id, None)
            if job.id not in self.settling:
                task = asyncio.create_task(self._settle_soon(job.id))
                self.settling[job.id] = task
                task.add_done_callback(lambda _t, jid=job.id: self.settling.pop(jid, None))

    async def _settle_soon(self, job_id: int) -> None:
        deadline = time.monotonic() + SETTLE_WAIT_S
        try:
            while time.monotonic() < deadline:
                job = await GenerationJob.get_or_none(id=job_id, state__in=ACTIVE_STATES)
                if job is None or await service.settle(self.node, job):
                    return
                await asyncio.sleep(SETTLE_POLL_S)
        except (RedisError, OSError) as exc:
            log.warning("settling generation %s failed (%s); the next sweep retries", job_id, exc)
        except Exception:
            log.exception("settling generation %s failed; the next sweep retries", job_id)

    async def sweep(self) -> None:
        """Settle every unfinished job from the queue's records (also catches missed events), and
        collect the verdicts of cameo captures."""
        try:
            await cameos.settle_verifications(self.node)
        except (RedisError, OSError):
            raise
        except Exception:
            log.exception("collecting cameo verifications failed; retrying at the next sweep")
        for job in await GenerationJob.filter(state__in=ACTIVE_STATES).order_by("id"):
            if job.id in self.settling:
                continue
            try:
                if await service.settle(self.node, job):
                    continue
                if job.state == "queued":
                    live = await queue.progress(self.node, str(job.id))
                    if live and live["state"] == "running":
                        await service.record_progress(self.node, job, live["step"], live["total"],
                                                      live["eta_seconds"], save=True)
            except (RedisError, OSError):
                raise
            except Exception:
                log.exception("settling generation %s failed; retrying at the next sweep", job.id)


async def _active_job(job_id: str) -> GenerationJob | None:
    if not job_id.isdigit() or len(job_id) > 19:
        return None  # not one of ours (another user of the queue)
    return await GenerationJob.get_or_none(id=int(job_id), state__in=ACTIVE_STATES)
