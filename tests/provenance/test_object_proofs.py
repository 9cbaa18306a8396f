from __future__ import annotations

import copy
from datetime import datetime, timezone

import base58
import pytest
import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provenance.keys import ed25519_multikey, generate_ed25519_private_pem, generate_rsa_private_pem, public_pem
from provenance.proofs import ProofError, canonical_json, create_proof, proof_verification_method, verify_proof

# W3C "Data Integrity EdDSA Cryptosuites" test vectors, TestVectors/eddsa-jcs-2022/signedJCS.json
# and TestVectors/keyPair.json.
W3C_PUBLIC_MULTIKEY = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
W3C_PRIVATE_MULTIKEY = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
W3C_CONTEXT = ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"]
W3C_UNSIGNED = {
    "@context": W3C_CONTEXT,
    "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
    "type": ["VerifiableCredential", "AlumniCredential"],
    "name": "Alumni Credential",
    "description": "A minimum viable example of an Alumni Credential.",
    "issuer": "https://vc.example/issuers/5678",
    "validFrom": "2023-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:abcdefgh", "alumniOf": "The School of Examples"},
}
W3C_VERIFICATION_METHOD = "https://vc.example/issuers/5678#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
W3C_SIGNED = {
    **W3C_UNSIGNED,
    "proof": {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "created": "2023-02-24T23:36:38Z",
        "verificationMethod": W3C_VERIFICATION_METHOD,
        "proofPurpose": "assertionMethod",
        "@context": W3C_CONTEXT,
        "proofValue": "z63t83Y53KfzJ5ZosfKTnqfMcKB2dmTrfjSaQjeNNjAD5srBowQfmWqeRb8rRjmeEuCBEsddF9LsVogtuTsijJKh4",
    },
}

NOTE = {
    "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/data-integrity/v2"],
    "id": "https://a.example/objects/1",
    "type": "Note",
    "attributedTo": "https://a.example/users/alice",
    "content": "a cat surfing",
}
VM = "https://a.example/users/alice#ed25519-key"


def _w3c_private_pem() -> str:
    seed = base58.b58decode(W3C_PRIVATE_MULTIKEY[1:])[2:]  # strip multicodec 0x8026 (ed25519-priv)
    return Ed25519PrivateKey.from_private_bytes(seed).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_w3c_test_vector_verifies():
    verify_proof(W3C_SIGNED, W3C_PUBLIC_MULTIKEY)


def test_create_proof_reproduces_the_w3c_test_vector_exactly():
    created = datetime(2023, 2, 24, 23, 36, 38, tzinfo=timezone.utc)
    assert create_proof(W3C_UNSIGNED, _w3c_private_pem(), W3C_VERIFICATION_METHOD, created) == W3C_SIGNED


def test_round_trip_and_verification_method():
    private_pem = generate_ed25519_private_pem()
    original = copy.deepcopy(NOTE)
    signed = create_proof(NOTE, private_pem, VM)
    assert NOTE == original and "proof" not in NOTE  # input untouched
    assert signed["proof"]["type"] == "DataIntegrityProof"
    assert signed["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    assert signed["proof"]["proofPurpose"] == "assertionMethod"
    assert signed["proof"]["@context"] == NOTE["@context"]
    assert signed["proof"]["proofValue"].startswith("z")
    assert proof_verification_method(signed) == VM
    verify_proof(signed, ed25519_multikey(private_pem))
    verify_proof(signed, ed25519_multikey(public_pem(private_pem)))


def test_document_without_context_round_trips():
    private_pem = generate_ed25519_private_pem()
    signed = create_proof({"type": "Note", "content": "hi"}, private_pem, VM)
    assert "@context" not in signed["proof"]
    verify_proof(signed, ed25519_multikey(private_pem))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d.__setitem__("content", "a dog surfing"),
        lambda d: d.__setitem__("extra", 1),
        lambda d: d["proof"].__setitem__("created", "2020-01-01T00:00:00Z"),
        lambda d: d["proof"].__setitem__("verificationMethod", "https://evil.example/key"),
        lambda d: d.__setitem__("@context", ["https://www.w3.org/ns/activitystreams"]),
    ],
)
def test_tampering_is_detected(tamper):
    private_pem = generate_ed25519_private_pem()
    signed = create_proof(NOTE, private_pem, VM)
    tamper(signed)
    with pytest.raises(ProofError):
        verify_proof(signed, ed25519_multikey(private_pem))


def test_wrong_key_is_refused():
    signed = create_proof(NOTE, generate_ed25519_private_pem(), VM)
    with pytest.raises(ProofError, match="signature"):
        verify_proof(signed, ed25519_multikey(generate_ed25519_private_pem()))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cryptosuite", "eddsa-rdfc-2022", "cryptosuite"),
        ("type", "Ed25519Signature2020", "proof type"),
        ("proofPurpose", "authentication", "proofPurpose"),
        ("proofValue", "uAAAA", "proofValue"),
        ("proofValue", "z" + base58.b58encode(b"\0" * 63).decode(), "64-byte"),
        ("created", "yesterday", "created"),
    ],
)
def test_malformed_proofs_are_refused_with_a_reason(field, value, message):
    private_pem = generate_ed25519_private_pem()
    signed = create_proof(NOTE, private_pem, VM)
    signed["proof"][field] = value
    with pytest.raises(ProofError, match=message):
        verify_proof(signed, ed25519_multikey(private_pem))


def test_missing_proof_and_proof_sets_are_refused():
    private_pem = generate_ed25519_private_pem()
    with pytest.raises(ProofError, match="no proof"):
        verify_proof(NOTE, ed25519_multikey(private_pem))
    signed = create_proof(NOTE, private_pem, VM)
    signed["proof"] = [signed["proof"]]
    with pytest.raises(ProofError, match="single"):
        verify_proof(signed, ed25519_multikey(private_pem))
    assert proof_verification_method(NOTE) is None


def test_create_proof_refuses_rsa_keys_and_existing_proofs():
    with pytest.raises(ValueError, match="Ed25519"):
        create_proof(NOTE, generate_rsa_private_pem(), VM)
    signed = create_proof(NOTE, generate_ed25519_private_pem(), VM)
    with pytest.raises(ValueError, match="already"):
        create_proof(signed, generate_ed25519_private_pem(), VM)


def test_bad_verification_key_string_is_a_proof_error():
    signed = create_proof(NOTE, generate_ed25519_private_pem(), VM)
    with pytest.raises(ProofError, match="Multikey"):
        verify_proof(signed, "zNotAKey")


def test_canonical_json_with_memoised_contexts_is_exactly_jcs():
    """The @context memo must not change a byte: keys sorted by UTF-16 code units (so '\U0001f600'
    sorts before '\uff41'), nested proofs with their own @context, reordered equal contexts."""
    context = ["https://www.w3.org/ns/activitystreams", {"b": "x:b", "a": {"@id": "x:a", "@type": "@id"}}]
    reordered = [context[0], {"a": {"@type": "@id", "@id": "x:a"}, "b": "x:b"}]
    for doc in (
        {"@context": context, "\uff41": 1, "\U0001f600": 2, "z": [1.5, True, None], "proof": {"@context": reordered}},
        {"@context": reordered, "id": "x", "proof": {"@context": context, "created": "2026-01-01T00:00:00Z"}},
        {"@context": "https://www.w3.org/ns/activitystreams", "n": 10**15},
    ):
        assert canonical_json(doc) == rfc8785.dumps(doc)
    with pytest.raises(ProofError, match="canonicalized"):
        canonical_json({"@context": context, "n": 2**60})
