"""arq worker: one process per GPU renders `generate` jobs and reports progress through Redis.

Its contract with the web process (queue and function names, progress, cancel and result
shapes, priority) is `generation.contract`, the one module of this package the web imports.

Crash safety: arq keeps a job in its queue until it finishes, guarded by an "in progress" key
that expires ``job_timeout + 10`` s after the start. Each worker also records the jobs it holds
under `CLAIM_KEY` (``vitascope:gen:claim:<worker name>``); a restarted worker (same name: one per GPU)
deletes the stale in-progress keys of its own unfinished jobs, so a SIGKILLed job runs again at
once instead of after the timeout. Output files appear only complete (see `render`).

Cameos (same queue, same worker):

* ``"verify_cameo_capture"`` with one dict ``{"job_id", "capture": {"path", "kind",
  "challenge_phrase", "challenge_issued_at" (ISO 8601 with zone)}, "reference_path"}`` and
  ``_job_id=job_id``. It runs the configured verifier chain (`generation.cameo`) and returns
  ``{"verdict": {"state": approved|rejected|needs_review, "reason", "evidence": [...]},
  "reference_path": str | None}``: unless rejected, the reference sheet the video is later
  conditioned on is written (0600) at ``reference_path``. The node keeps the recording and the
  sheet private and deletes them with the cameo.
* A cameo render is an ordinary ``"generate"`` job whose spec has ``cameo_references`` (sheets
  the node fetched under a grant), optionally ``voice_sample``/``voice_text``/``voice_required``.
  A worker that cannot honour it (no likeness adapter, no voice stage while the owner requires
  their voice) fails it with RuntimeError "<VoiceUnavailable>: ..." or ValueError before rendering.
  The result's ``voice_cloned`` says whether the line was spoken in the owner's cloned voice.
  The node deletes the fetched sheets and sample when the job ends.

Batching: arq hands a worker up to ``max_jobs`` jobs at once, each as its own task. Those tasks
do not render themselves: they put their spec in this process's `GpuQueue`, whose single loop
takes the oldest pending job plus the compatible ones (same shape) and renders them in one
pipeline call on the one GPU thread. So ``max_jobs=1`` is one job at a time; ``max_jobs=4``
keeps one render stream per GPU but lets up to four queued compatible jobs share a forward pass.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from generation.contract import (
    CANCEL_KEY,
    CLAIM_KEY,
    EVENTS_CHANNEL,
    FUNCTION_NAME,
    HEALTH_KEY,
    PROGRESS_KEY,
    QUEUE_NAME,
    VERIFY_FUNCTION_NAME,
)
from generation.errors import GenerationError, JobCancelled, SpecError
from generation.spec import DTYPES, FAMILIES, JobSpec, ModelConfig

ARQ_IN_PROGRESS_KEY = "arq:in-progress:{job_id}"  # arq.constants.in_progress_key_prefix
PROGRESS_TTL_S = 24 * 3600
# With max_jobs > 1, wait for the jobs arq starts in one poll to arrive before rendering: until none
# has arrived for BATCH_QUIET_S, the batch is full, or BATCH_WAIT_MAX_S passed. Small next to a render.
BATCH_QUIET_S = 0.25
BATCH_WAIT_MAX_S = 1.0
REDIS_CALL_TIMEOUT_S = 10
MAX_TRIES = 3

logger = logging.getLogger("vitascope.generation")


@dataclass
class _Entry:
    spec: JobSpec
    batch_key: tuple
    future: asyncio.Future
    abandoned: bool = False  # the arq task waiting for it was cancelled (abort, timeout, shutdown)
    started: float = field(default=0.0)


class GpuQueue:
    """Serialises all rendering of one worker onto one thread and batches compatible jobs."""

    def __init__(self, model, redis, *, worker_name: str, max_batch: int) -> None:
        self.model = model
        self.redis = redis
        self.worker_name = worker_name
        self.max_batch = max_batch
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gpu")
        self.pending: list[_Entry] = []
        self.wakeup = asyncio.Event()
        self.loop = asyncio.get_running_loop()
        self.runner = self.loop.create_task(self._run())

    async def close(self) -> None:
        self.runner.cancel()
        await asyncio.gather(self.runner, return_exceptions=True)
        self.executor.shutdown(wait=True)

    async def submit(self, spec: JobSpec) -> dict[str, Any]:
        from generation.render import plan

        claim = CLAIM_KEY.format(worker=self.worker_name)
        await self.redis.sadd(claim, spec.job_id)
        try:
            if await self._cancel_requested(spec.job_id):
                await self.report(spec.job_id, "cancelled", 0, self.model.steps)
                raise JobCancelled(spec.job_id)
            entry = _Entry(spec, plan(self.model, spec).batch_key, self.loop.create_future())
            self.pending.append(entry)
            self.wakeup.set()
            try:
                return await asyncio.shield(entry.future)
            except asyncio.CancelledError:
                entry.abandoned = True
                if entry in self.pending:
                    self.pending.remove(entry)
                raise
        finally:
            await asyncio.shield(self.redis.srem(claim, spec.job_id))

    async def _run(self) -> None:
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            if self.max_batch > 1:
                await self._gather_arrivals()
            while self.pending:
                batch = self._take_batch()
                try:
                    await self._render(batch)
                except Exception as exc:  # e.g. Redis gone while reporting: fail these jobs, keep serving
                    logger.exception("worker loop error for %s", [entry.spec.job_id for entry in batch])
                    for entry in batch:
                        _settle(entry, exception=exc)

    async def _gather_arrivals(self) -> None:
        deadline = self.loop.time() + BATCH_WAIT_MAX_S
        while len(self.pending) < self.max_batch and self.loop.time() < deadline:
            self.wakeup.clear()
            try:
                await asyncio.wait_for(self.wakeup.wait(), BATCH_QUIET_S)
            except TimeoutError:
                return

    def _take_batch(self) -> list[_Entry]:
        key = self.pending[0].batch_key
        batch = [entry for entry in self.pending if entry.batch_key == key][: self.max_batch]
        for entry in batch:
            self.pending.remove(entry)
        return batch

    async def _render(self, batch: list[_Entry]) -> None:
        from generation.render import render

        by_id = {entry.spec.job_id: entry for entry in batch}
        now = time.monotonic()
        for entry in batch:
            entry.started = now
            await self.report(entry.spec.job_id, "running", 0, self.model.steps)

        def progress(job_id: str, step: int, total: int) -> None:
            elapsed = time.monotonic() - by_id[job_id].started
            eta = elapsed / step * (total - step) if step else None
            self._call(self.report(job_id, "running", step, total, eta))

        def should_cancel(job_id: str) -> bool:
            return by_id[job_id].abandoned or self._call(self._cancel_requested(job_id))

        specs = [entry.spec for entry in batch]
        try:
            results = await self.loop.run_in_executor(self.executor, render, self.model, specs, progress,
                                                      should_cancel)
        except JobCancelled as cancelled:
            entry = by_id[cancelled.job_id]
            if not entry.abandoned:  # an abandoned job's fate (abort, timeout, retry) is arq's to report
                await self.report(entry.spec.job_id, "cancelled", 0, self.model.steps)
            _settle(entry, exception=cancelled)
            # The rest of the batch did nothing wrong: put it back at the head of the line.
            self.pending[:0] = [other for other in batch if other is not entry and not other.abandoned]
        except Exception as exc:  # every job of the batch failed with it; each arq job records the error
            logger.exception("render failed for %s", [spec.job_id for spec in specs])
            for entry in batch:
                await self.report(entry.spec.job_id, "failed", 0, self.model.steps, error=_describe(exc))
                _settle(entry, exception=exc)
        else:
            for entry, result in zip(batch, results, strict=True):
                await self.report(entry.spec.job_id, "done", self.model.steps, self.model.steps, 0.0)
                _settle(entry, result=result.to_dict())

    def _call(self, coroutine):
        """Run a Redis coroutine on the event loop from the render thread and wait for it (keeps order)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=REDIS_CALL_TIMEOUT_S)

    async def _cancel_requested(self, job_id: str) -> bool:
        return bool(await self.redis.exists(CANCEL_KEY.format(job_id=job_id)))

    async def report(self, job_id: str, state: str, step: int, total: int, eta: float | None = None,
                      error: str | None = None) -> None:
        eta_seconds = None if eta is None else round(eta, 2)
        key = PROGRESS_KEY.format(job_id=job_id)
        event = {"job_id": job_id, "state": state, "step": step, "total": total, "eta_seconds": eta_seconds}
        if error is not None:
            event["error"] = error
        fields = {"state": state, "step": step, "total": total, "eta_seconds": "" if eta is None else eta_seconds}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, PROGRESS_TTL_S)
            pipe.publish(EVENTS_CHANNEL, json.dumps(event))
            await pipe.execute()


def _settle(entry: _Entry, *, result: Any = None, exception: BaseException | None = None) -> None:
    if entry.future.done():
        return
    if entry.abandoned:
        entry.future.cancel()  # nobody awaits it any more; an exception here would only be logged as lost
    elif exception is not None:
        entry.future.set_exception(exception)
    else:
        entry.future.set_result(result)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


async def recover_claims(redis, worker_name: str, queue_name: str = QUEUE_NAME) -> list[str]:
    """Release the jobs a previous life of this worker held when it died, so arq runs them again now."""
    claim = CLAIM_KEY.format(worker=worker_name)
    released = []
    for raw in await redis.smembers(claim):
        job_id = raw.decode() if isinstance(raw, bytes) else raw
        if await redis.zscore(queue_name, job_id) is not None:
            await redis.delete(ARQ_IN_PROGRESS_KEY.format(job_id=job_id))
            released.append(job_id)
    await redis.delete(claim)
    return released


def run_verification(job: dict[str, Any], chain) -> dict[str, Any]:
    """Verify `job["capture"]` with `chain`; write the reference sheet unless the capture is rejected."""
    from generation.cameo import REJECTED, Capture, verify, write_reference_sheet

    if not isinstance(job, dict) or set(job) != {"job_id", "capture", "reference_path"}:
        raise SpecError("a cameo verification job is {job_id, capture, reference_path}")
    reference_path = job["reference_path"]
    if not isinstance(reference_path, str) or not os.path.isabs(reference_path):
        raise SpecError("reference_path must be an absolute path")
    verdict = verify(Capture.from_dict(job["capture"]), chain)
    written = None
    if verdict.state != REJECTED:
        written = write_reference_sheet(job["capture"]["path"], reference_path)
    logger.info("cameo capture %s: %s %s", job["job_id"], verdict.state, verdict.reason)
    return {"verdict": verdict.to_dict(), "reference_path": written}


def make_worker_settings(redis_settings, model_cfg: ModelConfig, data_dir: str, *, max_jobs: int = 1,
                         job_timeout: int = 600, worker_name: str | None = None,
                         cameo_verifiers: list[str] | None = None) -> type:
    """Build an arq WorkerSettings class for one GPU. `worker_name` must be unique per GPU and stable
    across restarts (default: "<hostname>:<device>"); it is how a restarted worker finds its own jobs.
    `cameo_verifiers` is the verifier chain ("module:function" paths; default: the shipped checks)."""
    from arq import func

    from generation.cameo import DEFAULT_VERIFIERS, load_verifiers

    if max_jobs < 1:
        raise SpecError("max_jobs must be at least 1")
    chain = load_verifiers(DEFAULT_VERIFIERS if cameo_verifiers is None else cameo_verifiers)
    name = worker_name or f"{socket.gethostname()}:{model_cfg.device}"

    async def startup(ctx: dict[str, Any]) -> None:
        from generation.registry import load_model

        model = await asyncio.get_running_loop().run_in_executor(None, load_model, model_cfg, data_dir)
        released = await recover_claims(ctx["redis"], name)
        if released:
            logger.warning("worker %s re-queued jobs left by its previous run: %s", name, released)
        ctx["gpu"] = GpuQueue(model, ctx["redis"], worker_name=name, max_batch=max_jobs)
        logger.info("worker %s ready: %s (test model: %s)", name, model.info.name, model.test_model)

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "gpu" in ctx:
            await ctx["gpu"].close()

    async def generate(ctx: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
        """The arq job: render one JobSpec dict, return JobResult.to_dict()."""
        try:
            job = JobSpec.from_dict(spec)
        except SpecError as exc:
            raise ValueError(f"invalid job spec: {exc}") from None
        started = time.monotonic()
        if job.transfer is not None:
            return await _generate_transferred(ctx, job)
        try:
            return await ctx["gpu"].submit(job)
        except JobCancelled as exc:
            raise RuntimeError(f"cancelled: {exc}") from None
        except SpecError as exc:
            raise ValueError(str(exc)) from None
        except GenerationError as exc:
            raise RuntimeError(_describe(exc)) from None
        except asyncio.CancelledError:
            if time.monotonic() - started >= job_timeout - 1:
                await ctx["gpu"].report(job.job_id, "failed", 0, ctx["gpu"].model.steps,
                                         error=f"timed out after {job_timeout} s")
            raise

    async def _generate_transferred(ctx: dict[str, Any], remote: JobSpec) -> dict[str, Any]:
        """A job whose files the node keeps in its bucket: inputs downloaded from presigned URLs,
        rendered as any job, the outputs uploaded to presigned URLs (generation.staging)."""
        from generation import staging

        scratch = staging.scratch_dir(data_dir, remote.job_id)
        try:
            result = await generate(ctx, (await staging.stage(remote, scratch)).to_dict())
            return await staging.publish(remote, result)
        finally:
            staging.discard(scratch)

    async def verify_cameo_capture(ctx: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
        """The arq job: verify one capture and write its reference sheet; see the module doc."""
        try:
            return await asyncio.get_running_loop().run_in_executor(None, run_verification, job, chain)
        except SpecError as exc:
            raise ValueError(f"invalid cameo verification job: {exc}") from None

    return type("WorkerSettings", (), {
        "functions": [func(generate, name=FUNCTION_NAME, max_tries=MAX_TRIES),
                      func(verify_cameo_capture, name=VERIFY_FUNCTION_NAME, max_tries=MAX_TRIES)],
        "queue_name": QUEUE_NAME,
        "redis_settings": redis_settings,
        "on_startup": staticmethod(startup),
        "on_shutdown": staticmethod(shutdown),
        "max_jobs": max_jobs,
        "job_timeout": job_timeout,
        "allow_abort_jobs": True,
        "poll_delay": 0.2,
        "keep_result": 24 * 3600,
        "health_check_key": HEALTH_KEY.format(worker=name),
    })


def main(argv: list[str] | None = None) -> None:
    """`python -m generation.worker --redis redis://host:6379/0 --data-dir /srv/vitascope [options]`."""
    from arq import run_worker
    from arq.connections import RedisSettings

    parser = argparse.ArgumentParser(description="Vitascope generation worker (one per GPU)")
    parser.add_argument("--redis", required=True, help="redis://, rediss:// or unix:// DSN")
    parser.add_argument("--data-dir", required=True, help="where the tiny test model is kept")
    parser.add_argument("--model-path", help="local diffusers pipeline directory; omit for the tiny test model")
    parser.add_argument("--family", choices=FAMILIES, default="ltx2")
    parser.add_argument("--audio-model-path", help="text-to-audio pipeline for the video-only 'ltx' family")
    parser.add_argument("--dtype", choices=DTYPES, default="float32")
    parser.add_argument("--device", default="cpu", help="e.g. cuda:0")
    parser.add_argument("--compile", action="store_true", help="regional torch.compile of the transformer blocks")
    parser.add_argument("--attention-backend", help="diffusers attention backend, e.g. flash or _native_cudnn")
    parser.add_argument("--cache", help="fbc[:threshold] or taylorseer[:interval]")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--guidance-scale", type=float)
    parser.add_argument("--max-jobs", type=int, default=1, help="jobs held at once; compatible ones share a batch")
    parser.add_argument("--job-timeout", type=int, default=600)
    parser.add_argument("--name", help="stable unique name for this GPU's worker")
    parser.add_argument("--cameo-verifiers", help="JSON list of 'module:function' cameo verifiers "
                        "(default: the shipped checks of generation.cameo_checks)")
    parser.add_argument("--reference-lora", help="IC-LoRA .safetensors that lets a real ltx2 model render cameos")
    parser.add_argument("--voice-stage", help="'module:function' voice stage, e.g. generation.voice:run_command")
    parser.add_argument("--voice-options", default="{}", help="JSON options for the voice stage")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    cfg = ModelConfig(path=args.model_path, family=args.family, dtype=args.dtype, device=args.device,
                      compile=args.compile, attention_backend=args.attention_backend, cache=args.cache,
                      steps=args.steps, audio_model_path=args.audio_model_path, guidance_scale=args.guidance_scale,
                      reference_lora_path=args.reference_lora, voice_stage=args.voice_stage,
                      voice_options=json.loads(args.voice_options))
    verifiers = json.loads(args.cameo_verifiers) if args.cameo_verifiers else None
    settings = make_worker_settings(RedisSettings.from_dsn(args.redis), cfg, args.data_dir,
                                    max_jobs=args.max_jobs, job_timeout=args.job_timeout, worker_name=args.name,
                                    cameo_verifiers=verifiers)
    run_worker(settings)


if __name__ == "__main__":
    main()
