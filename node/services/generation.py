"""Generation jobs: creating them (validation, prompt policy, remix sources, quotas, credits), cancelling
them, and settling them from what the worker reports — a finished render is C2PA-signed with the
node's identity before it becomes a media attachment anyone can see.

Events (listeners get `(node, job=...)`): generation.updated after every change of a job.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import shutil
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from io import BytesIO
from pathlib import Path
from typing import Any

from arq.jobs import JobStatus
from PIL import Image
from redis.exceptions import LockError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from federation.fetcher import FetchError, SafeFetcher
from generation import contract
from node import __version__, redis_keys
from node.context import Node
from node.errors import ApiError, not_found, unprocessable
from node.generation import queue
from node.generation.prompt_policy import (
    ClassifierUnavailable,
    ConsentPending,
    ConsentRefused,
    PromptCheck,
    Refusal,
    check_prompt,
)
from node.ids import new_id
from node.media.files import MediaError, new_media_path, probe
from node.media.store import StoreError
from node.models import (
    Account,
    CopyrightOptOut,
    GenerationCredits,
    GenerationJob,
    MediaAttachment,
    PromptRefusal,
    Status,
    User,
)
from node.models.generation import ACTIVE_STATES, WAITING_STATES
from node.serializers import provenance_json
from node.services import cameos, parental
from node.services.media import store_video
from node.services.visibility import seen_status
from node.trust import identity, trust_anchors, verify_file
from provenance.c2pa import SigningError, UnverifiedParent, VitascopeClaim, prompt_digest, sign_video, verify_video
from provenance.digests import sha256_file

log = logging.getLogger(__name__)

DEFAULT_DURATION_S = 5.0
DEFAULT_STRENGTH = 0.6
MAX_IMAGE_PIXELS = 4096 * 4096
USER_LOCK_S = 30
SOURCE_FILE, IMAGE_FILE, OUTPUT_DIR = "source.mp4", "image.png", "out"


# ----- places ----------------------------------------------------------------------------


def work_dir(node: Node) -> Path:
    """Where workers write renders: shared with them, never served (unsigned files live here)."""
    configured = node.config["generation.work_dir"]
    return Path(configured).expanduser().resolve() if configured else node.config.data_dir / "generation"


def job_dir(node: Node, job_id: int) -> Path:
    return work_dir(node) / str(job_id)


def output_path(node: Node, job_id: int) -> Path:
    return job_dir(node, job_id) / OUTPUT_DIR / f"{job_id}.mp4"


def job_key(job_id: int, name: str) -> str:
    """Where a job's file is kept when media live in an object store; workers on other machines reach
    it through presigned URLs in their spec (no shared volume, no credentials: generation.staging)."""
    return f"jobs/{job_id}/{name}"


def rendered_path(node: Node, job_id: int) -> str:
    """The path the worker must report for the job's video (under the spec's output_dir)."""
    if node.store.local:
        return str(output_path(node, job_id))
    return "/" + job_key(job_id, f"{OUTPUT_DIR}/{job_id}.mp4")


async def _share_inputs(node: Node, job_id: int) -> None:
    """Put the job's inputs (remix source, still) where a worker can read them: the object store."""
    if node.store.local:
        return
    for name, content_type in ((SOURCE_FILE, "video/mp4"), (IMAGE_FILE, "image/png")):
        path = job_dir(node, job_id) / name
        if path.exists():
            await node.store.put_file(job_key(job_id, name), path, content_type)


async def _discard_job_files(node: Node, job: GenerationJob) -> None:
    job_id = job.id
    shutil.rmtree(job_dir(node, job_id), ignore_errors=True)
    if not node.store.local:
        sheets = [f"cameos/{i}.png" for i in range(len(job.cameo_grants or []))]
        for name in (SOURCE_FILE, IMAGE_FILE, f"{OUTPUT_DIR}/{job_id}.mp4", f"{OUTPUT_DIR}/{job_id}.jpg", *sheets):
            try:
                await node.store.delete(job_key(job_id, name))
            except StoreError as exc:
                log.warning("generation %s: %s left in the object store: %s", job_id, name, exc)


def spec_for(node: Node, job: GenerationJob) -> dict[str, Any]:
    """The worker's JobSpec dict for local files; rebuilt from the row the same way every time
    (re-queueing is idempotent)."""
    directory = job_dir(node, job.id)
    return queue.job_spec(
        job_id=str(job.id), prompt=job.prompt, negative_prompt=job.negative_prompt, duration=job.duration,
        aspect=job.aspect, seed=job.seed, audio=job.audio, output_dir=directory / OUTPUT_DIR,
        source_video=directory / SOURCE_FILE if job.remix_of_uri else None,
        image=directory / IMAGE_FILE if job.has_image else None, strength=job.strength,
        cameo_references=cameos.references_from_grants(node, list(job.cameo_grants or [])))


async def transfer_spec(node: Node, job: GenerationJob) -> dict[str, Any]:
    """The JobSpec dict when media live in an object store: presigned GETs for the inputs (with the
    size and SHA-256 the worker checks) and presigned PUTs for the video and poster, valid for
    storage.s3_presign_seconds. Signed afresh on every (re-)queueing."""
    seconds = node.config["storage.s3_presign_seconds"]
    inputs: dict[str, dict[str, Any]] = {}

    async def get(name: str) -> str:
        key = job_key(job.id, name)
        size, digest = await node.store.stat(key)
        if digest is None:
            raise StoreError(f"{key} has no sha256 metadata")
        url = await node.store.presign("GET", key, seconds)
        inputs[url] = {"size": size, "sha256": digest}
        return url

    source = await get(SOURCE_FILE) if job.remix_of_uri else None
    image = await get(IMAGE_FILE) if job.has_image else None
    sheets = [await get(f"cameos/{i}.png") for i in range(len(job.cameo_grants or []))]
    outputs = {kind: await node.store.presign("PUT", job_key(job.id, f"{OUTPUT_DIR}/{job.id}.{ext}"), seconds)
               for kind, ext in (("video", "mp4"), ("poster", "jpg"))}
    return queue.job_spec(
        job_id=str(job.id), prompt=job.prompt, negative_prompt=job.negative_prompt, duration=job.duration,
        aspect=job.aspect, seed=job.seed, audio=job.audio, output_dir=Path("/", job_key(job.id, OUTPUT_DIR)),
        source_video=source, image=image, strength=job.strength, cameo_references=sheets,
        transfer={"inputs": inputs, "outputs": outputs})


async def _enqueue(node: Node, job: GenerationJob) -> None:
    """Queue the job's spec; with an object store, its cameo reference sheets go there first."""
    if node.store.local:
        spec = spec_for(node, job)
    else:
        for index, path in enumerate(cameos.references_from_grants(node, list(job.cameo_grants or []))):
            await node.store.put_file(job_key(job.id, f"cameos/{index}.png"), Path(path), "image/png")
        spec = await transfer_spec(node, job)
    await queue.enqueue(node, spec, priority=job.priority)


# ----- quota -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Quota:
    free_per_day: int
    free_used: int
    credits: int
    resets_at: datetime

    @property
    def free_left(self) -> int:
        return max(0, self.free_per_day - self.free_used)


def _day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


async def quota_of(node: Node, user: User) -> Quota:
    """Free generations reset at midnight UTC; failed jobs do not count, cancelled ones do."""
    now = datetime.now(timezone.utc)
    used = await (GenerationJob.filter(account_id=user.account_id, charge="free", created_at__gte=_day_start(now))
                  .exclude(state="failed").count())
    credits = await GenerationCredits.get_or_none(user_id=user.id)
    return Quota(free_per_day=node.config["generation.free_per_day"], free_used=used,
                 credits=credits.balance if credits else 0, resets_at=_day_start(now) + timedelta(days=1))


def _over_quota(quota: Quota) -> ApiError:
    now = datetime.now(timezone.utc)
    seconds = max(1, math.ceil((quota.resets_at - now).total_seconds()))
    hours, minutes = divmod(math.ceil(seconds / 60), 60)
    return ApiError(
        429, f"You have used your {quota.free_per_day} free generations for today and have no credits left; "
             f"the quota resets at {quota.resets_at:%Y-%m-%d %H:%M} UTC (in {hours} h {minutes} min).",
        headers={"Retry-After": str(seconds)}, resets_at=quota.resets_at.isoformat().replace("+00:00", "Z"))


async def _charge(node: Node, user: User, use_credit: bool) -> str:
    """'free' or 'credit' for a new job, spending a credit atomically; 429 when neither is left."""
    quota = await quota_of(node, user)

    async def spend_credit() -> bool:
        return bool(await GenerationCredits.filter(user_id=user.id, balance__gt=0).update(balance=F("balance") - 1))

    if use_credit and await spend_credit():
        return "credit"
    if quota.free_left > 0:
        return "free"
    if await spend_credit():
        return "credit"
    raise _over_quota(quota)


async def grant_credits(user: User, amount: int) -> int:
    """Add (or, with a negative amount, take back) credits; returns the new balance, never below 0."""
    credits, _ = await GenerationCredits.get_or_create(user_id=user.id)
    await GenerationCredits.filter(id=credits.id).update(balance=F("balance") + amount)
    await GenerationCredits.filter(id=credits.id, balance__lt=0).update(balance=0)
    await credits.refresh_from_db()
    log.info("credits of %s changed by %+d to %d", user.account_id, amount, credits.balance)
    return credits.balance


@asynccontextmanager
async def _user_lock(node: Node, user_id: int):
    """One job creation per user at a time across web processes, so quota counts cannot race."""
    lock = node.redis.lock(redis_keys.generation_user_lock(user_id), timeout=USER_LOCK_S,
                           blocking_timeout=USER_LOCK_S)
    if not await lock.acquire():
        raise ApiError(429, "Another generation request of yours is being processed; try again")
    try:
        yield
    finally:
        try:
            await lock.release()
        except LockError:
            log.warning("the creation lock of user %s expired before it was released", user_id)


# ----- creating --------------------------------------------------------------------------


def _validate(prompt: str, negative_prompt: str | None, duration: float, aspect: str, seed: int | None,
              strength: float | None) -> None:
    if not prompt.strip():
        raise unprocessable("prompt can't be blank")
    if len(prompt) > contract.MAX_PROMPT_CHARS:
        raise unprocessable(f"prompt is too long (maximum is {contract.MAX_PROMPT_CHARS} characters)")
    if negative_prompt is not None and len(negative_prompt) > contract.MAX_PROMPT_CHARS:
        raise unprocessable(f"negative_prompt is too long (maximum is {contract.MAX_PROMPT_CHARS} characters)")
    if not math.isfinite(duration) or duration <= 0:
        raise unprocessable("duration must be a positive number of seconds")
    if duration > contract.MAX_DURATION_S:
        raise unprocessable(f"duration must be at most {contract.MAX_DURATION_S:g} seconds")
    if aspect not in contract.ASPECTS:
        raise unprocessable(f"aspect must be one of {', '.join(contract.ASPECTS)}")
    if seed is not None and not 0 <= seed <= contract.MAX_SEED:
        raise unprocessable("seed must be between 0 and 2^63-1")
    if strength is not None and not (math.isfinite(strength) and 0.0 <= strength <= 1.0):
        raise unprocessable("strength must be between 0 and 1")


async def create_job(node: Node, user: User, *, prompt: str, negative_prompt: str | None = None,
                     duration: float | None = None, aspect: str | None = None, seed: int | None = None,
                     audio: bool = True, publish_prompt: bool = False, remix_of_id: int | None = None,
                     strength: float | None = None, image: bytes | None = None,
                     use_credit: bool = False) -> GenerationJob:
    duration = DEFAULT_DURATION_S if duration is None else duration
    aspect = aspect or "9:16"
    _validate(prompt, negative_prompt, duration, aspect, seed, strength)
    if remix_of_id is not None and image is not None:
        raise unprocessable("give a source video to remix or an image to animate, not both")
    job_id = new_id()  # minted first: consent grants are bound to this generation
    try:
        job, checked = await _create_with_consent(node, user, job_id, prompt=prompt, negative_prompt=negative_prompt,
                                                  duration=duration, aspect=aspect, seed=seed, audio=audio,
                                                  publish_prompt=publish_prompt, remix_of_id=remix_of_id,
                                                  strength=strength, image=image, use_credit=use_credit)
    except BaseException:
        await cameos.uses_abandoned(job_id)
        raise
    await cameos.uses_created(node, job_id)
    if checked.pending:  # an owner approves by hand first (cameo_decisions.answer_request)
        await node.emit("generation.updated", job=job)
        return job
    await _queue(node, job)
    return job


async def _create_with_consent(node: Node, user: User, job_id: int, *, prompt: str, negative_prompt: str | None,
                               duration: float, aspect: str, seed: int | None, audio: bool, publish_prompt: bool,
                               remix_of_id: int | None, strength: float | None, image: bytes | None,
                               use_credit: bool) -> tuple[GenerationJob, PromptCheck]:
    """Consent for every person the prompt (or the remixed video) shows, then the row; a failure
    anywhere leaves uses behind for `create_job` to abandon."""
    account: Account = user.account
    try:
        checked = await check_prompt(node, account, prompt, job_id=job_id)
    except ClassifierUnavailable as exc:
        raise ApiError(503, f"The prompt cannot be checked right now: {exc}") from None
    if checked.refusal is None and remix_of_id is not None:
        try:
            for answer in await cameos.consent_for_remix(node, account, remix_of_id, prompt, job_id=job_id):
                if isinstance(answer, ConsentPending):
                    checked.pending.append(answer)
                elif answer not in checked.cameo_grants:
                    checked.cameo_grants.append(answer)
        except ConsentRefused as exc:
            checked = PromptCheck(Refusal("person", str(exc)))
    if checked.refusal is not None:
        log.info("refused a prompt of %s (%s): %s", account.acct(), checked.refusal.rule, checked.refusal.reason)
        await PromptRefusal.create(account=account, prompt=prompt, rule=checked.refusal.rule,
                                   reason=checked.refusal.reason)
        raise unprocessable(f"prompt refused: {checked.refusal.reason}")
    negative_prompt = _with_guidance(negative_prompt, await cameos.restriction_guidance(job_id))

    directory = job_dir(node, job_id)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        source, manifest_id = None, None
        if remix_of_id is not None:
            source, manifest_id = await _verified_source(node, account, remix_of_id, directory / SOURCE_FILE)
        if image is not None:
            await asyncio.to_thread(_store_image, image, directory / IMAGE_FILE)
        try:
            await _share_inputs(node, job_id)
        except StoreError as exc:
            log.error("generation inputs cannot be stored: %s", exc)
            raise ApiError(503, "Media storage is unavailable; try again later") from None
        async with _user_lock(node, user.id):
            limit = node.config["generation.max_active_per_user"]
            active = await GenerationJob.filter(account_id=account.id, state__in=ACTIVE_STATES).count()
            if active >= limit:
                raise ApiError(429, f"You already have {active} generations queued or running (the limit is "
                                    f"{limit}); wait for one to finish", headers={"Retry-After": "10"})
            await parental.check_generation_allowed(account)
            charge = await _charge(node, user, use_credit)
            job = await GenerationJob.create(
                id=job_id, account=account, prompt=prompt, negative_prompt=negative_prompt or None,
                publish_prompt=publish_prompt, duration=float(duration), aspect=aspect,
                seed=seed if seed is not None else secrets.randbelow(2**31), audio=audio,
                strength=DEFAULT_STRENGTH if strength is None else strength, has_image=image is not None,
                remix_of=source, remix_of_uri=source.uri if source else None, source_manifest_id=manifest_id,
                charge=charge, priority=charge == "credit" and node.config["generation.peak_mode"],
                cameo_grants=checked.cameo_grants, state="awaiting_consent" if checked.pending else "queued")
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    job.account = account
    return job, checked


def _with_guidance(negative_prompt: str | None, terms: list[str]) -> str | None:
    """The creator's negative prompt plus the cameo owners' restrictions (the job's, so the
    worker's spec and the job record carry them)."""
    if not terms:
        return negative_prompt
    own = [negative_prompt.strip()] if negative_prompt and negative_prompt.strip() else []
    merged = ", ".join(own + terms)
    if len(merged) > contract.MAX_PROMPT_CHARS:
        raise unprocessable(f"negative_prompt with the cameo owners' restrictions is too long (maximum is "
                            f"{contract.MAX_PROMPT_CHARS} characters)")
    return merged


async def _queue(node: Node, job: GenerationJob) -> None:
    try:
        await _enqueue(node, job)
    except Exception as exc:
        log.exception("could not queue generation %s", job.id)
        await _finish(node, job, "failed", error=f"could not be queued: {exc}")
        raise ApiError(503, "The generation queue is unavailable; try again later") from None
    await node.emit("generation.updated", job=job)


async def consent_given(node: Node, job: GenerationJob, claim_entry: dict[str, Any]) -> None:
    """An owner approved a cameo use: its grant joins the claim; the last approval queues the job."""
    async with in_transaction():
        job = await GenerationJob.select_for_update().get(id=job.id)
        if job.state not in WAITING_STATES:
            return
        job.cameo_grants = [*(job.cameo_grants or []), claim_entry]
        await job.save(update_fields=["cameo_grants", "updated_at"])
    if await cameos.consent_outstanding(job.id):
        return
    if await GenerationJob.filter(id=job.id, state="awaiting_consent").update(state="queued"):
        job.state = "queued"
        job.account = await job.account
        await _queue(node, job)


async def consent_denied(node: Node, job: GenerationJob, reason: str) -> None:
    await _finish(node, job, "failed", error=reason)


async def withdraw(node: Node, job_id: int, reason: str) -> None:
    """A cameo's owner took their consent back before the video was posted: the job ends, and a
    finished draft's video is deleted (the creator can no longer post it)."""
    job = await GenerationJob.get_or_none(id=job_id)
    if job is None:
        return
    if job.state in (*ACTIVE_STATES, *WAITING_STATES):
        job.cancel_requested = True
        await job.save(update_fields=["cancel_requested", "updated_at"])
        if job.state in WAITING_STATES or await queue.cancel(node, str(job.id)):
            await _finish(node, job, "failed", error=reason)
    elif job.media_id is not None:
        media = await MediaAttachment.get_or_none(id=job.media_id, status_id=None)
        if media is not None and media.file_path:
            video = node.config.media_dir / media.file_path
            for leftover in (video, video.with_suffix(".jpg")):
                leftover.unlink(missing_ok=True)
            await media.delete()
        await GenerationJob.filter(id=job.id).update(error=reason)


def _store_image(data: bytes, destination: Path) -> None:
    """Accept a still to animate only if Pillow decodes it within the pixel cap; store it as PNG."""
    try:
        with Image.open(BytesIO(data)) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise unprocessable(f"image has more than {MAX_IMAGE_PIXELS} pixels")
            image.load()
            image.convert("RGB").save(destination, "PNG")
    except (OSError, Image.DecompressionBombError, ValueError) as exc:
        raise unprocessable(f"image cannot be read: {exc}") from None


async def _verified_source(node: Node, account: Account, status_id: int, destination: Path) -> tuple[Status, str]:
    """The source video of a remix, copied next to the job — only after its provenance verified."""
    status = await seen_status(account, status_id)
    if status is None:
        raise not_found()
    if not status.remixable:
        raise unprocessable("the source video does not allow remixing")
    media = await MediaAttachment.filter(status_id=status.id, type="video").order_by("id").first()
    if media is None:
        raise unprocessable("the source status has no video")
    if media.file_path:
        try:
            await node.store.get_file(media.file_path, destination)
        except StoreError as exc:
            log.warning("source video %s of status %s cannot be read: %s", media.file_path, status.id, exc)
            raise unprocessable("the source video is not available") from None
    elif media.remote_url:
        await _fetch_remote(node, media.remote_url, destination)
    else:
        raise unprocessable("the source video is not available")
    if media.sha256 and (await asyncio.to_thread(sha256_file, destination)).hex() != media.sha256:
        raise unprocessable("the source video differs from the file its post describes")
    verdict = await verify_file(node, destination, status.account.domain, first_seen=media.created_at)
    if not verdict.ok:
        raise unprocessable(f"the source video's provenance does not verify: {verdict.reason or verdict.state}")
    return status, verdict.manifest_id


async def _fetch_remote(node: Node, url: str, destination: Path) -> None:
    fetcher = SafeFetcher(allow_private=node.config.dev_mode, allow_http=node.config.dev_mode,
                          max_bytes=node.config["federation.max_fetch_bytes"],
                          timeout=node.config["federation.fetch_timeout_seconds"],
                          user_agent=f"Vitascope/{__version__} (+{node.urls.base})")
    try:
        async with fetcher:
            body = await fetcher.get_bytes(url, accept="video/mp4")
    except FetchError as exc:
        raise unprocessable(f"the source video cannot be fetched: {exc.reason}") from None
    await asyncio.to_thread(destination.write_bytes, body)


# ----- cancelling ------------------------------------------------------------------------


async def own_job(account: Account, job_id: int) -> GenerationJob:
    job = await GenerationJob.get_or_none(id=job_id, account_id=account.id).prefetch_related("account", "media")
    if job is None:
        raise not_found()
    return job


async def cancel_job(node: Node, account: Account, job_id: int) -> GenerationJob:
    """A waiting job is taken off the queue at once; a running one stops at its next step."""
    job = await own_job(account, job_id)
    if job.state == "cancelled":
        return job
    if job.state in WAITING_STATES:
        await _finish(node, job, "cancelled")
        return job
    if job.state not in ACTIVE_STATES:
        raise unprocessable(f"the generation has already {'finished' if job.state == 'done' else 'failed'}")
    job.cancel_requested = True
    await job.save(update_fields=["cancel_requested", "updated_at"])
    if await queue.cancel(node, str(job.id)):
        await _finish(node, job, "cancelled")
    else:
        await node.emit("generation.updated", job=job)
    return job


# ----- settling (the collector calls these) ----------------------------------------------


async def record_progress(node: Node, job: GenerationJob, step: int, total: int, eta: float | None, *,
                          save: bool) -> None:
    """A running job's progress: always streamed, written to the row when `save` (throttled by the caller)."""
    first = job.state == "queued"
    job.state, job.step, job.total_steps, job.eta_seconds = "running", step, total, eta
    if first:
        job.started_at = datetime.now(timezone.utc)
    if first or save:
        await GenerationJob.filter(id=job.id, state__in=ACTIVE_STATES).update(
            state="running", step=step, total_steps=total, eta_seconds=eta, started_at=job.started_at)
    await node.emit("generation.updated", job=job)


async def settle(node: Node, job: GenerationJob) -> bool:
    """Bring a queued or running job in line with the queue's records; True once it has ended.

    A job arq no longer knows about (lost with a Redis that had not saved it, or never queued
    because the web process died in between) is queued again: nothing is lost."""
    job_key = str(job.id)
    ended = await queue.outcome(node, job_key)
    if ended is None:
        if await queue.status(node, job_key) != JobStatus.not_found:
            return False
        # The row read before may be stale: a cancel takes a queued job off the queue (having
        # marked it `cancel_requested`) just before it writes its end. Read it again, so that a
        # job cancelled meanwhile is never taken for lost and queued again.
        fresh = await GenerationJob.get_or_none(id=job.id)
        if fresh is None or fresh.state not in ACTIVE_STATES:
            return True
        job.cancel_requested = fresh.cancel_requested
        if job.cancel_requested:
            await _finish(node, job, "cancelled")
            return True
        if await _rendered(node, job.id):
            await _finish(node, job, "failed", error="the worker's result expired before it was collected")
            return True
        log.warning("generation %s was missing from the queue; queueing it again", job.id)
        await _enqueue(node, job)
        return False
    if job.cancel_requested or ended.cancelled:
        await _finish(node, job, "cancelled")
    elif ended.success:
        await finalize(node, job, ended.result)
    else:
        await _finish(node, job, "failed", error=ended.error)
    return True


async def finalize(node: Node, job: GenerationJob, result: dict[str, Any]) -> None:
    """Sign the worker's MP4 as this node's AI generation (remixes: with the verified parent as
    ingredient), then store it as a media attachment. Nothing is visible before it is signed."""
    try:
        queue.check_result(result)
    except ValueError as exc:
        await _finish(node, job, "failed", error=str(exc))
        return
    if (result["job_id"] != str(job.id)
            or Path(result["video_path"]).resolve() != Path(rendered_path(node, job.id)).resolve()):
        await _finish(node, job, "failed", error="the worker reported a file this job did not ask for")
        return
    expected = output_path(node, job.id)
    if not await _fetch_job_files(node, job):
        await _finish(node, job, "failed", error="the rendered file is missing")
        return
    model = result["model"]
    claim = VitascopeClaim(
        model_name=str(model["name"]), model_version=str(model["version"]), weights_digest=model["weights_digest"],
        test_model=bool(model["test_model"]), node=node.config.domain, job_id=str(job.id),
        prompt_digest=prompt_digest(job.prompt), prompt=job.prompt if job.publish_prompt else None,
        cameo_grants=list(job.cameo_grants or []))
    parent = job_dir(node, job.id) / SOURCE_FILE if job.remix_of_uri else None
    anchors = await trust_anchors(node)
    signed, rel = new_media_path(node.config.media_dir, ".mp4")
    try:
        try:
            await asyncio.to_thread(sign_video, expected, signed, identity(node), claim, parent=parent,
                                    parent_trust_anchors=anchors)
        except UnverifiedParent as exc:
            await _finish(node, job, "failed", error=f"the source video no longer verifies: {exc.verdict.reason}")
            return
        except SigningError as exc:
            log.error("signing generation %s failed: %s", job.id, exc)
            await _finish(node, job, "failed", error="the video could not be signed")
            return
        verdict = await asyncio.to_thread(verify_video, signed, anchors)
        if not verdict.ok:
            log.error("signed generation %s does not verify: %s", job.id, verdict.reason)
            await _finish(node, job, "failed", error="the signed video did not verify")
            return
        try:
            facts = await asyncio.to_thread(probe, signed)
        except MediaError as exc:
            await _finish(node, job, "failed", error=str(exc))
            return
        account = await job.account
        async with in_transaction():
            claimed = await GenerationJob.filter(id=job.id, state__in=ACTIVE_STATES).update(state="finalizing")
            if not claimed:  # another web process finished it meanwhile
                signed.unlink(missing_ok=True)
                return
            media = await store_video(node, account, signed, rel, facts, provenance_json(verdict),
                                      manifest_id=verdict.manifest_id, generation_id=job.id,
                                      description=job.prompt[:1500] if job.publish_prompt else "")
            now = datetime.now(timezone.utc)
            job.state, job.media, job.finished_at, job.eta_seconds = "done", media, now, 0.0
            job.step = job.total_steps = result["steps"]
            job.model_name, job.model_version = claim.model_name, claim.model_version
            job.weights_digest, job.test_model = claim.weights_digest, claim.test_model
            job.started_at = job.started_at or now
            await job.save()
    except BaseException:
        for leftover in (signed, signed.with_suffix(".jpg")):
            leftover.unlink(missing_ok=True)
        raise
    await _discard_job_files(node, job)
    log.info("generation %s done: media %s (%s)", job.id, media.id, verdict.manifest_id)
    await node.emit("generation.updated", job=job)


async def _rendered(node: Node, job_id: int) -> bool:
    if node.store.local:
        return output_path(node, job_id).exists()
    return await node.store.size(job_key(job_id, f"{OUTPUT_DIR}/{job_id}.mp4")) is not None


async def _fetch_job_files(node: Node, job: GenerationJob) -> bool:
    """The render (and a remix's source, the signing's ingredient) here, from the object store if
    media live there (another web process may have queued the job); False when the render is missing."""
    if node.store.local:
        return output_path(node, job.id).is_file()
    wanted = [(f"{OUTPUT_DIR}/{job.id}.mp4", output_path(node, job.id))]
    if job.remix_of_uri:
        wanted.append((SOURCE_FILE, job_dir(node, job.id) / SOURCE_FILE))
    try:
        for name, path in wanted:
            if not path.is_file():
                await node.store.get_file(job_key(job.id, name), path)
    except StoreError as exc:
        log.warning("generation %s: %s", job.id, exc)
        return False
    return True


async def _finish(node: Node, job: GenerationJob, state: str, *, error: str | None = None) -> None:
    """End a job that produced no video; a failed credit job gives its credit back."""
    claimed = await GenerationJob.filter(id=job.id, state__in=(*ACTIVE_STATES, *WAITING_STATES)).update(
        state=state, error=error, finished_at=datetime.now(timezone.utc), eta_seconds=None)
    if not claimed:
        return
    job.state, job.error, job.finished_at, job.eta_seconds = state, error, datetime.now(timezone.utc), None
    if state == "failed" and job.charge == "credit":
        user = await User.get(account_id=job.account_id)
        await grant_credits(user, 1)
    await _discard_job_files(node, job)
    log.info("generation %s %s%s", job.id, state, f": {error}" if error else "")
    await node.emit("generation.updated", job=job)


# ----- the opt-out registry --------------------------------------------------------------


async def add_opt_out(holder: str, terms: list[str], *, note: str = "",
                      created_by: Account | None = None) -> CopyrightOptOut:
    holder = holder.strip()
    terms = list(dict.fromkeys(t.strip() for t in terms if t.strip()))
    if not holder or len(holder) > 255:
        raise unprocessable("holder is missing or too long")
    if not terms or any(len(t) > 200 for t in terms) or len(terms) > 100:
        raise unprocessable("give 1 to 100 terms of at most 200 characters")
    return await CopyrightOptOut.create(holder=holder, terms=terms, note=note, created_by=created_by)


async def remove_opt_out(opt_out_id: int) -> None:
    if not await CopyrightOptOut.filter(id=opt_out_id).delete():
        raise not_found()

