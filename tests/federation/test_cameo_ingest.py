"""Issue 14 on the wire, viewer side: a node stores a remote video that shows a cameo only if every
grant on the Note and in the C2PA claim holds — hosted by the owner's node, signed by the owner's
key, bound to the generation that made this very video, the same on both sides, unexpired, live —
and takes the post down when the grant is revoked (a received Delete at once, a 410 at the re-check).

A fake node (its own C2PA CA) is both the renderer `vee` and the owner `olga`, so every forgery can
be made exactly; the node under test refuses each with a logged reason."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import pytest_asyncio

from federation.documents import cameo_authorization
from provenance.c2pa import VitascopeClaim, prompt_digest, sign_video
from provenance.consent import CameoAuthorization, ResolvedKey, claim_entry
from provenance.digests import digest_multibase
from provenance.keys import ed25519_multikey, generate_ed25519_private_pem
from tests.federation.test_inbox_attacks import http, never_public, post  # noqa: F401
from tests.federation.test_provenance_ingest import VideoPeer, public_media, words
from tests.support.media import make_mp4

LIKENESS = digest_multibase(b"\x01" * 32)


@pytest_asyncio.fixture(scope="module")
async def peer(tmp_path_factory):
    server = VideoPeer(tmp_path_factory.mktemp("cameo-peer"))
    await server.start()
    yield server
    await server.runner.cleanup()


@pytest.fixture(scope="module")
def viewer(nodes):
    """A node that re-checks grants every second (so a revocation found by the re-check shows fast)."""
    return nodes("cam-viewer", overrides={"provenance": {"cameo_grant_recheck_seconds": 1}})


@pytest.fixture(scope="module")
def marking_viewer(nodes):
    return nodes("cam-marker", overrides={"provenance": {"unverified_media": "mark"}})


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    return make_mp4(tmp_path_factory.mktemp("cameo-clips") / "raw.mp4", seconds=1.0)


def owner_key(peer, name: str = "olga", *, pem: str | None = None, controller: str = "olga") -> ResolvedKey:
    return ResolvedKey(peer.actor_id(name) + "#ed25519-key", peer.actor_id(controller),
                       ed25519_multikey(pem or peer.key(name).ed))


def make_grant(peer, job_id: str, *, post_job: str | None = None, expires: datetime | None = None,
               signer: str = "olga", pem: str | None = None) -> dict:
    grant = CameoAuthorization(
        id=peer.url(f"/notes/grant-{uuid.uuid4().hex}"), owner=peer.actor_id("olga"), target=peer.url("/cameos/1"),
        post=peer.url(f"/api/v1/vitascope/generations/{post_job or job_id}"), renderer=peer.actor_id("vee"),
        published=datetime.now(timezone.utc) - timedelta(minutes=1), expires=expires, likeness_digest=LIKENESS)
    doc = cameo_authorization(grant, pem or peer.key(signer).ed, peer.actor_id(signer) + "#ed25519-key")
    peer.objects[doc["id"]] = doc
    return doc


def cameo_post(peer, raw, directory, grant: dict, key: ResolvedKey, job_id: str, *, note_grant: dict | None = None):
    """vee's video post: the claim carries `grant` (with `key` as the owner's key snapshot), the Note
    names `note_grant` (the same grant unless given)."""
    claim = VitascopeClaim(model_name="tiny-ltx2", model_version="0", weights_digest=None, test_model=True,
                           node=peer.origin, job_id=job_id, prompt_digest=prompt_digest("@olga surfing"),
                           cameo_grants=[claim_entry(grant, key)])
    out = directory / f"{uuid.uuid4().hex}.mp4"
    sign_video(raw, out, peer.identity, claim)
    text = words()
    create = peer.video_post("vee", text, out.read_bytes())
    create["object"]["cameoGrant"] = [(note_grant or grant)["id"]]
    create["object"]["tag"] = [{"type": "Mention", "href": peer.actor_id("olga"), "name": f"@olga@{peer.origin}"}]
    return text, create


def job() -> str:
    return str(random.randrange(10**15, 10**16))


async def published(http, node, peer, create) -> None:
    status, _ = await post(http, node, create, signer="vee", fake=peer)
    assert status == 202


async def eventually_gone(http, node, text: str, timeout: float = 30) -> None:
    from tests.federation.test_inbox_attacks import public_contents

    deadline = asyncio.get_running_loop().time() + timeout
    while text in await public_contents(http, node):
        assert asyncio.get_running_loop().time() < deadline, f"{text!r} is still shown"
        await asyncio.sleep(0.1)


async def test_a_valid_grant_is_accepted_and_a_received_revocation_takes_the_post_down(viewer, peer, http, raw,
                                                                                         tmp_path):
    job_id = job()
    grant = make_grant(peer, job_id)
    text, create = cameo_post(peer, raw, tmp_path, grant, owner_key(peer), job_id)
    await published(http, viewer, peer, create)
    from tests.federation.test_inbox_attacks import eventually_public

    await eventually_public(http, viewer, text)
    assert (await public_media(http, viewer, text))["provenance"]["verified"] is True

    revoke = {"@context": "https://www.w3.org/ns/activitystreams", "id": grant["id"] + "#delete", "type": "Delete",
              "actor": peer.actor_id("olga"), "object": grant["id"],
              "to": ["https://www.w3.org/ns/activitystreams#Public"]}
    status, _ = await post(http, viewer, revoke, signer="olga", fake=peer)
    assert status == 202
    await eventually_gone(http, viewer, text)
    assert "revoked by " + peer.actor_id("olga") in viewer.log()


async def test_a_grant_found_revoked_at_the_recheck_takes_the_post_down(viewer, peer, http, raw, tmp_path):
    job_id = job()
    grant = make_grant(peer, job_id)
    text, create = cameo_post(peer, raw, tmp_path, grant, owner_key(peer), job_id)
    await published(http, viewer, peer, create)
    from tests.federation.test_inbox_attacks import eventually_public

    await eventually_public(http, viewer, text)
    del peer.objects[grant["id"]]  # the owner's node answers 404 now
    await eventually_gone(http, viewer, text)
    assert "is no longer in force" in viewer.log()


@pytest.mark.parametrize("case", ["forged", "other post", "expired", "different key", "note and manifest differ",
                                  "revoked before ingest"])
async def test_a_video_without_a_valid_live_grant_is_refused_with_the_reason_logged(viewer, peer, http, raw,
                                                                                   tmp_path, case):
    job_id = job()
    key, note_grant = owner_key(peer), None
    if case == "forged":  # signed with a key olga never published, the snapshot claims it is hers
        pem = generate_ed25519_private_pem()
        grant, key, code = make_grant(peer, job_id, pem=pem), owner_key(peer, pem=pem), "bad_proof"
    elif case == "other post":
        grant, code = make_grant(peer, job_id, post_job=job()), "other_post"
    elif case == "expired":
        until = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=2)
        grant, code = make_grant(peer, job_id, expires=until), "expired"
    elif case == "different key":  # mallory's real key, the snapshot claims it is olga's
        grant = make_grant(peer, job_id, signer="mallory")
        key, code = owner_key(peer, "mallory", controller="olga"), "wrong_key"
    elif case == "note and manifest differ":
        grant, note_grant, code = make_grant(peer, job_id), make_grant(peer, job_id), "not_in_manifest"
    else:
        grant, code = make_grant(peer, job_id), "revoked"
    text, create = cameo_post(peer, raw, tmp_path, grant, key, job_id, note_grant=note_grant)
    if case == "expired":
        while datetime.now(timezone.utc) <= until:  # the grant's own end time, not a guess
            await asyncio.sleep(0.1)
    if case == "revoked before ingest":
        del peer.objects[grant["id"]]
    before = viewer.log_path.stat().st_size
    await published(http, viewer, peer, create)
    await never_public(http, viewer, text, peer)
    logged = viewer.log_path.read_bytes()[before:].decode(errors="replace")
    assert "refused" in logged and code in logged, logged[-3000:]


async def test_with_mark_the_post_is_kept_and_its_video_marked(marking_viewer, peer, http, raw, tmp_path):
    from tests.federation.test_inbox_attacks import eventually_public

    job_id = job()
    grant = make_grant(peer, job_id, post_job=job())  # bound to another generation
    text, create = cameo_post(peer, raw, tmp_path, grant, owner_key(peer), job_id)
    await published(http, marking_viewer, peer, create)
    await eventually_public(http, marking_viewer, text)
    provenance = (await public_media(http, marking_viewer, text))["provenance"]
    assert provenance["verified"] is False and provenance["state"] == "cameo_consent"
    assert "other_post" in provenance["reason"]
