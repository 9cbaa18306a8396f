"""Cameos on this node: capture and verification, the owner's policy, consent for each use (a
signed CameoAuthorization bound to one generation), the owner's ledger and revocation. The owner's
decisions that start, fail or withdraw a generation (answering a request, a takedown) are in
node.services.cameo_decisions, so that generation may ask this module for consent without a circle.

`request_consent` is the one door every use goes through: a local owner's policy decides here; a
cameo on another node is asked by CameoRequest (services.cameo_federation), and the generation
waits for the Accept/Reject (same outcomes: a grant, pending, or a refusal).

Events: none of its own; a use notifies the owner (`vitascope.cameo_use`) once its generation is
created, before rendering (`uses_created`); a generation that is not created leaves no use (`uses_abandoned`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from arq.jobs import JobStatus
from tortoise.transactions import in_transaction

from generation import contract
from node.context import Node
from node.errors import ApiError, not_found, unprocessable
from node.generation import queue
from node.generation.prompt_policy import ConsentPending, ConsentRefused, NamedPerson
from node.ids import new_id
from node.ids import parse as parse_id
from node.media.files import MediaError, probe
from node.models import Account, GenerationJob, MediaAttachment
from node.models.cameos import POLICIES, Cameo, CameoChallenge, CameoGrantTombstone, CameoUse
from node.services import cameo_federation, parental
from node.services.cameo_consent import (MAX_CAMEOS_PER_VIDEO, claim_entry_for, decide, private_dir, record_grant,
                                         restriction_keywords)
from node.services.notifications import notify
from node.services.visibility import seen_status
from provenance.digests import digest_multibase, sha256_file

log = logging.getLogger(__name__)

CHALLENGE_MINUTES = 5
MIN_CAPTURE_S, MAX_CAPTURE_S = 3.0, 10.0
MAX_CAPTURE_BYTES = 200 * 1024 * 1024
HANDLE = re.compile(r"[A-Za-z0-9_]{1,30}")
HANDLE_IN_PROMPT = re.compile(r"(?<![\w@/])@([A-Za-z0-9_]{1,30})(?![\w@.])")
WORDS = ("amber", "anchor", "banjo", "breeze", "cactus", "canyon", "cobalt", "comet", "copper", "dune", "ember",
         "falcon", "fern", "glacier", "harbor", "hazel", "indigo", "jasmine", "kettle", "lantern", "maple", "meadow",
         "nectar", "nimbus", "orchid", "otter", "pebble", "pepper", "quartz", "raven", "saffron", "sierra", "spruce",
         "thistle", "tundra", "velvet", "walnut", "willow", "yonder", "zephyr")



# ----- places and ids ------------------------------------------------------------------------


def verify_job_id(cameo_id: int) -> str:
    return f"cameo-{cameo_id}"


# ----- capture and verification --------------------------------------------------------------


async def issue_challenge(node: Node, account: Account) -> CameoChallenge:
    phrase = " ".join(secrets.choice(WORDS) for _ in range(4))
    return await CameoChallenge.create(account=account, phrase=phrase,
                                       expires_at=datetime.now(timezone.utc) + timedelta(minutes=CHALLENGE_MINUTES))


async def create_cameo(node: Node, account: Account, *, kind: str, name: str, handle: str, recording: bytes,
                       challenge_id: int | None) -> Cameo:
    """Store the capture privately and queue its verification; the cameo is `pending` until the
    worker's verdict comes back (verified, rejected or needs_review)."""
    if kind not in ("person", "character"):
        raise unprocessable("kind must be person or character")
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise unprocessable("name must be 1-100 characters")
    if not HANDLE.fullmatch(handle or ""):
        raise unprocessable("handle must be 1-30 letters, digits or _")
    if await Cameo.filter(handle__iexact=handle).exists() or await Account.filter(
            username__iexact=handle, domain=None).exists():
        raise unprocessable("that handle is taken")
    if not recording:
        raise unprocessable("recording is missing")
    if len(recording) > MAX_CAPTURE_BYTES:
        raise ApiError(413, "the recording is too large")
    phrase, issued = None, None
    if kind == "person":  # taken first: a challenge is good for one attempt, whatever its outcome
        challenge = await _use_challenge(account, challenge_id)
        phrase, issued = challenge.phrase, challenge.created_at
        if await Cameo.filter(account_id=account.id, kind="person").exclude(state="rejected").exists():
            raise unprocessable("you already have a cameo of yourself; delete it first")
    cameo_id = new_id()
    capture = private_dir(node) / f"{cameo_id}.capture"
    await asyncio.to_thread(_write_private, capture, recording)
    try:
        try:
            facts = await asyncio.to_thread(probe, capture)
        except MediaError as exc:
            raise unprocessable(f"the recording is not a readable video: {exc}") from None
        if not MIN_CAPTURE_S <= facts.duration <= MAX_CAPTURE_S:
            raise unprocessable(f"the recording must last {MIN_CAPTURE_S:g} to {MAX_CAPTURE_S:g} seconds")
        cameo = await Cameo.create(id=cameo_id, account=account, kind=kind, name=name, handle=handle,
                                   challenge_phrase=phrase, challenge_issued_at=issued, capture_path=str(capture))
    except BaseException:
        capture.unlink(missing_ok=True)
        raise
    await _queue_verification(node, cameo)
    return cameo


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


async def _use_challenge(account: Account, challenge_id: int | None) -> CameoChallenge:
    """A person's capture needs their own unexpired, unused challenge; taking it is atomic (single use)."""
    if challenge_id is None:
        raise unprocessable("a person cameo needs challenge_id (POST /api/v1/vitascope/cameos/challenges)")
    now = datetime.now(timezone.utc)
    taken = await CameoChallenge.filter(id=challenge_id, account_id=account.id, used_at=None,
                                        expires_at__gt=now).update(used_at=now)
    if not taken:
        raise unprocessable("the challenge is unknown, expired or already used")
    return await CameoChallenge.get(id=challenge_id)


async def _queue_verification(node: Node, cameo: Cameo) -> None:
    job = {"job_id": verify_job_id(cameo.id),
           "capture": {"path": cameo.capture_path, "kind": cameo.kind, "challenge_phrase": cameo.challenge_phrase,
                       "challenge_issued_at": cameo.challenge_issued_at.isoformat()
                       if cameo.challenge_issued_at else None},
           "reference_path": str(reference_path(node, cameo.id))}
    await node.arq.enqueue_job(contract.VERIFY_FUNCTION_NAME, job, _job_id=job["job_id"],
                               _queue_name=contract.QUEUE_NAME)


async def settle_verifications(node: Node) -> None:
    """Collect the worker's verdicts for pending cameos (the generation collector calls this)."""
    for cameo in await Cameo.filter(state="pending").order_by("id"):
        ended = await queue.outcome(node, verify_job_id(cameo.id))
        if ended is None:
            if await queue.status(node, verify_job_id(cameo.id)) == JobStatus.not_found:
                await _queue_verification(node, cameo)  # lost with Redis: ask again
            continue
        await apply_verdict(node, cameo, ended.result if ended.success else None, ended.error)


async def apply_verdict(node: Node, cameo: Cameo, result: dict[str, Any] | None, error: str | None) -> None:
    verdict = (result or {}).get("verdict") if isinstance(result, dict) else None
    state = {"approved": "verified", "rejected": "rejected", "needs_review": "needs_review"}.get(
        (verdict or {}).get("state"), "needs_review")
    reason = (verdict or {}).get("reason") or error
    evidence = (verdict or {}).get("evidence") or []
    reference = (result or {}).get("reference_path") if state != "rejected" else None
    expected = reference_path(node, cameo.id)
    if reference and Path(reference).resolve() != expected.resolve():
        state, reason, reference = "needs_review", "the worker wrote the reference sheet elsewhere", None
    if state == "verified" and not (reference and expected.is_file()):
        state, reason = "needs_review", "no reference sheet was written"
    digest = None
    if reference and expected.is_file():
        os.chmod(expected, 0o600)
        digest = digest_multibase(await asyncio.to_thread(sha256_file, expected))
    await Cameo.filter(id=cameo.id, state="pending").update(
        state=state, review_reason=reason, evidence=evidence, reference_path=str(expected) if digest else None,
        likeness_digest=digest)
    log.info("cameo %s (@%s): %s %s", cameo.id, cameo.handle, state, reason or "")


async def review(node: Node | None, cameo_id: int, *, approve: bool, reason: str | None = None) -> Cameo:
    """A moderator's decision on a capture the chain could not decide (or a second look)."""
    cameo = await Cameo.get_or_none(id=cameo_id)
    if cameo is None:
        raise not_found()
    if approve and not cameo.likeness_digest:
        raise unprocessable("this capture has no reference sheet (it was rejected by the checks)")
    cameo.state = "verified" if approve else "rejected"
    cameo.review_reason = reason or ("approved by a moderator" if approve else "rejected by a moderator")
    await cameo.save(update_fields=["state", "review_reason", "updated_at"])
    return cameo


async def delete_cameo(node: Node, account: Account, cameo_id: int) -> None:
    """The cameo, its private files and its ledger go; its grants answer 410 (a tombstone each),
    so holders learn they are no longer in force; new uses are refused."""
    cameo = await own_cameo(account, cameo_id)
    for path in (cameo.capture_path, cameo.reference_path):
        if path:
            Path(path).unlink(missing_ok=True)
    async with in_transaction():
        granted = await CameoUse.filter(cameo_id=cameo.id, grant__not_isnull=True)
        await CameoGrantTombstone.bulk_create([CameoGrantTombstone(id=use.id) for use in granted])
        await cameo.delete()
    await cameo_federation.grants_revoked(node, account, [u for u in granted if u.state == "granted"])


async def own_cameo(account: Account, cameo_id: int) -> Cameo:
    cameo = await Cameo.get_or_none(id=cameo_id, account_id=account.id)
    if cameo is None:
        raise not_found()
    return cameo


# ----- the owner's policy --------------------------------------------------------------------




async def update_policy(node: Node, account: Account, cameo_id: int, *, policy: str | None = None,
                        allow: list[str] | None = None, deny: list[str] | None = None,
                        restrictions: str | None = None, expires_at: datetime | None | str = "keep",
                        name: str | None = None) -> Cameo:
    cameo = await own_cameo(account, cameo_id)
    if policy is not None:
        if policy not in POLICIES:
            raise unprocessable(f"policy must be one of {', '.join(POLICIES)}")
        if policy == "everyone" and await parental.controls_of(account) is not None:
            raise unprocessable("teen accounts cannot open a cameo to everyone")
        cameo.policy = policy
    for attr, ids in (("allow", allow), ("deny", deny)):
        if ids is not None:
            ids = list(dict.fromkeys(str(i) for i in ids))
            if len(ids) > 1000 or not all(parse_id(i) is not None for i in ids):
                raise unprocessable(f"{attr} must be a list of at most 1000 account ids")
            if len(ids) != await Account.filter(id__in=[int(i) for i in ids]).count():
                raise unprocessable(f"{attr} names an unknown account")
            setattr(cameo, attr, ids)
    if restrictions is not None:
        if len(restrictions) > 2000:
            raise unprocessable("restrictions must be at most 2000 characters")
        cameo.restrictions = restrictions.strip()
    if expires_at != "keep":
        if expires_at is not None and expires_at <= datetime.now(timezone.utc):
            raise unprocessable("expires_at must be in the future")
        cameo.expires_at = expires_at
    if name is not None:
        if not name.strip() or len(name) > 100:
            raise unprocessable("name must be 1-100 characters")
        cameo.name = name.strip()
    await cameo.save()
    return cameo


# ----- consent for a use ---------------------------------------------------------------------


async def find_cameos(node: Node, requester: Account, prompt: str) -> list[NamedPerson]:
    """Person finder: cameos tagged `@handle` (a handle that is also an account's name is found
    by the default finder and mapped to that account's cameo by the consent provider), and
    cameos on other nodes (`@handle@host`, or the cameo's URL)."""
    found = []
    for handle in dict.fromkeys(h.lower() for h in HANDLE_IN_PROMPT.findall(prompt)):
        cameo = await Cameo.filter(handle__iexact=handle).first()
        if cameo is not None:
            found.append(NamedPerson(uri=node.urls.cameo(cameo.id), label=f"@{cameo.handle}"))
    return found + await cameo_federation.find_remote_cameos(node, requester, prompt)


async def taggable(node: Node, requester: Account, prefix: str, limit: int = 8) -> list[tuple[Cameo, bool]]:
    """Verified cameos whose handle starts with `prefix` that `requester` may tag now, or on the owner's
    approval (the bool), for autocomplete. A cameo the requester may not use is not listed."""
    prefix = prefix.removeprefix("@").lower()
    if not HANDLE.fullmatch(prefix):
        return []
    found: list[tuple[Cameo, bool]] = []
    candidates = Cameo.filter(state="verified", handle__istartswith=prefix).order_by("handle").limit(50)
    for cameo in await candidates.prefetch_related("account"):
        if not cameo.handle.lower().startswith(prefix):  # `_` is a LIKE wildcard
            continue
        decision = await decide(node, requester, cameo.account, cameo, "")
        if decision in (None, "approve"):
            found.append((cameo, decision == "approve"))
        if len(found) == limit:
            break
    return found


async def consent_provider(node: Node, requester: Account, person: NamedPerson, prompt: str, *,
                           job_id: int) -> dict[str, Any] | ConsentPending | None:
    """Consent provider: a cameo's URL or a local person with a person cameo → `request_consent`;
    a cameo on another node → a CameoRequest to its owner's node."""
    cameo = None
    prefix = f"{node.urls.base}/cameos/"
    if not person.uri.startswith(f"{node.urls.base}/"):
        return await cameo_federation.remote_consent(node, requester, person, prompt, job_id=job_id)
    cameo_id = parse_id(person.uri[len(prefix):]) if person.uri.startswith(prefix) else None
    if cameo_id is not None:
        cameo = await Cameo.get_or_none(id=cameo_id)
    else:
        owner = await Account.get_or_none(uri=person.uri, domain=None)
        if owner is not None:
            cameo = await Cameo.filter(account_id=owner.id, kind="person", state="verified").first()
    if cameo is None:
        return None
    return await request_consent(node, requester, cameo, prompt, job_id=job_id)


async def request_consent(node: Node, requester: Account, cameo: Cameo, prompt: str, *,
                          job_id: int) -> dict[str, Any] | ConsentPending:
    """Ask the owner's consent for one use (decided locally; a remote owner will get a CameoRequest).
    Returns the C2PA claim entry of the signed grant, or ConsentPending; raises ConsentRefused."""
    existing = await CameoUse.get_or_none(cameo_id=cameo.id, job_id=job_id)
    if existing is not None:  # named twice in one prompt: one use
        if existing.grant is None:
            return ConsentPending(existing.id)
        return claim_entry_for(existing, await Account.get(id=cameo.account_id))
    if await CameoUse.filter(job_id=job_id).count() >= MAX_CAMEOS_PER_VIDEO:
        raise ConsentRefused(f"a video may show at most {MAX_CAMEOS_PER_VIDEO} cameos")
    owner = await Account.get(id=cameo.account_id)
    decision = await decide(node, requester, owner, cameo, prompt)
    if decision is not None and decision != "approve":
        raise ConsentRefused(f"@{cameo.handle} cannot be used: {decision}")
    use = await CameoUse.create(cameo=cameo, creator=requester, job_id=job_id, prompt=prompt)
    if decision is None:
        await record_grant(node, use, cameo, owner, requester)
    if decision == "approve":
        return ConsentPending(use.id)
    return claim_entry_for(use, owner)


async def restriction_guidance(job_id: int) -> list[str]:
    """What the owners of the cameos a generation shows ruled out, as negative-prompt terms: the
    same keywords the prompt was checked against (the model is steered away from them too)."""
    words: list[str] = []
    for use in await CameoUse.filter(job_id=job_id).order_by("id").prefetch_related("cameo"):
        words += restriction_keywords(use.cameo.restrictions)
    return list(dict.fromkeys(words))


async def uses_created(node: Node, job_id: int) -> None:
    """The generation exists: each owner learns of its use, before anything renders (drafts too)."""
    for use in await CameoUse.filter(job_id=job_id).order_by("id").prefetch_related("cameo", "creator"):
        await notify(node, await Account.get(id=use.cameo.account_id), use.creator, "vitascope.cameo_use")
    await cameo_federation.send_requests(node, job_id)


async def uses_abandoned(job_id: int) -> None:
    """The generation was not created (a later cameo refused, a limit hit): its uses and grants,
    recorded while asking, go as if never asked; nobody was notified yet. Consent is all or nothing."""
    if not await GenerationJob.filter(id=job_id).exists():
        await CameoUse.filter(job_id=job_id).delete()
        await cameo_federation.abandon(job_id)


async def consent_outstanding(job_id: int) -> bool:
    """Whether a cameo owner (here or on another node) has yet to answer for this generation."""
    return (await CameoUse.filter(job_id=job_id, state="pending").exists()
            or await cameo_federation.outstanding(job_id))


async def consent_for_remix(node: Node, requester: Account, status_id: int, prompt: str, *,
                            job_id: int) -> list[dict[str, Any] | ConsentPending]:
    """A remix of a video that shows cameos is a new use of each: consent is asked again (of a
    cameo on another node by CameoRequest), whether the video was made here or elsewhere."""
    status = await seen_status(requester, status_id)
    if status is None:
        return []  # the remix itself answers 404
    media = await MediaAttachment.filter(status_id=status.id)
    jobs = await GenerationJob.filter(id__in=[m.generation_id for m in media if m.generation_id])
    grants = [e.get("grant", {}) for job in jobs for e in job.cameo_grants or [] if isinstance(e, dict)]
    grants += [g for m in media if isinstance(m.provenance, dict) and m.generation_id is None
               for g in m.provenance.get("cameo_grants") or []]
    answers = []
    for target in dict.fromkeys(str(g.get("interactionTarget", "")) for g in grants if isinstance(g, dict)):
        cameo_ids = _cameo_ids(node, [{"grant": {"interactionTarget": target}}])
        if cameo_ids:
            cameo = await Cameo.get_or_none(id=cameo_ids[0])
            if cameo is None:
                raise ConsentRefused("the source video shows a cameo that no longer exists")
            answers.append(await request_consent(node, requester, cameo, prompt, job_id=job_id))
        else:
            answer = await cameo_federation.remote_consent(node, requester, NamedPerson(uri=target, label=target),
                                                           prompt, job_id=job_id)
            if answer is None:
                raise ConsentRefused("the source video shows a cameo that cannot be asked")
            answers.append(answer)
    return answers


def _cameo_ids(node: Node, claim_entries: list[dict[str, Any]]) -> list[int]:
    prefix = f"{node.urls.base}/cameos/"
    ids = []
    for entry in claim_entries:
        target = str(entry.get("grant", {}).get("interactionTarget", "")) if isinstance(entry, dict) else ""
        cameo_id = parse_id(target[len(prefix):]) if target.startswith(prefix) else None
        if cameo_id is not None:
            ids.append(cameo_id)
    return ids


def reference_path(node: Node, cameo_id: int) -> Path:
    return private_dir(node) / f"{cameo_id}.reference.png"


def references_from_grants(node: Node, claim_entries: list[dict[str, Any]]) -> list[str]:
    """The private reference sheets a job renders: one per grant in its claim (a cameo of this
    node has its sheet at a fixed private path; another node's was fetched for the grant)."""
    paths = []
    for entry in claim_entries:
        local = _cameo_ids(node, [entry])
        grant_id = entry.get("grant", {}).get("id") if isinstance(entry, dict) else None
        if local:
            paths.append(str(reference_path(node, local[0])))
        elif isinstance(grant_id, str):
            paths.append(str(cameo_federation.remote_reference_path(node, grant_id)))
    return paths


# ----- owner side: uses, revocation (answers and takedowns: node.services.cameo_decisions) ----


async def uses_of(owner: Account, cameo_id: int | None = None, *, state: str | None = None) -> list[CameoUse]:
    query = CameoUse.filter(cameo__account_id=owner.id)
    if cameo_id is not None:
        query = query.filter(cameo_id=cameo_id)
    if state is not None:
        query = query.filter(state=state)
    return await query.order_by("-id").prefetch_related("cameo", "creator")


async def job_status_ids(job_ids: list[int]) -> dict[int, tuple[str, int | None]]:
    """job id → (job state, id of the status that posted its video, if any)."""
    jobs = await GenerationJob.filter(id__in=job_ids).values("id", "state", "media_id")
    media_ids = [j["media_id"] for j in jobs if j["media_id"]]
    statuses = dict(await MediaAttachment.filter(id__in=media_ids).values_list("id", "status_id")) if media_ids else {}
    return {j["id"]: (j["state"], statuses.get(j["media_id"])) for j in jobs}


async def revoke(node: Node, owner: Account, cameo_id: int, account_id: int | None) -> int:
    """Revoke one person's grants (and their future uses), or everyone's (account_id None, policy
    falls back to only me). Revoked grants answer 410 at their id. Returns how many were revoked."""
    cameo = await own_cameo(owner, cameo_id)
    now = datetime.now(timezone.utc)
    query = CameoUse.filter(cameo_id=cameo.id, state__in=("granted", "pending"))
    async with in_transaction():
        if account_id is None:
            cameo.revoked_all_at, cameo.policy, cameo.allow = now, "only_me", []
        else:
            query = query.filter(creator_id=account_id)
            cameo.allow = [i for i in cameo.allow if i != str(account_id)]
            if str(account_id) not in cameo.deny:
                cameo.deny = [*cameo.deny, str(account_id)]
        await cameo.save()
        revoked = await query.exclude(creator_id=owner.id)
        count = await CameoUse.filter(id__in=[u.id for u in revoked]).update(state="revoked", revoked_at=now)
    await cameo_federation.grants_revoked(node, owner, revoked)
    return count


async def hosted_grant(use_id: int) -> tuple[int, datetime | None, dict[str, Any] | None]:
    """(HTTP status, when it ended, body) for a grant's id URL: 200 + the signed grant; 410 once
    revoked or its cameo deleted; 404 for a grant that never was."""
    use = await CameoUse.get_or_none(id=use_id)
    if use is None:
        tombstone = await CameoGrantTombstone.get_or_none(id=use_id)
        return (410, tombstone.created_at, None) if tombstone else (404, None, None)
    if use.grant is None:
        return 404, None, None
    if use.state == "revoked":
        return 410, use.revoked_at, None
    return 200, None, use.grant
