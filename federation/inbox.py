"""The inbox pipeline: verify → authorize → dedupe → store; the caller answers 202.

Processing happens later, from what was stored, so a POST is answered as soon
as we know the activity is authentic and new. Storage and key lookups are the
caller's (``InboxStore``, ``ResolveKey``, ``ResolveProofKey``, ``FetchObject``),
so this module needs no database and is tested with plain functions.

Every refusal raises ``InboxRefused`` *before* ``store`` is called, so a
refused request leaves nothing behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from provenance.proofs import ProofError, proof_verification_method, verify_proof

from .documents import id_of, origin, type_of
from .fetcher import FetchError, FetchFailed
from .jsonparse import JSONRefused, parse_json
from .signatures import ResolveKey, SignatureError, verify_request

# Activities whose object must come from the actor's own origin (or be proven to).
_OWN_OBJECT_TYPES = frozenset({"Create", "Update"})
# Activities that may only touch objects on the actor's own origin.
_SAME_ORIGIN_TARGET_TYPES = frozenset({"Delete"})


class InboxRefused(Exception):
    """The POST is refused with ``status`` (4xx); ``reason`` is safe to send back."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class InboxIgnored(Exception):
    """Authentic enough to acknowledge but nothing to do (e.g. Delete of an actor that is gone)."""


@dataclass(frozen=True)
class ReceivedActivity:
    """An authenticated activity, ready to be stored and processed."""

    activity_id: str
    actor: str
    type: str
    document: dict[str, Any]
    signer: str | None  # owner of the HTTP signature key
    scheme: str | None  # cavage | rfc9421
    proof_verified: bool


class InboxStore(Protocol):
    """Stores a received activity; returns False if its id was already stored."""

    def __call__(self, activity: ReceivedActivity) -> Awaitable[bool]: ...


class ResolveProofKey(Protocol):
    """Returns (controller actor id, Ed25519 Multikey) for a verification method id, or None."""

    def __call__(self, verification_method: str) -> Awaitable[tuple[str, str] | None]: ...


class FetchObject(Protocol):
    """Fetches an object from its own origin (signed); None when it cannot be had."""

    def __call__(self, object_id: str) -> Awaitable[dict[str, Any] | None]: ...


def parse_body(body: bytes) -> dict[str, Any]:
    try:
        document = parse_json(body)
    except JSONRefused as exc:
        raise InboxRefused(400, exc.reason) from exc
    if not isinstance(document, dict):
        raise InboxRefused(400, "body is not a JSON object")
    return document


async def _proof_by(document: dict[str, Any], expected_controller: str, resolve_proof_key: ResolveProofKey) -> bool:
    """True if the document carries a valid FEP-8b32 proof made with a key of ``expected_controller``."""
    method = proof_verification_method(document)
    if method is None or origin(method) != origin(expected_controller):
        return False
    try:
        resolved = await resolve_proof_key(method)
    except FetchError:
        return False
    if resolved is None:
        return False
    controller, key = resolved
    if controller != expected_controller:
        return False
    try:
        verify_proof(document, key)
    except ProofError:
        return False
    return True


def _object_on_actor_origin(document: dict[str, Any], actor_origin: str, kind: str) -> bool:
    """True when the object needs no one else to vouch for it (the usual case, checked without a
    coroutine); refuses what can be refused on sight. Otherwise ``_check_object_origin`` decides."""
    obj = document.get("object")
    object_id = id_of(obj)
    if kind in _SAME_ORIGIN_TARGET_TYPES:
        if object_id is None:
            raise InboxRefused(400, f"{kind} without an object")
        if origin(object_id) != actor_origin:
            raise InboxRefused(403, "object id is on a foreign host")
        return True
    if kind not in _OWN_OBJECT_TYPES or not isinstance(obj, dict):
        return True
    if not isinstance(obj.get("id"), str):
        raise InboxRefused(400, f"{kind} of an object without an id")
    return origin(object_id) == actor_origin


async def _check_object_origin(document: dict[str, Any], resolve_proof_key: ResolveProofKey,
                               fetch_object: FetchObject) -> dict[str, Any]:
    """An embedded object from a foreign origin (see ``_object_on_actor_origin``) is kept only if it
    carries a valid proof by its author on that origin, or if the origin serves it; in the latter case
    the origin's copy replaces the embedded one. Returns the document to store."""
    obj = document["object"]
    object_id = obj["id"]
    author = id_of(obj.get("attributedTo")) or object_id
    if origin(author) == origin(object_id) and await _proof_by(obj, author, resolve_proof_key):
        return document
    fetched = await fetch_object(object_id)
    if fetched is None or fetched.get("id") != object_id or type_of(fetched) != type_of(obj):
        raise InboxRefused(403, "object id is on a foreign host and its origin does not confirm it")
    fetched_author = id_of(fetched.get("attributedTo")) or object_id
    if origin(fetched_author) != origin(object_id):
        raise InboxRefused(403, "object id is on a foreign host and its origin does not confirm it")
    return {**document, "object": fetched}


async def receive(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    resolve_key: ResolveKey,
    resolve_proof_key: ResolveProofKey,
    fetch_object: FetchObject,
    store: InboxStore,
    handled_types: frozenset[str],
    max_skew: float = 300,
    now: float | None = None,
) -> ReceivedActivity | None:
    """Authenticate one inbox POST and store it; None when its type is not one we handle.

    Raises ``InboxRefused`` (401 unsigned/bad signature/stale, 401 key owner is
    not the actor, 403 foreign object, 409 already received, 400 malformed) or
    ``InboxIgnored``.
    """
    document = parse_body(body)
    kind = type_of(document)
    actor = id_of(document.get("actor"))
    if not kind or not actor:
        # Unsigned junk gets the answer unsigned requests get, so probing learns nothing.
        if not any(name.lower() in ("signature", "signature-input") for name in headers):
            raise InboxRefused(401, "request is not signed")
        raise InboxRefused(400, "activity needs a type and an actor")
    try:
        verified = await verify_request(method, url, headers, body, resolve_key, max_skew=max_skew, now=now)
    except SignatureError as exc:
        raise InboxRefused(401, exc.reason) from exc
    except FetchError as exc:
        gone = isinstance(exc, FetchFailed) and exc.status == 410
        if gone and kind == "Delete" and id_of(document.get("object")) == actor:
            raise InboxIgnored("actor deleted itself and its key is gone") from exc
        raise InboxRefused(401, f"cannot fetch the signing key: {exc.reason}") from exc

    actor_origin = origin(actor)
    proof_verified = False
    if verified.owner != actor:
        proof_verified = await _proof_by(document, actor, resolve_proof_key)
        if not proof_verified:
            raise InboxRefused(401, "signing key does not belong to the activity's actor")

    activity_id = document.get("id")
    if activity_id is not None and not isinstance(activity_id, str):
        raise InboxRefused(400, "activity id must be a string")
    if activity_id is None:
        # Transient activities have no id; the body itself identifies a replay.
        activity_id = "urn:sha256:" + hashlib.sha256(body).hexdigest()
    elif origin(activity_id) != actor_origin and not proof_verified:
        raise InboxRefused(403, "activity id is on a foreign host")

    if kind not in handled_types:
        return None
    if not _object_on_actor_origin(document, actor_origin, kind):
        document = await _check_object_origin(document, resolve_proof_key, fetch_object)
    received = ReceivedActivity(activity_id=activity_id, actor=actor, type=kind, document=document,
                                signer=verified.owner, scheme=verified.scheme, proof_verified=proof_verified)
    if not await store(received):
        raise InboxRefused(409, "activity already received")
    return received
