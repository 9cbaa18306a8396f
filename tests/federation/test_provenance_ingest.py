"""Issue 5 on the wire: a remote video enters timelines only if its file matches the post's digest,
its C2PA manifest validates, declares AI origin, and chains to the CA its origin node publishes."""

from __future__ import annotations

import hashlib
import uuid

import pytest
import pytest_asyncio
from aiohttp import web

from provenance.c2pa import VitascopeClaim, prompt_digest, sign_video
from provenance.certificates import NodeIdentity
from provenance.digests import digest_multibase
from tests.federation.test_inbox_attacks import eventually_public, http, never_public, post  # noqa: F401
from tests.support.peers import FakeServer
from tests.support.media import make_mp4


class VideoPeer(FakeServer):
    """A fake Vitascope node: publishes its C2PA CA and serves video files."""

    def __init__(self, directory):
        super().__init__()
        self.files: dict[str, bytes] = {}
        self.identity = NodeIdentity.load_or_create(directory / "identity", self.origin)
        self.runner.app.router.add_get("/media/{name}", self.media)
        self.runner.app.router.add_get("/.well-known/vitascope/ca.pem", self.ca)

    async def media(self, request: web.Request) -> web.Response:
        data = self.files.get(request.match_info["name"])
        return web.Response(body=data, content_type="video/mp4") if data is not None else web.Response(status=404)

    async def ca(self, request: web.Request) -> web.Response:
        return web.Response(text="".join(self.identity.published_ca_pems), content_type="application/x-pem-file")

    def video_post(self, author: str, text: str, data: bytes, *, digest_of: bytes | None = None) -> dict:
        name = uuid.uuid4().hex + ".mp4"
        self.files[name] = data
        note = self.note_doc(author, text)
        note["attachment"] = [{
            "type": "Document", "mediaType": "video/mp4", "url": self.url(f"/media/{name}"), "width": 64, "height": 112,
            "digestMultibase": digest_multibase(hashlib.sha256(digest_of if digest_of is not None else data).digest()),
        }]
        return self.create(author, text, note=note)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    directory = tmp_path_factory.mktemp("clips")
    return {"raw": make_mp4(directory / "raw.mp4", seconds=1.0), "dir": directory}


@pytest_asyncio.fixture(scope="module")
async def peer(tmp_path_factory):
    server = VideoPeer(tmp_path_factory.mktemp("peer"))
    await server.start()
    yield server
    await server.runner.cleanup()


def sign_as(identity: NodeIdentity, origin: str, raw, out) -> bytes:
    claim = VitascopeClaim(model_name="tiny-ltx2", model_version="0", weights_digest=None, test_model=True,
                           node=origin, job_id=uuid.uuid4().hex, prompt_digest=prompt_digest("waves"))
    sign_video(raw, out, identity, claim)
    return out.read_bytes()


def words() -> str:
    return "clip-" + uuid.uuid4().hex


async def public_media(http, node, text: str) -> dict:
    async with http.get(node.url + "/api/v1/timelines/public?remote=true&limit=40") as response:
        for status in await response.json():
            if text in status["content"]:
                return status["media_attachments"][0]
    raise AssertionError(f"{text} not public")


async def test_signed_video_from_its_origin_verifies(node, peer, http, clips):
    data = sign_as(peer.identity, peer.origin, clips["raw"], clips["dir"] / "good.mp4")
    text = words()
    status, _ = await post(http, node, peer.video_post("vee", text, data), signer="vee", fake=peer)
    assert status == 202
    await eventually_public(http, node, text)
    media = await public_media(http, node, text)
    assert media["provenance"]["verified"] is True and media["provenance"]["ai_generated"] is True
    assert media["provenance"]["node"] == peer.origin
    assert media["url"].startswith(node.url + "/media/")


@pytest.mark.parametrize("case", ["flipped byte", "manifest stripped", "unpublished CA", "digest mismatch"])
async def test_unverifiable_videos_are_refused(node, peer, http, clips, case):
    good = sign_as(peer.identity, peer.origin, clips["raw"], clips["dir"] / f"{case}.mp4")
    digest_of = None
    if case == "flipped byte":
        data = bytearray(good)
        data[len(data) * 2 // 3] ^= 0x01
        data = bytes(data)
    elif case == "manifest stripped":
        data = clips["raw"].read_bytes()
    elif case == "unpublished CA":
        rogue = NodeIdentity.load_or_create(clips["dir"] / "rogue", peer.origin)
        data = sign_as(rogue, peer.origin, clips["raw"], clips["dir"] / "rogue.mp4")
    else:
        data, digest_of = good, b"some other file"
    text = words()
    status, _ = await post(http, node, peer.video_post("vee", text, data, digest_of=digest_of), signer="vee", fake=peer)
    assert status == 202  # accepted for processing, then refused with a logged reason
    await never_public(http, node, text, peer)
    assert "refused" in node.log()


