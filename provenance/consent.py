"""Cameo consent: the `Cameo`, the `CameoRequest` and the signed `CameoAuthorization` grant.

Modelled on FEP-044f quote authorizations (GoToSocial's interaction controls): a person's node
hosts a `Cameo` (their verified likeness, signed by their key) and answers each use with a
`CameoAuthorization` stamp bound to one post and one renderer, signed with an FEP-8b32
eddsa-jcs-2022 proof by the owner's key. The stamp travels on the Note (`cameoGrant`) and, in
full, inside the video's C2PA claim together with a snapshot of the owner's key, so any node (or
`vitascope verify` offline) can check it. Everything here is pure: keys come from a resolver the
caller passes in; fetching, caching and revocation (liveness) belong to the node.

JSON keys are the ActivityStreams / GoToSocial terms plus ours (`federation.vocab` defines them
in the @context); the @context itself is passed in by the caller, so the layer that owns the
vocabulary decides it and the proof covers it.
"""
from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from provenance.digests import digest_multibase, parse_digest_multibase
from provenance.keys import parse_ed25519_multikey
from provenance.proofs import ProofError, create_proof, proof_verification_method, verify_proof

CAMEO = "Cameo"
CAMEO_REQUEST = "CameoRequest"
CAMEO_AUTHORIZATION = "CameoAuthorization"
KINDS = ("person", "character")
MAX_NAME = 100
MAX_URL = 2048
# How long a verified grant may be trusted before the node re-dereferences it (404/410 = revoked).
DEFAULT_LIVENESS_TTL = timedelta(minutes=10)
# Clock skew tolerated between the owner's node and a verifier.
CLOCK_SKEW = timedelta(minutes=5)
_HANDLE = re.compile(r"[A-Za-z0-9_]{1,30}")


class ConsentError(ValueError):
    """A consent document is malformed; the message names the field and what is wrong."""


# ----- strict field readers ---------------------------------------------------------------


def host_of(url: str) -> str:
    """Lowercased `host[:port]` of an http(s) URL, '' if it is not one (ports make nodes differ)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return parts.netloc.lower() if parts.scheme in ("http", "https") else ""


def _url(doc: dict, name: str, *, required: bool = True) -> str | None:
    value = doc.get(name)
    if isinstance(value, dict):  # an embedded object stands for its id
        value = value.get("id")
    if value is None and not required:
        return None
    if not isinstance(value, str) or len(value) > MAX_URL or not host_of(value):
        raise ConsentError(f"{name} must be an http(s) URL, got {value!r}"[:300])
    return value


AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
_PUBLIC_ALIASES = ("as:Public", "Public")


def _urls(doc: dict, name: str) -> tuple[str, ...]:
    """A list of IRIs; a single value stands for a list of one, and Public keeps its compact spellings."""
    value = doc.get(name, [])
    items = value if isinstance(value, list) else [value]
    return tuple(AS_PUBLIC if item in _PUBLIC_ALIASES else _url({name: item}, name) for item in items)


def _text(doc: dict, name: str, limit: int, *, required: bool = True) -> str | None:
    value = doc.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ConsentError(f"{name} must be a non-empty string of at most {limit} characters")
    return value


def _time(doc: dict, name: str, *, required: bool = True) -> datetime | None:
    value = doc.get(name)
    if value is None and not required:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ConsentError(f"{name} must be an xsd:dateTime with a time zone, got {value!r}"[:300])
    return moment.astimezone(timezone.utc)


def _digest(doc: dict, name: str, *, required: bool = True) -> str | None:
    value = doc.get(name)
    if value is None and not required:
        return None
    try:
        parse_digest_multibase(value)
    except (ValueError, TypeError) as exc:
        raise ConsentError(f"{name} must be a sha2-256 digestMultibase: {exc}") from exc
    return value


def _expect_type(doc: Any, kind: str) -> dict:
    if not isinstance(doc, dict):
        raise ConsentError(f"a {kind} must be a JSON object")
    if doc.get("type") != kind:
        raise ConsentError(f"type must be {kind!r}, got {doc.get('type')!r}"[:300])
    return doc


def _stamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("consent timestamps must be timezone-aware")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _with_context(body: dict, context: Any) -> dict:
    return body if context is None else {"@context": copy.deepcopy(context), **body}


def restrictions_digest(text: str) -> str:
    """digestMultibase of the owner's restrictions (UTF-8), which a grant commits to."""
    return digest_multibase(hashlib.sha256(text.encode("utf-8")).digest())


# ----- documents --------------------------------------------------------------------------


@dataclass(frozen=True)
class CameoPolicy:
    """`interactionPolicy.canCameo`: who is approved automatically, who may ask (advisory, as in
    FEP-044f; the owner's node decides). Entries are actor ids, followers collections or Public."""

    automatic_approval: tuple[str, ...] = ()
    manual_approval: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"canCameo": {"automaticApproval": list(self.automatic_approval),
                             "manualApproval": list(self.manual_approval)}}

    @classmethod
    def from_json(cls, doc: Any) -> CameoPolicy:
        if doc is None:
            return cls()
        can = doc.get("canCameo") if isinstance(doc, dict) else None
        if can is None:
            return cls()
        if not isinstance(can, dict):
            raise ConsentError("interactionPolicy.canCameo must be an object")
        return cls(_urls(can, "automaticApproval"), _urls(can, "manualApproval"))


@dataclass(frozen=True)
class Cameo:
    """A verified likeness hosted by its owner's node. The reference pack stays there; only its
    digest (`likenessDigest`) is published so a renderer can check what it is handed."""

    id: str
    owner: str
    kind: str
    name: str
    handle: str
    likeness_digest: str
    policy: CameoPolicy = field(default_factory=CameoPolicy)
    published: datetime | None = None

    def __post_init__(self) -> None:
        _check_same_host(self.id, self.owner, "the cameo")
        if self.kind not in KINDS:
            raise ConsentError(f"cameoKind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not _HANDLE.fullmatch(self.handle):
            raise ConsentError("preferredUsername (the cameo's handle) must be 1-30 letters, digits or _")
        _digest({"likenessDigest": self.likeness_digest}, "likenessDigest")

    def to_json(self, context: Any = None) -> dict:
        body: dict[str, Any] = {
            "id": self.id,
            "type": CAMEO,
            "attributedTo": self.owner,
            "cameoKind": self.kind,
            "name": self.name,
            "preferredUsername": self.handle,
            "likenessDigest": self.likeness_digest,
            "interactionPolicy": self.policy.to_json(),
        }
        if self.published is not None:
            body["published"] = _stamp(self.published)
        return _with_context(body, context)

    @classmethod
    def from_json(cls, doc: Any) -> Cameo:
        doc = _expect_type(doc, CAMEO)
        return cls(
            id=_url(doc, "id"),
            owner=_url(doc, "attributedTo"),
            kind=_text(doc, "cameoKind", 20),
            name=_text(doc, "name", MAX_NAME),
            handle=_text(doc, "preferredUsername", 30),
            likeness_digest=_digest(doc, "likenessDigest"),
            policy=CameoPolicy.from_json(doc.get("interactionPolicy")),
            published=_time(doc, "published", required=False),
        )


@dataclass(frozen=True)
class CameoRequest:
    """The renderer's ask, sent to the owner's inbox before rendering, once per cameo per use.
    `instrument` is the post id minted up front for the draft: the grant will be bound to it."""

    id: str
    actor: str
    cameo: str
    owner: str
    instrument: str
    prompt: str | None = None

    def __post_init__(self) -> None:
        _check_same_host(self.id, self.actor, "the request")
        _check_same_host(self.instrument, self.actor, "the post the request is for")
        _check_same_host(self.cameo, self.owner, "the cameo")

    def to_json(self, context: Any = None) -> dict:
        body: dict[str, Any] = {"id": self.id, "type": CAMEO_REQUEST, "actor": self.actor, "object": self.cameo,
                                "instrument": self.instrument, "to": [self.owner]}
        if self.prompt is not None:
            body["content"] = self.prompt
        return _with_context(body, context)

    @classmethod
    def from_json(cls, doc: Any) -> CameoRequest:
        doc = _expect_type(doc, CAMEO_REQUEST)
        to = _urls(doc, "to")
        if len(to) != 1:
            raise ConsentError("to must name exactly the cameo's owner")
        return cls(id=_url(doc, "id"), actor=_url(doc, "actor"), cameo=_url(doc, "object"), owner=to[0],
                   instrument=_url(doc, "instrument"), prompt=_text(doc, "content", 5000, required=False))


@dataclass(frozen=True)
class CameoAuthorization:
    """The grant (stamp): `owner` lets `renderer` show cameo `target` in the one post `post`.

    Hosted on the owner's node at `id` (dereferenceable; 404/410 once revoked), signed by the
    owner's key. `likeness_digest` pins the reference pack the renderer may fetch;
    `restrictions_digest` the restrictions in force when it was granted.
    """

    id: str
    owner: str
    target: str
    post: str
    renderer: str
    published: datetime
    expires: datetime | None = None
    likeness_digest: str | None = None
    restrictions_digest: str | None = None

    def __post_init__(self) -> None:
        _check_same_host(self.post, self.renderer, "the post the grant is bound to")
        if self.published.tzinfo is None or (self.expires is not None and self.expires.tzinfo is None):
            raise ValueError("grant timestamps must be timezone-aware")

    def to_json(self, context: Any = None) -> dict:
        body: dict[str, Any] = {
            "id": self.id,
            "type": CAMEO_AUTHORIZATION,
            "attributedTo": self.owner,
            "interactionTarget": self.target,
            "interactingObject": self.post,
            "instrument": self.renderer,
            "published": _stamp(self.published),
        }
        if self.expires is not None:
            body["endTime"] = _stamp(self.expires)
        if self.likeness_digest is not None:
            body["likenessDigest"] = self.likeness_digest
        if self.restrictions_digest is not None:
            body["restrictionsDigest"] = self.restrictions_digest
        return _with_context(body, context)

    @classmethod
    def from_json(cls, doc: Any) -> CameoAuthorization:
        doc = _expect_type(doc, CAMEO_AUTHORIZATION)
        return cls(
            id=_url(doc, "id"),
            owner=_url(doc, "attributedTo"),
            target=_url(doc, "interactionTarget"),
            post=_url(doc, "interactingObject"),
            renderer=_url(doc, "instrument"),
            published=_time(doc, "published"),
            expires=_time(doc, "endTime", required=False),
            likeness_digest=_digest(doc, "likenessDigest", required=False),
            restrictions_digest=_digest(doc, "restrictionsDigest", required=False),
        )

    def expired(self, now: datetime) -> bool:
        return self.expires is not None and now >= self.expires


def _check_same_host(url: str, actor: str, what: str) -> None:
    for name, value in (("id", url), ("actor", actor)):
        if not isinstance(value, str) or not host_of(value):
            raise ConsentError(f"{what}: {name} must be an http(s) URL, got {value!r}"[:300])
    if host_of(url) != host_of(actor):
        raise ConsentError(f"{what} ({url}) is not on the host of {actor}"[:300])


def sign(document: dict, private_pem: str, verification_method: str, created: datetime | None = None) -> dict:
    """A copy of a consent document with the owner's FEP-8b32 proof (eddsa-jcs-2022)."""
    return create_proof(document, private_pem, verification_method, created)


# ----- verification -----------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedKey:
    """An Ed25519 key as published by its actor: `controller` is the actor that lists it in
    `assertionMethod`. Resolvers return this or None (unknown key)."""

    id: str
    controller: str
    multikey: str

    def public_key(self) -> Ed25519PublicKey:
        return _parsed_multikey(self.multikey)

    def to_json(self) -> dict:
        return {"id": self.id, "type": "Multikey", "controller": self.controller,
                "publicKeyMultibase": self.multikey}

    @classmethod
    def from_json(cls, doc: Any) -> ResolvedKey:
        if not isinstance(doc, dict):
            raise ConsentError("a key snapshot must be a Multikey object")
        multikey = doc.get("publicKeyMultibase")
        try:
            _parsed_multikey(multikey)
        except (ValueError, TypeError) as exc:
            raise ConsentError(f"publicKeyMultibase is not an Ed25519 Multikey: {exc}") from exc
        return cls(id=_url(doc, "id"), controller=_url(doc, "controller"), multikey=multikey)


_KEY_CACHE: dict[str, Ed25519PublicKey] = {}


def _parsed_multikey(multikey: str) -> Ed25519PublicKey:
    """Parsing a Multikey (base58) costs more than the verify; owners' keys are few and stable."""
    key = _KEY_CACHE.get(multikey)
    if key is None:
        key = parse_ed25519_multikey(multikey)
        if len(_KEY_CACHE) > 4096:
            _KEY_CACHE.clear()
        _KEY_CACHE[multikey] = key
    return key


KeyResolver = Callable[[str], "ResolvedKey | None"]

# Machine-readable reasons a grant is refused.
MALFORMED = "malformed"                  # not a strict CameoAuthorization
HOST_MISMATCH = "host_mismatch"          # the grant is not hosted by its owner's node
UNKNOWN_KEY = "unknown_key"              # the proof's key could not be resolved
WRONG_KEY = "wrong_key"                  # signed by a key that is not the owner's
BAD_PROOF = "bad_proof"                  # no proof, or it does not verify: forged or altered
OTHER_POST = "other_post"                # bound to another post
OTHER_RENDERER = "other_renderer"        # granted to another account than the post's author
OTHER_CAMEO = "other_cameo"              # targets another cameo than the one claimed
CAMEO_OF_OTHER_OWNER = "cameo_of_other_owner"  # the target cameo is not the signer's
COPIES_DIFFER = "copies_differ"          # the Note's copy and the manifest's copy are not the same grant
NOT_IN_MANIFEST = "not_in_manifest"      # the Note names a grant the manifest does not carry
NOT_ON_NOTE = "not_on_note"              # the manifest carries a grant the Note does not name
EXPIRED = "expired"
NOT_YET_VALID = "not_yet_valid"


@dataclass(frozen=True)
class Problem:
    code: str
    detail: str


@dataclass(frozen=True)
class GrantVerdict:
    """Outcome of verifying one grant; `problems` holds every failed check, `reason` the first.

    A valid proof does not show the grant is still in force: the node re-dereferences
    `grant_id` by `recheck_by` (404/410/Tombstone = revoked) and applies a received Delete at once.
    """

    grant_id: str | None
    problems: tuple[Problem, ...]
    grant: CameoAuthorization | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def reason(self) -> str | None:
        return self.problems[0].code if self.problems else None

    @property
    def codes(self) -> list[str]:
        return [p.code for p in self.problems]

    def describe(self) -> str:
        return "; ".join(f"{p.code}: {p.detail}" for p in self.problems) or "valid"

    def recheck_by(self, checked_at: datetime, ttl: timedelta = DEFAULT_LIVENESS_TTL) -> datetime:
        """When the grant must be dereferenced again (never later than its expiry)."""
        due = checked_at + ttl
        if self.grant is not None and self.grant.expires is not None:
            due = min(due, self.grant.expires)
        return due


def _same_json(a: Any, b: Any) -> bool:
    """Whether two JSON values are the same document, whatever their key order. Stricter than
    comparing JCS forms (1 and 1.0 differ here), which is safe for copies of one signed grant,
    and a third of the cost."""
    try:
        return json.dumps(a, sort_keys=True, ensure_ascii=False) == json.dumps(b, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError):
        return False


def verify_grant(
    grant_json: Any,
    resolve_key: KeyResolver,
    *,
    post_id: str | None,
    cameo_id: str | None = None,
    manifest_copy: Any = None,
    author: str | None = None,
    cameo: Any = None,
    now: datetime | None = None,
) -> GrantVerdict:
    """Check one grant the way every ingesting node must; never raises on bad input.

    - `grant_json`: the grant as the Note carries it (dereferenced from its `cameoGrant` IRI);
    - `resolve_key(key_id)`: the owner's key from the caller's (warm) cache, or None;
    - `post_id`: the Note the grant must be bound to (None only offline, where the post is
      unknown: then the post must merely sit on the renderer's host);
    - `cameo_id`: the cameo the Note claims to show, if it names one;
    - `manifest_copy`: the grant as the C2PA claim carries it (None skips the comparison, e.g.
      when reading a manifest alone);
    - `author`: the Note's `attributedTo`, which must be the renderer the grant names;
    - `cameo`: the target `Cameo` document, when the caller has it, to check its owner and
      likeness digest against the grant.
    """
    now = now or datetime.now(timezone.utc)
    problems: list[Problem] = []
    grant_id = grant_json.get("id") if isinstance(grant_json, dict) and isinstance(grant_json.get("id"), str) else None
    try:
        grant = CameoAuthorization.from_json(grant_json)
    except ConsentError as exc:
        return GrantVerdict(grant_id, (Problem(MALFORMED, str(exc)),))

    owner_host = host_of(grant.owner)
    if host_of(grant.id) != owner_host:
        problems.append(Problem(HOST_MISMATCH, f"the grant {grant.id} is not hosted by its owner's node {owner_host}"))
    if host_of(grant.target) != owner_host:
        problems.append(Problem(CAMEO_OF_OTHER_OWNER, f"the cameo {grant.target} is not on the owner's node"))
    problems.extend(_proof_problems(grant_json, grant, resolve_key))

    if post_id is not None and grant.post != post_id:
        problems.append(Problem(OTHER_POST, f"the grant is bound to {grant.post}, not to {post_id}"))
    if author is not None and grant.renderer != author:
        problems.append(Problem(OTHER_RENDERER, f"the grant is for {grant.renderer}, the post is by {author}"))
    if cameo_id is not None and grant.target != cameo_id:
        problems.append(Problem(OTHER_CAMEO, f"the grant targets {grant.target}, not {cameo_id}"))
    if cameo is not None:
        problems.extend(_cameo_problems(cameo, grant, resolve_key))
    if manifest_copy is not None and not _same_json(manifest_copy, grant_json):
        problems.append(Problem(COPIES_DIFFER, "the Note's grant and the C2PA manifest's grant differ"))
    if grant.expired(now):
        problems.append(Problem(EXPIRED, f"the grant expired at {_stamp(grant.expires)}"))
    if grant.published > now + CLOCK_SKEW:
        problems.append(Problem(NOT_YET_VALID, f"the grant is dated in the future ({_stamp(grant.published)})"))
    return GrantVerdict(grant.id, tuple(problems), grant)


def _proof_problems(document: dict, signer_doc: CameoAuthorization | Cameo, resolve_key: KeyResolver) -> list[Problem]:
    """The document's proof must verify with a key its `attributedTo` controls, on its host."""
    owner = signer_doc.owner
    key_id = proof_verification_method(document)
    if key_id is None:
        return [Problem(BAD_PROOF, "no FEP-8b32 proof (or no verificationMethod)")]
    if host_of(key_id) != host_of(owner):
        return [Problem(WRONG_KEY, f"signed with {key_id}, a key not on the owner's node")]
    try:
        key = resolve_key(key_id)
    except Exception as exc:  # a resolver error is a key we could not get, not a crash of the check
        return [Problem(UNKNOWN_KEY, f"resolving {key_id} failed: {type(exc).__name__}")]
    if key is None:
        return [Problem(UNKNOWN_KEY, f"the key {key_id} could not be resolved")]
    if key.id != key_id or key.controller != owner:
        return [Problem(WRONG_KEY, f"the key {key_id} belongs to {key.controller}, not to {owner}")]
    try:
        verify_proof(document, key.public_key())
    except (ProofError, ValueError) as exc:
        return [Problem(BAD_PROOF, str(exc))]
    return []


def _cameo_problems(cameo_json: Any, grant: CameoAuthorization, resolve_key: KeyResolver) -> list[Problem]:
    try:
        cameo = Cameo.from_json(cameo_json)
    except ConsentError as exc:
        return [Problem(MALFORMED, f"the cameo document: {exc}")]
    problems = []
    if cameo.id != grant.target:
        problems.append(Problem(OTHER_CAMEO, f"the cameo document is {cameo.id}, the grant targets {grant.target}"))
    if cameo.owner != grant.owner:
        problems.append(Problem(CAMEO_OF_OTHER_OWNER, f"the cameo belongs to {cameo.owner}, not to {grant.owner}"))
    else:
        problems.extend(Problem(p.code, f"the cameo document: {p.detail}")
                        for p in _proof_problems(cameo_json, cameo, resolve_key))
    if grant.likeness_digest is not None and grant.likeness_digest != cameo.likeness_digest:
        problems.append(Problem(OTHER_CAMEO, "the grant pins another likeness than the cameo publishes"))
    return problems


def verify_video_grants(
    note_grants: Iterable[Any],
    manifest_grants: Iterable[Any],
    resolve_key: KeyResolver,
    *,
    post_id: str,
    author: str,
    now: datetime | None = None,
) -> list[GrantVerdict]:
    """Every grant of one ingested video: each Note grant against its manifest copy (matched by
    id), plus a refusal for a grant present on only one side. All must be ok to accept the video."""
    by_id: dict[str, Any] = {}
    verdicts: list[GrantVerdict] = []
    for entry in manifest_grants:
        gid = entry.get("id") if isinstance(entry, dict) else None
        if isinstance(gid, str):
            by_id.setdefault(gid, entry)
        else:
            verdicts.append(GrantVerdict(None, (Problem(MALFORMED, "a manifest grant has no id"),)))
    seen: set[str] = set()
    for grant_json in note_grants:
        gid = grant_json.get("id") if isinstance(grant_json, dict) else None
        copy_ = by_id.get(gid) if isinstance(gid, str) else None
        if isinstance(gid, str):
            seen.add(gid)
        if copy_ is None:
            verdicts.append(GrantVerdict(gid if isinstance(gid, str) else None,
                                         (Problem(NOT_IN_MANIFEST, "the C2PA manifest does not carry this grant"),)))
            continue
        verdicts.append(verify_grant(grant_json, resolve_key, post_id=post_id, author=author,
                                     manifest_copy=copy_, now=now))
    verdicts.extend(GrantVerdict(gid, (Problem(NOT_ON_NOTE, "the Note does not name this grant"),))
                    for gid in by_id if gid not in seen)
    return verdicts


# ----- C2PA claim entries -----------------------------------------------------------------


def claim_entry(grant_json: dict, owner_key: ResolvedKey) -> dict:
    """What `VitascopeClaim.cameo_grants` holds per cameo: the full signed grant and a snapshot
    of the owner's key, so the video can be checked offline years later."""
    return {"grant": copy.deepcopy(grant_json), "ownerKey": owner_key.to_json()}


@dataclass(frozen=True)
class ClaimGrant:
    """One `cameo_grants` entry read back from a manifest, checked against its key snapshot."""

    grant: Any
    owner_key: ResolvedKey | None
    verdict: GrantVerdict
    offline: bool  # checked against the snapshot key only


def read_claim_grants(entries: Any, *, renderer_host: str | None, resolve_key: KeyResolver | None = None,
                      now: datetime | None = None) -> list[ClaimGrant]:
    """Parse and verify a claim's `cameo_grants`: proof, hosts, expiry; the post must sit on the
    renderer's node (`renderer_host`, the claim's `node`). Binding to a particular Note needs the
    Note: that is `verify_grant`'s job.

    The key snapshot is the renderer's say-so: checking against it shows the grant is intact
    and self-consistent, not that the key is the owner's. Pass `resolve_key` (the owner's
    published keys) to decide that; without it the check is offline and says so (`offline`)."""
    if not isinstance(entries, list):
        entries = [entries]
    out = []
    for entry in entries:
        grant = entry.get("grant") if isinstance(entry, dict) else None
        try:
            key = ResolvedKey.from_json(entry.get("ownerKey") if isinstance(entry, dict) else None)
        except ConsentError:
            key = None
        resolver = resolve_key if resolve_key is not None else (lambda key_id, k=key: k)
        verdict = verify_grant(grant, resolver, post_id=None, now=now)
        if verdict.grant is not None and renderer_host is not None and host_of(verdict.grant.post) != renderer_host:
            verdict = GrantVerdict(verdict.grant_id, verdict.problems + (
                Problem(OTHER_POST, f"the grant is bound to {verdict.grant.post}, not to a post of {renderer_host}"),),
                verdict.grant)
        out.append(ClaimGrant(grant, key, verdict, offline=resolve_key is None))
    return out
