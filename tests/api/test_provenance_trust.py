"""The AI-only rule at upload, the published CA, peer pinning and `vitascope verify`."""

from __future__ import annotations

import json

import requests

from provenance.c2pa import VitascopeClaim, prompt_digest, sign_video
from provenance.certificates import NodeIdentity
from tests.support.media import make_mp4


def node_identity(live_node) -> NodeIdentity:
    """The node's own signing identity, as its workers' output is signed with it."""
    return NodeIdentity.load_or_create(live_node.directory / "data" / "identity", live_node.domain)


def signed_clip(live_node, tmp_path, name="clip.mp4", identity=None):
    raw = make_mp4(tmp_path / f"raw-{name}", seconds=1.0)
    out = tmp_path / name
    claim = VitascopeClaim(model_name="tiny-ltx2", model_version="test", weights_digest=None, test_model=True,
                           node=live_node.domain, job_id="test-job", prompt_digest=prompt_digest("a cat surfing"))
    sign_video(raw, out, identity or node_identity(live_node), claim)
    return raw, out


def test_published_ca_matches_the_node_identity(node):
    r = requests.get(node.url + "/.well-known/vitascope/ca.pem")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/x-pem-file")
    assert r.text == "".join(node_identity(node).published_ca_pems)


def test_upload_accepts_a_node_signed_video_and_refuses_others(node, tmp_path):
    username, password = node.create_user()
    api = node.api(node.token(username, password))
    raw, signed = signed_clip(node, tmp_path)
    refused = api.post("/api/v2/media", files={"file": ("raw.mp4", raw.read_bytes(), "video/mp4")})
    assert refused.status_code == 422 and "C2PA" in refused.json()["error"]
    ok = api.post("/api/v2/media", files={"file": ("clip.mp4", signed.read_bytes(), "video/mp4")},
                  data={"description": "a cat surfing"})
    assert ok.status_code == 200, ok.text
    media = ok.json()
    assert media["type"] == "video" and media["description"] == "a cat surfing"
    assert media["provenance"]["verified"] is True and media["provenance"]["ai_generated"] is True
    assert media["provenance"]["test_model"] is True
    assert media["meta"]["original"]["width"] == 64 and media["meta"]["original"]["height"] == 112
    assert abs(media["meta"]["original"]["duration"] - 1.0) < 0.2
    assert media["blurhash"]
    status = api.post("/api/v1/statuses", data={"status": "made with AI", "media_ids[]": media["id"]}).json()
    assert status["media_attachments"][0]["id"] == media["id"]
    page = requests.get(f"{node.url}/@{username}/{status['id']}").text
    assert "Made with AI · verified by" in page and 'og:video" content="' in page
    # one flipped byte in the middle of the file: refused
    data = bytearray(signed.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered = api.post("/api/v2/media", files={"file": ("t.mp4", bytes(data), "video/mp4")})
    assert tampered.status_code == 422


def test_video_signed_by_an_unknown_node_is_refused_until_pinned(nodes, node, tmp_path):
    other = nodes("other")
    username, password = node.create_user()
    api = node.api(node.token(username, password))
    _, foreign = signed_clip(other, tmp_path, "foreign.mp4")
    assert api.post("/api/v2/media", files={"file": ("f.mp4", foreign.read_bytes(), "video/mp4")}).status_code == 422
    # the admin pins the other node's CA (fetched from it over loopback in dev mode)
    out = node.cli("admin", "trust", "pin", other.domain).stdout
    assert "pinned" in out
    assert other.domain in node.cli("admin", "trust", "list").stdout
    assert api.post("/api/v2/media", files={"file": ("f.mp4", foreign.read_bytes(), "video/mp4")}).status_code == 200
    node.cli("admin", "trust", "distrust", other.domain)
    assert api.post("/api/v2/media", files={"file": ("f.mp4", foreign.read_bytes(), "video/mp4")}).status_code == 422
    assert "distrusted" in node.cli("admin", "trust", "list").stdout
    assert f"forgot {other.domain}" in node.cli("admin", "trust", "forget", other.domain).stdout
    assert other.domain not in node.cli("admin", "trust", "list").stdout
    assert "was not known" in node.cli("admin", "trust", "forget", other.domain.upper()).stdout


def test_verify_command_prints_verdict(node, tmp_path):
    raw, signed = signed_clip(node, tmp_path)
    good = node.cli("verify", str(signed), check=False)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "trusted" in good.stdout.lower()
    as_json = json.loads(node.cli("verify", "--json", str(signed)).stdout)
    assert as_json["verified"] is True and as_json["node"] == node.domain
    bad = node.cli("verify", str(raw), check=False)
    assert bad.returncode == 1 and "missing" in bad.stdout.lower()


def test_rotation_keeps_older_videos_verifiable(nodes, tmp_path):
    rotating = nodes("rotating")
    _, before = signed_clip(rotating, tmp_path, "before.mp4")
    rotating.cli("admin", "rotate-signing-key", "--ca")
    rotating.stop()
    rotating.start()
    published = requests.get(rotating.url + "/.well-known/vitascope/ca.pem").text
    assert published.count("BEGIN CERTIFICATE") == 2  # old CA kept next to the new one
    _, after = signed_clip(rotating, tmp_path, "after.mp4")
    for clip in (before, after):
        assert rotating.cli("verify", str(clip), check=False).returncode == 0
    username, password = rotating.create_user()
    api = rotating.api(rotating.token(username, password))
    for clip in (before, after):
        r = api.post("/api/v2/media", files={"file": (clip.name, clip.read_bytes(), "video/mp4")})
        assert r.status_code == 200 and r.json()["provenance"]["verified"]
