"""C2PA signing and verification of generated videos. The only module that imports c2pa-python.

Every video a node generates is signed with the node's leaf certificate
(`provenance.certificates.NodeIdentity`): an action `c2pa.created` with digitalSourceType
trainedAlgorithmicMedia, plus our own assertion `org.vitascope.generation` saying which
model, node and job made it. A remix additionally carries its parent as a `parentOf`
ingredient (`c2pa.opened` + `c2pa.edited`), so the whole ancestry travels inside the file.

Verification is c2pa-rs's, with two additions this project needs:

* Ingredient results are read, not trusted blindly. c2pa-rs copies each parent's
  validation results into the child at signing time and reports only *changes* when the
  child is read, so a parent that was already broken when it was remixed still reads
  "Trusted". We collect every failure in the store, from this reading ("current", made
  with our anchors) and from the results each remixer stored ("stored", made with the
  remixer's anchors), and attribute each to the manifest its URL names. Any failure other
  than the two trust codes below makes that manifest, and so the video, invalid.

* Trust of a manifest whose only failures are `signingCredential.untrusted` /
  `signingCredential.expired` is decided from its own certificate chain. This matters
  for expiry: no time-stamp authority is reachable, so c2pa-rs checks certificates
  against the current time and, once a leaf expires, every video it signed reports those
  codes. Leaves are short-lived and rotate, so that would break every older video. Such a
  manifest is accepted only when we can show, ourselves, that:
    1. c2pa-rs validated the claim signature and every hash (no other failure anywhere);
    2. the x5chain in the manifest leads, signature by signature, through CA
       certificates to a trust anchor this verifier holds, and the leaf fits the C2PA
       signer profile (`certificates.anchor_chain`);
    3. the whole chain was valid together at some time and that span has ended, so time
       is the only reason for the refusal. A chain that is valid today but refused by
       c2pa-rs in this reading stays refused: c2pa-rs knows something we do not model.
       (If only a remixer's stored results flag it, our anchors decide.)
    4. if the caller knows when the file was first seen (`first_seen`), that moment lies
       within the active manifest's chain validity, which bounds when it was signed
       (ancestors were signed earlier still, and verified by the node that remixed them).
  Without (4) the remaining risk is a leaf key used after its certificate expired. That
  key is destroyed when the leaf is rotated (certificates.py) and c2pa-rs refuses to sign
  with an expired certificate, so it takes a stolen key; the same theft before expiry
  would be just as damaging, so the rule adds no new exposure. Nodes that record when
  they received a video should pass `first_seen` to close the gap entirely.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

import c2pa

from provenance.certificates import ChainError, NodeIdentity, anchor_chain
from provenance.consent import read_claim_grants
from provenance.digests import digest_multibase, sha256_file
from provenance.manifest_store import ManifestStoreError, manifest_labels, read_signer_chains

CLAIM_LABEL = "org.vitascope.generation"
MIME_TYPE = "video/mp4"
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
AI_SOURCE_TYPES = frozenset({
    TRAINED_ALGORITHMIC_MEDIA,
    "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia",
})
# The only failures the expired-certificate rule may excuse.
TRUST_CODES = frozenset({"signingCredential.untrusted", "signingCredential.expired"})
MAX_ANCESTRY = 64
_PARENT_INGREDIENT_ID = "vitascope-parent"
_MANIFEST_IN_URL = re.compile(r"self#jumbf=/c2pa/([^/]+)")
_STATE_RANK = {"trusted": 0, "untrusted": 1, "invalid": 2}


class SigningError(Exception):
    """c2pa-rs refused to sign (bad certificate, unsupported file, …)."""


class UnverifiedParent(Exception):
    """A remix was requested from a parent video that does not verify."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(f"parent video does not verify: {verdict.reason}")
        self.verdict = verdict


@dataclass
class VitascopeClaim:
    """What a node asserts about a generation, stored as the `org.vitascope.generation` assertion."""

    model_name: str
    model_version: str
    weights_digest: str | None
    test_model: bool
    node: str
    job_id: str
    prompt_digest: str
    prompt: str | None = None
    # One `provenance.consent.claim_entry` per cameo shown: the full signed grant + owner key snapshot.
    cameo_grants: list[dict] = field(default_factory=list)


def prompt_digest(prompt: str) -> str:
    """digestMultibase of the UTF-8 prompt, so a claim can commit to a prompt it keeps private."""
    return digest_multibase(hashlib.sha256(prompt.encode("utf-8")).digest())


@dataclass(frozen=True)
class SignResult:
    manifest_id: str
    sha256: bytes


@dataclass
class Verdict:
    """Outcome of verifying a video. `ok`: trusted, nothing failed, and declared AI-generated.

    `chain` lists the remix ancestry, parent first; each entry has depth, manifest_id,
    title, signer, claim (our assertion), state, failures and ai_generated. `notes` say
    which failure codes were accepted and why (expired certificates, see module docs).
    `cameos` lists the cameo grants of this video (`cameo_summary`), checked offline against
    the key snapshots in the claim; any invalid one makes the verdict not ok.
    """

    ok: bool
    state: str  # 'trusted' | 'untrusted' | 'invalid' | 'missing'
    reason: str | None
    failures: list[str]
    ai_generated: bool
    signer: str | None
    manifest_id: str | None
    claim: dict | None
    chain: list[dict]
    notes: list[str] = field(default_factory=list)
    cameos: list[dict] = field(default_factory=list)


def cameo_summary(entries: Any, renderer_host: str | None) -> list[dict]:
    """Each cameo grant of a claim, as `vitascope verify` and the API report it."""
    summary = []
    for item in read_claim_grants(entries, renderer_host=renderer_host):
        grant = item.verdict.grant
        summary.append({
            "grant": item.verdict.grant_id,
            "owner": grant.owner if grant else None,
            "cameo": grant.target if grant else None,
            "post": grant.post if grant else None,
            "renderer": grant.renderer if grant else None,
            "expires": grant.expires.isoformat() if grant and grant.expires else None,
            "valid": item.verdict.ok,
            "problems": item.verdict.codes,
            "detail": item.verdict.describe(),
            "key": item.owner_key.id if item.owner_key else None,
        })
    return summary


# ----- signing ------------------------------------------------------------------------


def _context(trust_anchors: list[str] | tuple[str, ...]) -> c2pa.Context:
    """Settings shared by Builder and Reader: our anchors, and no network access at all."""
    settings: dict[str, Any] = {"verify": {"ocsp_fetch": False, "remote_manifest_fetch": False}}
    pems = "".join(pem if pem.endswith("\n") else pem + "\n" for pem in trust_anchors)
    if pems:
        settings["trust"] = {"trust_anchors": pems}
    return c2pa.Context.from_dict(settings)


def _manifest_definition(claim: VitascopeClaim, *, remix: bool) -> dict:
    agent = {"name": claim.model_name, "version": claim.model_version}
    if remix:
        actions = [
            {"action": "c2pa.opened", "parameters": {"ingredientIds": [_PARENT_INGREDIENT_ID]}},
            {"action": "c2pa.edited", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA, "softwareAgent": agent},
        ]
    else:
        actions = [{"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA, "softwareAgent": agent}]
    return {
        "claim_generator_info": [{"name": "Vitascope"}],
        "title": f"{claim.job_id}.mp4",
        "format": MIME_TYPE,
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": actions}},
            {"label": CLAIM_LABEL, "data": asdict(claim)},
        ],
    }


def sign_video(
    src: Path,
    dst: Path,
    identity: NodeIdentity,
    claim: VitascopeClaim,
    *,
    parent: Path | None = None,
    parent_trust_anchors: list[str] | tuple[str, ...] = (),
) -> SignResult:
    """Sign `src` into `dst` (atomically) as an AI generation, or as a remix of `parent`.

    The parent is verified first against `parent_trust_anchors` plus the node's own CAs
    and refused with UnverifiedParent unless it is fully trusted and AI-generated: c2pa-rs
    itself would embed a broken parent and still call the child Trusted.
    """
    src, dst = Path(src), Path(dst)
    bad = [c for c in cameo_summary(claim.cameo_grants, claim.node) if not c["valid"]]
    if bad:
        raise SigningError(f"cameo grant {bad[0]['grant']} does not verify: {bad[0]['detail']}")
    # The node always trusts its own CAs (remixing its own videos), and the parent check and
    # the Builder's own ingredient validation use exactly the same anchors.
    anchors = list(dict.fromkeys([*parent_trust_anchors, *identity.published_ca_pems]))
    algorithm = getattr(c2pa.C2paSigningAlg, identity.signing_algorithm.upper())
    info = c2pa.C2paSignerInfo(
        algorithm, identity.signing_chain_pem.encode("ascii"), identity.signing_key_pem.encode("ascii"), None
    )
    with ExitStack() as stack:
        parent_file = None
        if parent is not None:
            # One open file for checking and embedding, so what we verified is what we embed.
            parent_file = stack.enter_context(open(parent, "rb"))
            verdict = _verify_file(parent_file, anchors, first_seen=None)
            if not verdict.ok:
                raise UnverifiedParent(verdict)
            parent_file.seek(0)
        fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".tmp")
        stack.callback(Path(tmp).unlink, missing_ok=True)
        try:
            with (
                os.fdopen(fd, "w+b") as out,
                open(src, "rb") as source,
                _context(anchors) as context,
                c2pa.Signer.from_info(info) as signer,
                c2pa.Builder(_manifest_definition(claim, remix=parent_file is not None), context=context) as builder,
            ):
                if parent_file is not None:
                    builder.add_ingredient(
                        {"title": Path(parent).name, "relationship": "parentOf", "label": _PARENT_INGREDIENT_ID},
                        MIME_TYPE,
                        parent_file,
                    )
                store = builder.sign(signer, MIME_TYPE, source, out)
                out.flush()
                os.fsync(out.fileno())
        except c2pa.C2paError as exc:
            raise SigningError(f"C2PA signing of {src} failed: {exc}") from exc
        digest = sha256_file(tmp)
        os.replace(tmp, dst)
    try:
        manifest_id = manifest_labels(store)[-1]
    except (ManifestStoreError, IndexError) as exc:
        raise SigningError(f"c2pa-rs returned a manifest store without manifests: {exc}") from exc
    return SignResult(manifest_id=manifest_id, sha256=digest)


# ----- verification -------------------------------------------------------------------


def verify_video(path: Path, trust_anchors: list[str], *, first_seen: datetime | None = None) -> Verdict:
    """Verify a video's content credentials and its whole remix ancestry.

    `trust_anchors` are the CA certificates (PEM) of the nodes this verifier trusts: every
    ancestor's signer must chain to one of them too. `first_seen`, when known, is the time
    this node first obtained the file; see the module docstring for what it adds.
    """
    with open(path, "rb") as f:
        return _verify_file(f, trust_anchors, first_seen=first_seen)


@dataclass
class _Judgement:
    state: str
    codes: list[str]
    detail: str | None = None
    note: str | None = None


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _collect_failures(store: dict, active_label: str) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Failure codes keyed by the manifest each status URL names (the active one if none):
    from this reading with our anchors ("current"), and from the validation each remixer
    stored in its ingredient assertions ("stored", made with the remixer's anchors)."""
    current: dict[str, list[str]] = {}
    _failures_by_manifest(store.get("validation_results"), active_label, current)
    stored: dict[str, list[str]] = {}
    for manifest in (store.get("manifests") or {}).values():
        for ingredient in manifest.get("ingredients", []):
            _failures_by_manifest(ingredient.get("validation_results"), active_label, stored)
    return current, stored


def _failures_by_manifest(node: Any, default_label: str, out: dict[str, list[str]]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "failure" and isinstance(value, list):
                for status in value:
                    if not isinstance(status, dict):
                        continue
                    match = _MANIFEST_IN_URL.match(str(status.get("url", "")))
                    out.setdefault(match.group(1) if match else default_label, []).append(str(status.get("code")))
            else:
                _failures_by_manifest(value, default_label, out)
    elif isinstance(node, list):
        for value in node:
            _failures_by_manifest(value, default_label, out)


def _signer_name(manifest: dict) -> str | None:
    info = manifest.get("signature_info") or {}
    # c2pa-rs reports the leaf subject's organization as "issuer".
    return info.get("issuer") or info.get("common_name")


def _is_ai_generated(manifest: dict) -> bool:
    for assertion in manifest.get("assertions", []):
        if assertion.get("label") in ("c2pa.actions", "c2pa.actions.v2"):
            for action in assertion.get("data", {}).get("actions", []):
                if action.get("digitalSourceType") in AI_SOURCE_TYPES:
                    return True
    return False


def _our_claim(manifest: dict) -> dict | None:
    for assertion in manifest.get("assertions", []):
        if assertion.get("label") == CLAIM_LABEL and isinstance(assertion.get("data"), dict):
            return assertion["data"]
    return None


class _Judge:
    """Decides each manifest's state from its failure codes and, if needed, its own chain."""

    def __init__(self, f: BinaryIO, trust_anchors: list[str], first_seen: datetime | None, active_success: set[str]):
        self._file = f
        self._anchors = trust_anchors
        self._first_seen = first_seen
        self._active_success = active_success
        self._chains: dict | None = None
        self._chain_error: str | None = None

    def _chain_for(self, label: str):
        if self._chains is None and self._chain_error is None:
            try:
                self._chains = read_signer_chains(self._file)
            except (ManifestStoreError, ValueError) as exc:
                self._chain_error = f"cannot read signer certificates: {exc}"
        return (self._chains or {}).get(label)

    def judge(self, label: str, manifest: dict | None, current: list[str], stored: list[str], *,
              active: bool) -> _Judgement:
        codes = _dedupe(current + stored)
        if any(code not in TRUST_CODES for code in codes):
            return _Judgement("invalid", codes)
        if not codes:
            return _Judgement("trusted", [])
        # Only trust codes remain: decide trust from the manifest's own certificate chain.
        if active and "claimSignature.validated" not in self._active_success:
            return _Judgement("untrusted", codes, "c2pa-rs did not validate the claim signature")
        chain = self._chain_for(label)
        if chain is None:
            return _Judgement("untrusted", codes, self._chain_error or "signer certificates not found in the store")
        serial = ((manifest or {}).get("signature_info") or {}).get("cert_serial_number")
        if serial is not None and str(chain[0].serial_number) != str(serial):
            return _Judgement("untrusted", codes, "store certificate differs from the one c2pa-rs validated")
        try:
            anchored = anchor_chain(chain, self._anchors)
        except ChainError as exc:
            return _Judgement("untrusted", codes, str(exc))
        anchor_name = anchored.anchor.subject.rfc4514_string()
        now = datetime.now(timezone.utc)
        if now < anchored.valid_from:
            return _Judgement("untrusted", codes, "the signer's certificate chain is not valid yet")
        if now < anchored.valid_until:
            if current:
                # c2pa-rs refused a chain that is valid today with our own anchors: it knows
                # something our check does not model, so its refusal stands.
                return _Judgement("untrusted", codes, "c2pa-rs refuses this chain although it is currently valid")
            return _Judgement("trusted", [], note=(
                f"{label}: a remixer recorded {', '.join(codes)} with its own anchors; "
                f"for this verifier the chain leads to trusted anchor '{anchor_name}'"))
        # first_seen bounds when the file as a whole was signed, i.e. the active manifest;
        # ancestors were vouched for by the remixing node when it embedded them.
        if active and self._first_seen is not None and self._first_seen > anchored.valid_until:
            return _Judgement(
                "untrusted", codes,
                f"certificate expired {anchored.valid_until:%Y-%m-%d %H:%M} UTC, before the file was first seen",
            )
        return _Judgement("trusted", [], note=(
            f"{label}: signing certificate expired {anchored.valid_until:%Y-%m-%d %H:%M} UTC "
            f"({', '.join(codes)}); accepted because its chain leads to trusted anchor "
            f"'{anchor_name}' and nothing else failed"))


def _missing(reason: str) -> Verdict:
    return Verdict(ok=False, state="missing", reason=reason, failures=[], ai_generated=False,
                   signer=None, manifest_id=None, claim=None, chain=[])


def _invalid(reason: str) -> Verdict:
    return Verdict(ok=False, state="invalid", reason=reason, failures=[], ai_generated=False,
                   signer=None, manifest_id=None, claim=None, chain=[])


def _verify_file(f: BinaryIO, trust_anchors: list[str], *, first_seen: datetime | None) -> Verdict:
    try:
        with _context(trust_anchors) as context:
            reader = c2pa.Reader.try_create(MIME_TYPE, f, context=context)
            if reader is None:
                return _missing("no C2PA manifest (content credentials) in the file")
            with reader:
                store = json.loads(reader.json())
                c2pa_state = reader.get_validation_state()
    except c2pa.C2paError as exc:
        # c2pa-rs quotes raw file bytes in some parse errors; keep the reason printable.
        message = "".join(ch if ch.isprintable() else "?" for ch in str(exc))
        return _invalid(f"C2PA data cannot be read: {message}")

    manifests: dict[str, dict] = store.get("manifests") or {}
    active_label = store.get("active_manifest")
    if active_label not in manifests:
        return _invalid("the manifest store has no active manifest")
    active = manifests[active_label]
    current, stored = _collect_failures(store, active_label)
    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    judge = _Judge(f, trust_anchors, first_seen, {s.get("code") for s in results.get("success", [])})
    judgements = {
        label: judge.judge(label, manifests.get(label), current.get(label, []), stored.get(label, []),
                           active=label == active_label)
        for label in dict.fromkeys([*manifests, *current, *stored])
    }
    chain, missing_ancestors = _ancestry(active, manifests, judgements)

    roles = {active_label: "this video"}
    roles.update({entry["manifest_id"]: f"ancestor {entry['depth']}" for entry in chain if entry["manifest_id"]})
    problems = [
        f"{roles.get(label, 'manifest')} ({label}, signed by {_signer_name(manifests.get(label, {})) or 'unknown'}) "
        f"is {j.state}" + (f": {', '.join(j.codes)}" if j.codes else "") + (f" — {j.detail}" if j.detail else "")
        for label, j in judgements.items() if j.state != "trusted"
    ] + missing_ancestors
    state = max((j.state for j in judgements.values()), key=_STATE_RANK.__getitem__)
    if missing_ancestors and state == "trusted":
        state = "untrusted"
    notes = [j.note for j in judgements.values() if j.note]
    if state == "trusted" and c2pa_state != "Trusted" and not notes:
        state, problems = "untrusted", [f"c2pa-rs reported {c2pa_state!r} without naming a failure"]
    ai_generated = _is_ai_generated(active)
    if state == "trusted" and not ai_generated:
        problems.append("the manifest does not declare AI generation (no trainedAlgorithmicMedia action)")
    claim = _our_claim(active)
    cameos = cameo_summary(claim.get("cameo_grants") or [], str(claim.get("node"))) if claim else []
    problems.extend(f"cameo grant {c['grant']} is invalid: {c['detail']}" for c in cameos if not c["valid"])
    ok = state == "trusted" and ai_generated and all(c["valid"] for c in cameos)
    return Verdict(
        ok=ok,
        state=state,
        reason=None if ok else "; ".join(problems),
        failures=_dedupe([code for j in judgements.values() for code in j.codes]),
        ai_generated=ai_generated,
        signer=_signer_name(active),
        manifest_id=active_label,
        claim=claim,
        chain=chain,
        notes=notes,
        cameos=cameos,
    )


def _ancestry(
    active: dict, manifests: dict[str, dict], judgements: dict[str, _Judgement]
) -> tuple[list[dict], list[str]]:
    """The parentOf ingredients, parent first, each with its signer, claim and state."""
    chain: list[dict] = []
    missing: list[str] = []
    seen: set[str] = set()
    current, depth = active, 1
    while depth <= MAX_ANCESTRY:
        parents = [i for i in current.get("ingredients", []) if i.get("relationship") == "parentOf"]
        if not parents:
            break
        if len(parents) > 1:
            missing.append(f"ancestor {depth}: a manifest may have only one parentOf ingredient")
        ingredient = parents[0]
        label = ingredient.get("active_manifest")
        manifest = manifests.get(label) if label else None
        if manifest is None or label in seen:
            missing.append(f"ancestor {depth} ({ingredient.get('title')}) has no content credentials")
            chain.append({"depth": depth, "manifest_id": None, "title": ingredient.get("title"), "signer": None,
                          "claim": None, "state": "missing", "failures": [], "ai_generated": False})
            break
        seen.add(label)
        judgement = judgements[label]
        chain.append({
            "depth": depth,
            "manifest_id": label,
            "title": ingredient.get("title"),
            "signer": _signer_name(manifest),
            "claim": _our_claim(manifest),
            "state": judgement.state,
            "failures": judgement.codes,
            "ai_generated": _is_ai_generated(manifest),
        })
        current, depth = manifest, depth + 1
    else:
        missing.append(f"remix ancestry deeper than {MAX_ANCESTRY} generations")
    return chain, missing


# ----- presentation -------------------------------------------------------------------


def _claim_lines(claim: dict | None, indent: str) -> list[str]:
    if not claim:
        return [f"{indent}no Vitascope generation claim"]
    model = f"{claim.get('model_name')} {claim.get('model_version')}"
    if claim.get("test_model"):
        model += " (test model)"
    lines = [f"{indent}model:   {model}", f"{indent}node:    {claim.get('node')}   job: {claim.get('job_id')}"]
    if claim.get("weights_digest"):
        lines.append(f"{indent}weights: {claim['weights_digest']}")
    if claim.get("prompt") is not None:
        lines.append(f"{indent}prompt:  {claim['prompt']!r}")
    lines.append(f"{indent}prompt digest: {claim.get('prompt_digest')}")
    if claim.get("cameo_grants"):
        lines.append(f"{indent}cameo grants: {len(claim['cameo_grants'])}")
    return lines


def format_verdict(verdict: Verdict) -> str:
    """Multi-line report for `vitascope verify FILE`: the verdict, then the whole remix chain."""
    headline = "VERIFIED" if verdict.ok else "NOT VERIFIED"
    lines = [f"{headline}: {verdict.state}" + (", AI-generated" if verdict.ai_generated else "")]
    if verdict.reason:
        lines.append(f"  reason:   {verdict.reason}")
    if verdict.state == "missing":
        return "\n".join(lines)
    lines.append(f"  signer:   {verdict.signer or 'unknown'}")
    lines.append(f"  manifest: {verdict.manifest_id}")
    lines.extend(_claim_lines(verdict.claim, "  "))
    for cameo in verdict.cameos:
        status = "valid" if cameo["valid"] else f"INVALID ({cameo['detail']})"
        lines.append(f"  cameo:    {cameo['cameo']} of {cameo['owner']}, grant {cameo['grant']} for {cameo['post']}: "
                     f"{status}")
    if verdict.cameos:
        lines.append("            (grants checked against the owner key snapshots in the manifest; "
                     "whether they are still in force is known only to the owners' nodes)")
    lines.extend(f"  note:     {note}" for note in verdict.notes)
    if not verdict.chain:
        lines.append("  remix chain: none (original generation)")
    else:
        lines.append(f"  remix chain ({len(verdict.chain)} ancestor{'s' if len(verdict.chain) > 1 else ''}):")
        for entry in verdict.chain:
            status = entry["state"] + (f" ({', '.join(entry['failures'])})" if entry["failures"] else "")
            ai = ", AI-generated" if entry["ai_generated"] else ""
            lines.append(f"    {entry['depth']}. {entry['manifest_id'] or entry['title']}: {status}{ai}, "
                         f"signed by {entry['signer'] or 'unknown'}")
            if entry["manifest_id"]:
                lines.extend(_claim_lines(entry["claim"], "       "))
    return "\n".join(lines)
