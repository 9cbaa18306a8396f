"""Certificates expire and rotate; videos signed before must keep verifying, tampering must not."""
from __future__ import annotations

import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from provenance.c2pa import SigningError, VitascopeClaim, prompt_digest, sign_video, verify_video
from provenance.certificates import NodeIdentity

LEAF_SECONDS = 3


def _claim(node: str, job: str) -> VitascopeClaim:
    return VitascopeClaim(model_name="tiny-t2v", model_version="0.1", weights_digest=None, test_model=True,
                          node=node, job_id=job, prompt_digest=prompt_digest("a fox"))


def _flip_byte_in_mdat(src: Path, dst: Path) -> None:
    data = bytearray(src.read_bytes())
    data[data.index(b"mdat") + 200] ^= 0x01
    dst.write_bytes(data)


@pytest.fixture(scope="module")
def expired(source_mp4, node_identity, tmp_path_factory):
    """Videos signed by a node whose leaf certificate has since expired (without rotation)."""
    base = tmp_path_factory.mktemp("expiry")
    shortlived = NodeIdentity.load_or_create(base / "x", "x.example", leaf_lifetime=timedelta(seconds=LEAF_SECONDS))
    other = node_identity("b.example")
    old = base / "old.mp4"
    sign_video(source_mp4, old, shortlived, _claim("x.example", "old"))
    remix_before = base / "remix-before.mp4"
    sign_video(source_mp4, remix_before, other, _claim("b.example", "remix-before"),
               parent=old, parent_trust_anchors=shortlived.published_ca_pems)
    anchors = shortlived.published_ca_pems + other.published_ca_pems
    assert verify_video(old, anchors).notes == []  # nothing to excuse yet
    wait = (shortlived.leaf_not_after - datetime.now(timezone.utc)).total_seconds() + 1.5
    time.sleep(max(wait, 0))
    return {"dir": base, "identity": shortlived, "other": other, "old": old, "remix_before": remix_before,
            "anchors": anchors}


def test_video_signed_with_a_now_expired_leaf_still_verifies(expired):
    verdict = verify_video(expired["old"], expired["anchors"])
    assert verdict.ok, verdict.reason
    assert verdict.state == "trusted" and verdict.failures == []
    assert len(verdict.notes) == 1 and "expired" in verdict.notes[0] and "signingCredential" in verdict.notes[0]


def test_first_seen_after_expiry_is_refused(expired):
    identity = expired["identity"]
    before = verify_video(expired["old"], expired["anchors"], first_seen=identity.leaf_not_after - timedelta(seconds=1))
    assert before.ok
    after = verify_video(expired["old"], expired["anchors"], first_seen=identity.leaf_not_after + timedelta(seconds=1))
    assert after.state == "untrusted" and "first seen" in after.reason


def test_tampering_after_expiry_is_refused(expired, tmp_path):
    tampered = tmp_path / "tampered.mp4"
    _flip_byte_in_mdat(expired["old"], tampered)
    verdict = verify_video(tampered, expired["anchors"])
    assert verdict.state == "invalid" and not verdict.ok
    assert "assertion.bmffHash.mismatch" in verdict.failures


def test_expired_leaf_from_an_untrusted_ca_stays_untrusted(expired):
    # c2pa-rs reports the same two codes whether or not the CA is trusted; our own chain check decides.
    verdict = verify_video(expired["old"], expired["other"].published_ca_pems)
    assert verdict.state == "untrusted" and not verdict.ok
    assert "does not lead to a trusted anchor" in verdict.reason


def test_remix_made_before_the_parent_expired_still_verifies(expired):
    verdict = verify_video(expired["remix_before"], expired["anchors"])
    assert verdict.ok, verdict.reason
    assert [entry["state"] for entry in verdict.chain] == ["trusted"]
    assert any("expired" in note for note in verdict.notes)


def test_remixing_a_parent_whose_leaf_expired_is_allowed(expired, source_mp4, tmp_path):
    child = tmp_path / "child.mp4"
    sign_video(source_mp4, child, expired["other"], _claim("b.example", "remix-after"),
               parent=expired["old"], parent_trust_anchors=expired["anchors"])
    verdict = verify_video(child, expired["anchors"])
    assert verdict.ok, verdict.reason
    assert verdict.chain[0]["claim"]["job_id"] == "old"
    # first_seen bounds the child's own signature, not its parent's (signed and expired earlier).
    assert verify_video(child, expired["anchors"], first_seen=datetime.now(timezone.utc)).ok


def test_rotation_keeps_old_videos_verifiable(expired, source_mp4, tmp_path):
    # Work on a copy so the other tests keep an un-rotated identity.
    directory = tmp_path / "x"
    shutil.copytree(expired["dir"] / "x", directory)
    identity = NodeIdentity.load_or_create(directory, "x.example", leaf_lifetime=timedelta(seconds=LEAF_SECONDS))
    assert identity.needs_rotation()
    with pytest.raises(SigningError, match="not valid"):  # c2pa-rs refuses to sign with an expired leaf
        sign_video(source_mp4, tmp_path / "refused.mp4", identity, _claim("x.example", "refused"))

    identity = NodeIdentity.load_or_create(directory, "x.example", leaf_lifetime=timedelta(days=90))
    identity.rotate_leaf()
    fresh = tmp_path / "fresh.mp4"
    sign_video(source_mp4, fresh, identity, _claim("x.example", "fresh"))
    assert verify_video(fresh, identity.published_ca_pems).notes == []
    assert verify_video(expired["old"], identity.published_ca_pems).ok

    identity.rotate_ca()
    after_ca = tmp_path / "after-ca.mp4"
    sign_video(source_mp4, after_ca, identity, _claim("x.example", "after-ca"))
    for video in (expired["old"], fresh, after_ca):
        assert verify_video(video, identity.published_ca_pems).ok, video
    # Only publishing the current CA would orphan everything signed before the CA rotation.
    assert verify_video(fresh, [identity.ca_pem]).state == "untrusted"
    assert verify_video(after_ca, [identity.ca_pem]).ok
