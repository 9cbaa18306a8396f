"""FEP-8b32 object integrity proofs with the W3C `eddsa-jcs-2022` cryptosuite.

A proof lets an activity be verified after it was relayed or fetched from a third party,
independent of the HTTP signature of whoever delivered it. The algorithms follow
"Data Integrity EdDSA Cryptosuites v1.0" §3.3 (eddsa-jcs-2022) step by step so that
Mastodon and Fedify, which implement the same text, accept our proofs and we accept theirs:

    proofConfig  = proof options (+ the document's @context), canonicalized with JCS
    hashData     = sha256(JCS(proofConfig)) || sha256(JCS(unsecuredDocument))
    proofValue   = multibase base58btc of Ed25519(hashData)
"""
from __future__ import annotations

import copy
import hashlib
import json
from datetime import datetime, timezone
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from provenance.keys import load_private_key, parse_ed25519_multikey
from provenance.multibase import decode_base58btc, encode_base58btc

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-jcs-2022"
PROOF_PURPOSE = "assertionMethod"
_SIGNATURE_SIZE = 64


class ProofError(Exception):
    """A proof is missing, malformed, or does not verify; the message says which."""


_CONTEXT_CACHE: dict[str, bytes] = {}
_CONTEXT_CACHE_SIZE = 64


def _jcs_context(context: Any) -> bytes:
    """JCS of an @context, memoised: every document from one server repeats the same large
    context, and canonicalizing it dominated verification. The key is the context's JSON text,
    which determines it (a reordered context is a second entry, never a wrong one)."""
    key = json.dumps(context, ensure_ascii=False)
    canonical = _CONTEXT_CACHE.get(key)
    if canonical is None:
        canonical = rfc8785.dumps(context)
        if len(_CONTEXT_CACHE) >= _CONTEXT_CACHE_SIZE:
            _CONTEXT_CACHE.clear()
        _CONTEXT_CACHE[key] = canonical
    return canonical


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) bytes of a JSON value; ProofError if it has no canonical form."""
    try:
        return _canonical(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise ProofError(f"document cannot be canonicalized with JCS: {exc}") from exc


def _canonical(value: Any) -> bytes:
    if not isinstance(value, dict) or "@context" not in value:
        return rfc8785.dumps(value)
    # An object's members in JCS order (UTF-16 code units); @contexts (also the one a proof
    # repeats) from the memo.
    return b"{" + b",".join(
        rfc8785.dumps(key) + b":" + (_jcs_context(member) if key == "@context" else _canonical(member))
        for key, member in sorted(value.items(), key=lambda item: item[0].encode("utf-16-be"))
    ) + b"}"


def _hash_data(proof_config: dict, unsecured_document: dict) -> bytes:
    return hashlib.sha256(canonical_json(proof_config)).digest() + hashlib.sha256(
        canonical_json(unsecured_document)).digest()


def _format_datetime(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("proof timestamps must be timezone-aware")
    return moment.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def create_proof(
    document: dict,
    private_pem: str,
    verification_method: str,
    created: datetime | None = None,
) -> dict:
    """Return a copy of `document` with an eddsa-jcs-2022 `proof` made with an Ed25519 key.

    `verification_method` is the id of the Multikey the verifier will resolve, normally
    the actor's `assertionMethod` entry (e.g. "https://node/users/alice#ed25519-key").
    """
    if "proof" in document:
        raise ValueError("document already carries a proof; proof sets are not supported")
    key = load_private_key(private_pem)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"eddsa-jcs-2022 needs an Ed25519 key, got {type(key).__name__}")
    proof: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "verificationMethod": verification_method,
        "proofPurpose": PROOF_PURPOSE,
        "created": _format_datetime(created or datetime.now(timezone.utc)),
    }
    if "@context" in document:
        proof["@context"] = copy.deepcopy(document["@context"])
    signature = key.sign(_hash_data(proof, document))
    secured = copy.deepcopy(document)
    secured["proof"] = {**proof, "proofValue": encode_base58btc(signature)}
    return secured


def proof_verification_method(document: dict) -> str | None:
    """The key id a verifier must resolve before calling verify_proof, if any."""
    proof = document.get("proof")
    if isinstance(proof, dict) and isinstance(proof.get("verificationMethod"), str):
        return proof["verificationMethod"]
    return None


def _is_datetime_stamp(value: Any) -> bool:
    try:
        return isinstance(value, str) and "T" in value and datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def _as_context_list(context: Any) -> list:
    return context if isinstance(context, list) else [context]


def verify_proof(document: dict, public_key: Ed25519PublicKey | str) -> None:
    """Verify the document's eddsa-jcs-2022 proof; raise ProofError saying why if it fails.

    `public_key` is the resolved verification method: an Ed25519 key or its Multikey string.
    The caller is responsible for checking that the key belongs to the document's actor.
    """
    if isinstance(public_key, str):
        try:
            public_key = parse_ed25519_multikey(public_key)
        except ValueError as exc:
            raise ProofError(f"verification key is not an Ed25519 Multikey: {exc}") from exc
    proof = document.get("proof")
    if proof is None:
        raise ProofError("document has no proof")
    if not isinstance(proof, dict):
        raise ProofError("proof must be a single object (proof sets are not supported)")
    if proof.get("type") != PROOF_TYPE:
        raise ProofError(f"unsupported proof type {proof.get('type')!r}")
    if proof.get("cryptosuite") != CRYPTOSUITE:
        raise ProofError(f"unsupported cryptosuite {proof.get('cryptosuite')!r}")
    if proof.get("proofPurpose") != PROOF_PURPOSE:
        raise ProofError(f"proofPurpose must be {PROOF_PURPOSE!r}, got {proof.get('proofPurpose')!r}")
    if not isinstance(proof.get("verificationMethod"), str):
        raise ProofError("proof has no verificationMethod")
    created = proof.get("created")
    if created is not None and not _is_datetime_stamp(created):
        raise ProofError(f"proof.created is not a dateTime with a time zone: {created!r}")
    try:
        signature = decode_base58btc(proof.get("proofValue"))
    except ValueError as exc:
        raise ProofError(f"proofValue is not base58btc multibase: {exc}") from exc
    if len(signature) != _SIGNATURE_SIZE:
        raise ProofError(f"proofValue must hold a {_SIGNATURE_SIZE}-byte Ed25519 signature")

    unsecured = {k: v for k, v in document.items() if k != "proof"}
    proof_config = {k: v for k, v in proof.items() if k != "proofValue"}
    if "@context" in proof_config:
        wanted = _as_context_list(proof_config["@context"])
        have = _as_context_list(document.get("@context", []))
        if have[: len(wanted)] != wanted:
            raise ProofError("document @context does not start with the proof's @context")
        unsecured["@context"] = proof_config["@context"]
    try:
        public_key.verify(signature, _hash_data(proof_config, unsecured))
    except InvalidSignature as exc:
        raise ProofError("signature does not match the document (altered, or wrong key)") from exc
