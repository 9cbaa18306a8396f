from __future__ import annotations

import hashlib
import struct
from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import av
import c2pa
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from provenance import c2pa as c2pa_module
from provenance.c2pa import (
    SignResult,
    SigningError,
    UnverifiedParent,
    VitascopeClaim,
    format_verdict,
    prompt_digest,
    sign_video,
    verify_video,
)
from provenance.certificates import NodeIdentity
from provenance.consent import claim_entry, verify_grant
from provenance.digests import parse_digest_multibase, sha256_file
from provenance.manifest_store import C2PA_BOX_UUID


def _claim(node: str, job: str, **extra) -> VitascopeClaim:
    return VitascopeClaim(
        model_name="tiny-t2v", model_version="0.1", weights_digest=None, test_model=True,
        node=node, job_id=job, prompt_digest=prompt_digest(extra.get("prompt") or "a cat surfing at dusk"), **extra,
    )


def _top_level_boxes(data: bytes):
    offset = 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        yield offset, size, kind
        offset += size


def _flip_byte_in_mdat(src: Path, dst: Path) -> None:
    data = bytearray(src.read_bytes())
    offset, size, _ = next(box for box in _top_level_boxes(data) if box[2] == b"mdat")
    data[offset + size // 2] ^= 0x01
    dst.write_bytes(data)


def _strip_manifest(src: Path, dst: Path) -> None:
    data = bytearray(src.read_bytes())
    offset, _, _ = next(
        box for box in _top_level_boxes(data) if box[2] == b"uuid" and data[box[0] + 8:box[0] + 24] == C2PA_BOX_UUID
    )
    data[offset + 4:offset + 8] = b"free"  # the box stays, so media offsets still hold; the manifest is gone
    dst.write_bytes(data)


@pytest.fixture(scope="module")
def signed(source_mp4, node_identity, cameo_owner, tmp_path_factory) -> tuple[Path, SignResult, VitascopeClaim]:
    owner = cameo_owner("owner.example")
    grant = owner.grant("https://a.example/notes/job-1", "https://a.example/users/bob")
    claim = _claim("a.example", "job-1", prompt="a cat surfing at dusk", cameo_grants=[claim_entry(grant, owner.key)])
    dst = tmp_path_factory.mktemp("signed") / "video.mp4"
    return dst, sign_video(source_mp4, dst, node_identity("a.example"), claim), claim


def test_signed_video_verifies_as_trusted_ai_generation(signed, node_identity):
    path, result, claim = signed
    verdict = verify_video(path, node_identity("a.example").published_ca_pems)
    assert verdict.ok, verdict.reason
    assert verdict.state == "trusted" and verdict.failures == [] and verdict.reason is None
    assert verdict.ai_generated
    assert verdict.signer == "a.example"
    assert verdict.manifest_id == result.manifest_id
    assert verdict.claim == asdict(claim)
    assert verdict.chain == []
    assert result.sha256 == sha256_file(path)
    report = format_verdict(verdict)
    assert report.startswith("VERIFIED: trusted") and result.manifest_id in report and "original generation" in report


def test_cameo_grants_travel_in_full_and_verify_from_the_manifest(signed, node_identity, cameo_owner):
    path, _, claim = signed
    owner = cameo_owner("owner.example")
    verdict = verify_video(path, node_identity("a.example").published_ca_pems)
    [entry] = verdict.claim["cameo_grants"]
    assert entry == claim.cameo_grants[0] and entry["ownerKey"]["publicKeyMultibase"] == owner.key.multikey
    [cameo] = verdict.cameos
    assert cameo["valid"] and cameo["cameo"] == owner.cameo.id and cameo["owner"] == owner.actor
    assert f"cameo:    {owner.cameo.id} of {owner.actor}" in format_verdict(verdict)
    # What an ingesting node does: the Note's copy against the manifest's, with the owner's live key.
    live = verify_grant(entry["grant"], owner.resolver(), post_id="https://a.example/notes/job-1",
                        author="https://a.example/users/bob", manifest_copy=entry["grant"])
    assert live.ok, live.describe()


def test_a_forged_grant_cannot_be_signed_into_a_video(source_mp4, node_identity, cameo_owner, tmp_path):
    owner = cameo_owner("owner.example")
    grant = owner.grant("https://a.example/notes/job-f", "https://a.example/users/bob")
    grant["interactingObject"] = "https://a.example/notes/other"
    claim = _claim("a.example", "job-f", cameo_grants=[claim_entry(grant, owner.key)])
    with pytest.raises(SigningError, match="bad_proof"):
        sign_video(source_mp4, tmp_path / "f.mp4", node_identity("a.example"), claim)
    assert list(tmp_path.iterdir()) == []


def test_a_video_whose_manifest_carries_a_forged_grant_is_not_verified(source_mp4, node_identity, cameo_owner,
                                                                       tmp_path):
    """Another renderer's node signs a claim with a grant re-pointed at its own post: c2pa-rs
    calls the file trusted, the grant check does not."""
    owner = cameo_owner("owner.example")
    grant = owner.grant("https://a.example/notes/job-g", "https://a.example/users/bob")
    claim = _claim("a.example", "job-g", cameo_grants=[claim_entry(grant, owner.key)])
    claim.cameo_grants[0]["grant"] = dict(grant, endTime="2000-01-01T00:00:00Z")  # altered after checking
    identity = node_identity("a.example")
    definition = c2pa_module._manifest_definition(claim, remix=False)
    out = tmp_path / "g.mp4"
    with (open(source_mp4, "rb") as source, open(out, "w+b") as dst,
          c2pa_module._context(identity.published_ca_pems) as context,
          c2pa.Signer.from_info(c2pa.C2paSignerInfo(
              getattr(c2pa.C2paSigningAlg, identity.signing_algorithm.upper()),
              identity.signing_chain_pem.encode(), identity.signing_key_pem.encode(), None)) as signer,
          c2pa.Builder(definition, context=context) as builder):
        builder.sign(signer, "video/mp4", source, dst)
    verdict = verify_video(out, identity.published_ca_pems)
    assert verdict.state == "trusted" and not verdict.ok
    [cameo] = verdict.cameos
    assert not cameo["valid"] and cameo["problems"][0] == "bad_proof"
    assert "cameo grant https://owner.example/cameo_grants/1 is invalid: bad_proof" in verdict.reason
    assert "INVALID (bad_proof" in format_verdict(verdict)


def test_signed_video_is_still_a_playable_mp4(signed):
    with av.open(str(signed[0])) as container:
        assert {s.type for s in container.streams} == {"video", "audio"}
        assert sum(1 for _ in container.decode(video=0)) == 12


def test_one_flipped_byte_in_mdat_is_invalid(signed, node_identity, tmp_path):
    tampered = tmp_path / "tampered.mp4"
    _flip_byte_in_mdat(signed[0], tampered)
    verdict = verify_video(tampered, node_identity("a.example").published_ca_pems)
    assert not verdict.ok
    assert verdict.state == "invalid"
    assert "assertion.bmffHash.mismatch" in verdict.failures
    assert "assertion.bmffHash.mismatch" in verdict.reason


def test_stripped_manifest_is_missing(signed, node_identity, tmp_path):
    stripped = tmp_path / "stripped.mp4"
    _strip_manifest(signed[0], stripped)
    verdict = verify_video(stripped, node_identity("a.example").published_ca_pems)
    assert (verdict.ok, verdict.state, verdict.manifest_id) == (False, "missing", None)
    assert format_verdict(verdict).startswith("NOT VERIFIED: missing")


def test_unsigned_source_is_missing(source_mp4):
    assert verify_video(source_mp4, []).state == "missing"


def test_signer_outside_the_trust_anchors_is_untrusted(signed, node_identity):
    verdict = verify_video(signed[0], node_identity("stranger.example").published_ca_pems)
    assert not verdict.ok
    assert verdict.state == "untrusted"
    assert "signingCredential.untrusted" in verdict.failures
    assert verdict.claim is not None and verdict.signer == "a.example"  # still reported, just not trusted


def test_remix_of_a_remix_verifies_with_its_whole_ancestry(source_mp4, node_identity, tmp_path):
    a, b, c = node_identity("a.example"), node_identity("b.example"), node_identity("c.example")
    g1, g2, g3 = tmp_path / "g1.mp4", tmp_path / "g2.mp4", tmp_path / "g3.mp4"
    r1 = sign_video(source_mp4, g1, a, _claim("a.example", "job-a"))
    r2 = sign_video(source_mp4, g2, b, _claim("b.example", "job-b"),
                    parent=g1, parent_trust_anchors=a.published_ca_pems)
    anchors_ab = a.published_ca_pems + b.published_ca_pems
    r3 = sign_video(source_mp4, g3, c, _claim("c.example", "job-c"), parent=g2, parent_trust_anchors=anchors_ab)

    verdict = verify_video(g3, anchors_ab + c.published_ca_pems)
    assert verdict.ok, verdict.reason
    assert (verdict.manifest_id, verdict.signer, verdict.claim["job_id"]) == (r3.manifest_id, "c.example", "job-c")
    assert [(e["depth"], e["manifest_id"], e["signer"], e["claim"]["job_id"], e["state"], e["ai_generated"])
            for e in verdict.chain] == [
        (1, r2.manifest_id, "b.example", "job-b", "trusted", True),
        (2, r1.manifest_id, "a.example", "job-a", "trusted", True),
    ]
    report = format_verdict(verdict)
    assert all(r.manifest_id in report for r in (r1, r2, r3)) and "remix chain (2 ancestors)" in report

    # A verifier that does not trust the grandparent's node does not trust the remix either.
    partial = verify_video(g3, b.published_ca_pems + c.published_ca_pems)
    assert partial.state == "untrusted" and not partial.ok
    assert "ancestor 2" in partial.reason
    assert [e["state"] for e in partial.chain] == ["trusted", "untrusted"]


def test_tampered_parent_is_refused_and_nothing_is_written(signed, source_mp4, node_identity, tmp_path):
    tampered = tmp_path / "parent.mp4"
    _flip_byte_in_mdat(signed[0], tampered)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(UnverifiedParent) as refused:
        sign_video(source_mp4, out_dir / "child.mp4", node_identity("b.example"), _claim("b.example", "job-x"),
                   parent=tampered, parent_trust_anchors=node_identity("a.example").published_ca_pems)
    assert refused.value.verdict.state == "invalid"
    assert "bmffHash" in str(refused.value)
    assert list(out_dir.iterdir()) == []  # no output and no temp file left behind


@pytest.mark.parametrize("anchors_of", [None, "b.example"])
def test_parent_that_does_not_chain_to_the_given_anchors_is_refused(signed, source_mp4, node_identity, tmp_path,
                                                                     anchors_of):
    anchors = node_identity(anchors_of).published_ca_pems if anchors_of else []
    with pytest.raises(UnverifiedParent) as refused:
        sign_video(source_mp4, tmp_path / "child.mp4", node_identity("b.example"), _claim("b.example", "job-y"),
                   parent=signed[0], parent_trust_anchors=anchors)
    assert refused.value.verdict.state == "untrusted"
    assert not (tmp_path / "child.mp4").exists()


def test_unsigned_parent_is_refused(source_mp4, node_identity, tmp_path):
    with pytest.raises(UnverifiedParent, match="no C2PA manifest"):
        sign_video(source_mp4, tmp_path / "child.mp4", node_identity("b.example"), _claim("b.example", "job-z"),
                   parent=source_mp4, parent_trust_anchors=node_identity("a.example").published_ca_pems)


def test_signing_replaces_the_destination_atomically(source_mp4, node_identity, tmp_path):
    dst = tmp_path / "video.mp4"
    dst.write_bytes(b"previous content")
    result = sign_video(source_mp4, dst, node_identity("a.example"), _claim("a.example", "job-2"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["video.mp4"]
    assert sha256_file(dst) == result.sha256
    assert verify_video(dst, node_identity("a.example").published_ca_pems).ok


def test_prompt_digest_is_a_digest_multibase():
    assert parse_digest_multibase(prompt_digest("ünïcode prompt")) == hashlib.sha256("ünïcode prompt".encode()).digest()


@pytest.mark.parametrize("content", [b"", b"\x00\x00\x00\x10notanmp4file", bytes(range(256)) * 8])
def test_unparseable_files_are_invalid_not_errors(tmp_path, content):
    path = tmp_path / "broken.mp4"
    path.write_bytes(content)
    verdict = verify_video(path, [])
    assert verdict.state == "invalid" and not verdict.ok
    assert verdict.reason.startswith("C2PA data cannot be read") and verdict.reason.isprintable()


def test_truncated_signed_video_is_invalid(signed, tmp_path):
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(signed[0].read_bytes()[:4000])
    assert verify_video(truncated, []).state == "invalid"


def test_child_embedding_a_broken_parent_is_invalid_even_though_c2pa_says_trusted(signed, source_mp4, node_identity,
                                                                                    tmp_path):
    """c2pa-rs keeps a parent's failures only in the child's stored ingredient results; we must read them."""
    a, b = node_identity("a.example"), node_identity("b.example")
    parent = tmp_path / "parent.mp4"
    _flip_byte_in_mdat(signed[0], parent)
    anchors = a.published_ca_pems + b.published_ca_pems
    context = c2pa.Context.from_dict({"trust": {"trust_anchors": "".join(anchors)}})
    manifest = {
        "claim_generator_info": [{"name": "not-vitascope"}],
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [
            {"action": "c2pa.opened", "parameters": {"ingredientIds": ["p"]}},
            {"action": "c2pa.edited", "digitalSourceType":
                "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"},
        ]}}],
    }
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, b.signing_chain_pem.encode(),
                               b.signing_key_pem.encode(), None)
    child = tmp_path / "child.mp4"
    with c2pa.Builder(manifest, context=context) as builder, c2pa.Signer.from_info(info) as signer:
        with open(parent, "rb") as p:
            builder.add_ingredient({"title": "parent.mp4", "relationship": "parentOf", "label": "p"}, "video/mp4", p)
        with open(source_mp4, "rb") as src, open(child, "w+b") as dst:
            builder.sign(signer, "video/mp4", src, dst)
    with open(child, "rb") as f, c2pa.Reader("video/mp4", f, context=context) as reader:
        assert reader.get_validation_state() == "Trusted"  # what c2pa-rs alone would conclude

    verdict = verify_video(child, anchors)
    assert verdict.state == "invalid" and not verdict.ok
    assert "assertion.bmffHash.mismatch" in verdict.failures
    assert verdict.chain[0]["state"] == "invalid" and "ancestor 1" in verdict.reason


def _admin_chain(tmp_path: Path, *, intermediate_can_sign_certs: bool) -> tuple[Path, Path]:
    """Leaf ← intermediate ← root, as an admin might bring from an existing PKI."""
    now = datetime.now(timezone.utc)

    def issue(subject, key, issuer, issuer_key, *, ca, cert_sign):
        builder = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(not cert_sign, False, False, False, False, cert_sign, cert_sign, False, False),
                           critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
        )
        if not ca:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
            )
        return builder.sign(issuer_key, hashes.SHA256())

    def name(text):
        return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, text)])

    root_key, inter_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root = issue(name("Admin Root"), root_key, name("Admin Root"), root_key, ca=True, cert_sign=True)
    inter = issue(name("Admin Issuing CA"), inter_key, root.subject, root_key, ca=True,
                  cert_sign=intermediate_can_sign_certs)
    leaf = issue(name("admin.example"), leaf_key, inter.subject, inter_key, ca=False, cert_sign=False)
    chain_path, key_path = tmp_path / "chain.pem", tmp_path / "key.pem"
    chain_path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (leaf, inter, root)))
    key_path.write_bytes(leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    return chain_path, key_path


def test_admin_supplied_chain_with_an_intermediate_signs_and_verifies(source_mp4, tmp_path):
    identity = NodeIdentity.from_files(*_admin_chain(tmp_path, intermediate_can_sign_certs=True))
    dst = tmp_path / "video.mp4"
    sign_video(source_mp4, dst, identity, _claim("admin.example", "job-admin"))
    verdict = verify_video(dst, identity.published_ca_pems)
    assert verdict.ok, verdict.reason
    assert verdict.signer == "admin.example"


def test_intermediate_without_keycertsign_is_untrusted(source_mp4, tmp_path):
    identity = NodeIdentity.from_files(*_admin_chain(tmp_path, intermediate_can_sign_certs=False))
    dst = tmp_path / "video.mp4"
    sign_video(source_mp4, dst, identity, _claim("admin.example", "job-admin"))
    verdict = verify_video(dst, identity.published_ca_pems)
    assert verdict.state == "untrusted" and not verdict.ok
    assert verdict.failures == ["signingCredential.untrusted"]


def test_a_node_may_remix_its_own_video_without_listing_its_own_ca(signed, source_mp4, node_identity, tmp_path):
    a = node_identity("a.example")
    child = tmp_path / "own-remix.mp4"
    sign_video(source_mp4, child, a, _claim("a.example", "job-own"), parent=signed[0])
    verdict = verify_video(child, a.published_ca_pems)
    assert verdict.ok, verdict.reason
    assert verdict.chain[0]["manifest_id"] == signed[1].manifest_id
