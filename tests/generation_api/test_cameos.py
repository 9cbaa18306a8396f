"""Cameos on one live node with a worker: capture verification, the owner's policy, consent for each
use (signed grant in the video's C2PA claim), notification before rendering, the owner's ledger,
revocation (410 at the grant's URL) and refusals."""

from __future__ import annotations

import os
import time
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import requests

from provenance.c2pa import verify_video
from provenance.consent import read_claim_grants
from tests.support.captures import make_capture
from tests.support.downloads import download, node_cas
from tests.support.generation import generate, wait_job

# The shipped chain minus the phrase check (no offline transcriber: it always asks a moderator).
VERIFIERS = ["generation.cameo_checks:container", "generation.cameo_checks:recorded_after_challenge",
             "generation.cameo_checks:moving_picture", "generation.cameo_checks:live_sound",
             "generation.cameo_checks:speech_present", "generation.cameo_checks:faces"]


@pytest.fixture(scope="module")
def cameo_node(nodes, tiny_models):
    node = nodes("cameo", overrides={"generation": {"cameo_verifiers": VERIFIERS, "free_per_day": 100,
                                                    "max_active_per_user": 10}})
    worker = node.start_worker(models=tiny_models)
    yield node
    worker.stop()


def user(node):
    name, _ = node.create_user()
    api = node.api(node.token(name))
    return name, api, api.get("/api/v1/accounts/verify_credentials").json()["id"]


def wait_cameo(api, cameo_id: str, timeout: float = 120) -> dict:
    deadline = time.time() + timeout
    while True:
        cameo = api.get(f"/api/v1/vitascope/cameos/{cameo_id}").json()
        if cameo["state"] != "pending":
            return cameo
        if time.time() > deadline:
            raise TimeoutError(f"cameo {cameo_id} still pending")
        time.sleep(0.2)


def capture(api, tmp_path: Path, handle: str, **media) -> requests.Response:
    challenge = api.post("/api/v1/vitascope/cameos/challenges").json()
    path = make_capture(tmp_path / f"{handle}.mp4", phrase=challenge["phrase"], created_at=datetime.now(timezone.utc),
                        **media)
    with open(path, "rb") as fh:
        return api.post("/api/v1/vitascope/cameos", files={"recording": ("capture.mp4", fh, "video/mp4")},
                        data={"kind": "person", "name": handle.title(), "handle": handle,
                              "challenge_id": challenge["id"]})


@pytest.fixture(scope="module")
def owner(cameo_node, tmp_path_factory):
    """A person with a verified cameo (handle `<username>_cam`)."""
    name, api, account_id = user(cameo_node)
    r = capture(api, tmp_path_factory.mktemp("owner"), f"{name}_cam")
    assert r.status_code == 202, r.text
    cameo = wait_cameo(api, r.json()["id"])
    assert cameo["state"] == "verified", cameo
    return {"name": name, "api": api, "id": account_id, "cameo": cameo}


def set_policy(owner, **fields) -> dict:
    r = owner["api"].patch(f"/api/v1/vitascope/cameos/{owner['cameo']['id']}", json=fields)
    assert r.status_code == 200, r.text
    return r.json()


def refused(api, prompt: str) -> str:
    r = api.post("/api/v1/vitascope/generations", json={"prompt": prompt, "duration": 1})
    assert r.status_code == 422, r.text
    return r.json()["error"]


def uses(owner) -> list[dict]:
    return owner["api"].get(f"/api/v1/vitascope/cameos/{owner['cameo']['id']}/uses").json()


def test_person_capture_is_verified_or_rejected_and_kept_private(cameo_node, tmp_path):
    name, api, _ = user(cameo_node)
    challenge = api.post("/api/v1/vitascope/cameos/challenges").json()
    assert len(challenge["phrase"].split()) == 4 and challenge["expires_at"]
    path = make_capture(tmp_path / "good.mp4", phrase=challenge["phrase"], created_at=datetime.now(timezone.utc))
    form = {"kind": "person", "name": "Me", "handle": f"{name}_me", "challenge_id": challenge["id"]}
    with open(path, "rb") as fh:
        r = api.post("/api/v1/vitascope/cameos", files={"recording": fh}, data=form)
    assert r.status_code == 202, r.text
    with open(path, "rb") as fh:  # the challenge was used up
        again = api.post("/api/v1/vitascope/cameos", files={"recording": fh}, data={**form, "handle": f"{name}_2"})
    assert again.status_code == 422 and "challenge" in again.json()["error"]
    verified = wait_cameo(api, r.json()["id"])
    assert verified["state"] == "verified", verified
    stored = list((cameo_node.data_dir / "cameos").glob(f"{r.json()['id']}.*"))
    assert stored and all(os.stat(p).st_mode & 0o777 == 0o600 for p in stored)

    still_name, still_api, _ = user(cameo_node)
    bad = capture(still_api, tmp_path, f"{still_name}_x", still=True)  # a photo held up: no motion
    assert bad.status_code == 202, bad.text
    rejected = wait_cameo(still_api, bad.json()["id"])
    assert rejected["state"] == "rejected" and rejected["review_reason"]


def test_policies_allow_and_refuse(cameo_node, owner):
    handle = owner["cameo"]["handle"]
    _, creator, creator_id = user(cameo_node)
    set_policy(owner, policy="only_me")
    assert "only the owner may use it" in refused(creator, f"@{handle} surfing")
    set_policy(owner, policy="everyone")
    assert generate(creator, prompt=f"@{handle} surfing", duration=1)["state"] == "queued"
    set_policy(owner, deny=[creator_id])
    assert "does not allow you" in refused(creator, f"@{handle} skiing")
    set_policy(owner, deny=[], policy="mutuals")
    assert "mutuals" in refused(creator, f"@{handle} skiing")
    creator.post(f"/api/v1/accounts/{owner['id']}/follow").raise_for_status()
    owner["api"].post(f"/api/v1/accounts/{creator_id}/follow").raise_for_status()
    assert generate(creator, prompt=f"@{handle} skiing", duration=1)["state"] == "queued"
    set_policy(owner, policy="everyone", restrictions="never in political content")
    assert "restriction ('political')" in refused(creator, f"@{handle} giving a political speech")


def test_approve_each_use(cameo_node, owner):
    handle = owner["cameo"]["handle"]
    _, creator, _ = user(cameo_node)
    set_policy(owner, policy="approve", restrictions="")
    waiting = generate(creator, prompt=f"@{handle} baking bread", duration=1)
    denied = generate(creator, prompt=f"@{handle} juggling", duration=1)
    assert waiting["state"] == denied["state"] == "awaiting_consent"
    pending = {r["generation"]["id"]: r for r in owner["api"].get("/api/v1/vitascope/cameos/requests").json()}
    owner["api"].post(f"/api/v1/vitascope/cameos/requests/{pending[denied['id']]['id']}/deny").raise_for_status()
    assert "declined" in wait_job(creator, denied["id"])["error"]
    owner["api"].post(f"/api/v1/vitascope/cameos/requests/{pending[waiting['id']]['id']}/approve").raise_for_status()
    assert wait_job(creator, waiting["id"])["state"] == "done"


def test_owner_is_notified_and_sees_every_use_and_the_video_carries_the_grant(cameo_node, owner, tmp_path):
    handle = owner["cameo"]["handle"]
    creator_name, creator, creator_id = user(cameo_node)
    set_policy(owner, policy="everyone", restrictions="")
    job = generate(creator, prompt=f"@{handle} on the moon", duration=1)
    # Before the render ends (and whether or not it is ever posted), the owner knows.
    notes = owner["api"].get("/api/v1/notifications", params={"types[]": "vitascope.cameo_use"}).json()
    assert any(n["type"] == "vitascope.cameo_use" and n["account"]["id"] == creator_id for n in notes)
    [use] = [u for u in uses(owner) if u["generation"]["id"] == job["id"]]
    assert use["creator"]["username"] == creator_name and use["prompt"] == f"@{handle} on the moon"
    assert use["state"] == "granted" and use["status_id"] is None

    done = wait_job(creator, job["id"])
    assert done["state"] == "done", done
    path = download(done["media_attachment"]["url"], tmp_path / "cameo.mp4")
    verdict = verify_video(path, node_cas(cameo_node))
    assert verdict.ok, verdict.reason
    [entry] = verdict.claim["cameo_grants"]
    [checked] = read_claim_grants([entry], renderer_host=cameo_node.url.split("://", 1)[1])
    assert checked.verdict.ok, checked.verdict.describe()
    hosted = requests.get(use["grant_url"], timeout=10)
    assert hosted.status_code == 200 and hosted.json() == entry["grant"]


def test_revoked_grant_answers_410_and_new_uses_are_refused(cameo_node, owner):
    handle = owner["cameo"]["handle"]
    _, creator, creator_id = user(cameo_node)
    set_policy(owner, policy="everyone", restrictions="")
    job = generate(creator, prompt=f"@{handle} reading a book", duration=1)
    [use] = [u for u in uses(owner) if u["generation"]["id"] == job["id"]]
    assert requests.get(use["grant_url"], timeout=10).status_code == 200
    r = owner["api"].post(f"/api/v1/vitascope/cameos/{owner['cameo']['id']}/revoke", json={"account_id": creator_id})
    assert r.status_code == 200 and r.json()["revoked"] >= 1
    assert requests.get(use["grant_url"], timeout=10).status_code == 410
    assert "does not allow you" in refused(creator, f"@{handle} reading again")


def test_mentioning_a_verified_person_without_consent_is_refused(cameo_node, owner):
    _, creator, _ = user(cameo_node)
    set_policy(owner, policy="only_me")
    assert "only the owner may use it" in refused(creator, f"@{owner['name']} dancing in the rain")


def test_a_remix_asks_again_and_the_owner_can_take_the_video_down(cameo_node, owner):
    handle = owner["cameo"]["handle"]
    _, creator, _ = user(cameo_node)
    set_policy(owner, policy="everyone", restrictions="")
    done = wait_job(creator, generate(creator, prompt=f"@{handle} waving", duration=1)["id"])
    assert done["state"] == "done", done
    r = creator.post("/api/v1/statuses", json={"status": "look", "media_ids": [done["media_attachment"]["id"]]})
    assert r.status_code == 200, r.text
    status = r.json()

    _, remixer, _ = user(cameo_node)
    set_policy(owner, policy="only_me")
    r = remixer.post("/api/v1/vitascope/generations", json={"prompt": "in neon", "duration": 1,
                                                           "remix_of_id": status["id"]})
    assert r.status_code == 422 and "only the owner may use it" in r.json()["error"]

    [use] = [u for u in uses(owner) if u["generation"]["id"] == done["id"]]
    assert use["status_id"] == status["id"]
    gone = owner["api"].delete(f"/api/v1/vitascope/cameos/{owner['cameo']['id']}/uses/{use['id']}")
    assert gone.status_code == 200, gone.text
    assert creator.get(f"/api/v1/statuses/{status['id']}").status_code == 404
    assert requests.get(use["grant_url"], timeout=10).status_code == 410


def test_moderators_review_captures_by_api_and_cli(cameo_node, tmp_path):
    name, api, _ = user(cameo_node)
    r = capture(api, tmp_path, f"{name}_rv", faces=0)  # no face: the checks cannot approve it
    assert r.status_code == 202, r.text
    cameo = wait_cameo(api, r.json()["id"])
    assert cameo["state"] in ("needs_review", "rejected"), cameo
    admin_name, _ = cameo_node.create_user(admin=True)
    admin = cameo_node.api(cameo_node.token(admin_name, scopes="read write admin:read admin:write"))
    assert api.get("/api/v1/admin/vitascope/cameos").status_code == 403
    listed = admin.get("/api/v1/admin/vitascope/cameos", params={"state": cameo["state"]}).json()
    assert cameo["id"] in [c["id"] for c in listed]
    assert cameo["handle"] in cameo_node.cli("admin", "cameos", "list", "--state", cameo["state"]).stdout
    out = cameo_node.cli("admin", "cameos", "reject", cameo["id"], "--reason", "no face visible").stdout
    assert "rejected" in out
    assert api.get(f"/api/v1/vitascope/cameos/{cameo['id']}").json()["review_reason"] == "no face visible"


def test_a_teen_cannot_open_a_cameo_to_everyone_and_parental_controls_apply(cameo_node, tmp_path):
    cameo_node.create_user()  # makes sure the node's app token exists
    username = "t" + uuid.uuid4().hex[:10]
    today = date.today()
    born = today.replace(year=today.year - 15, day=min(today.day, 28)).isoformat()
    r = requests.post(cameo_node.url + "/api/v1/accounts", timeout=30,
                      headers={"Authorization": f"Bearer {cameo_node._app_token}"},
                      data={"username": username, "password": "correct horse battery", "agreement": "true",
                            "email": f"{username}@example.com", "date_of_birth": born})
    assert r.status_code == 200, r.text
    teen_api = cameo_node.api(r.json()["access_token"])
    teen_id = teen_api.get("/api/v1/accounts/verify_credentials").json()["id"]
    made = capture(teen_api, tmp_path, f"{username}_c")
    assert made.status_code == 202, made.text
    teen = {"name": username, "api": teen_api, "id": teen_id, "cameo": wait_cameo(teen_api, made.json()["id"])}
    assert teen["cameo"]["state"] == "verified", teen["cameo"]

    r = teen_api.patch(f"/api/v1/vitascope/cameos/{teen['cameo']['id']}", json={"policy": "everyone"})
    assert r.status_code == 422 and "teen" in r.json()["error"]
    set_policy(teen, policy="mutuals")
    _, friend, friend_id = user(cameo_node)
    friend.post(f"/api/v1/accounts/{teen_id}/follow").raise_for_status()
    teen_api.post(f"/api/v1/accounts/{friend_id}/follow").raise_for_status()
    # The teen's parental `cameo` setting starts at "nobody": even a mutual is refused.
    assert "parental controls" in refused(friend, f"@{teen['cameo']['handle']} at the beach")


@pytest.fixture(scope="module")
def second(cameo_node, tmp_path_factory):
    """Another person with a verified cameo, which a test may delete."""
    name, api, account_id = user(cameo_node)
    r = capture(api, tmp_path_factory.mktemp("second"), f"{name}_two")
    assert r.status_code == 202, r.text
    cameo = wait_cameo(api, r.json()["id"])
    assert cameo["state"] == "verified", cameo
    return {"name": name, "api": api, "id": account_id, "cameo": cameo}


def test_consent_for_all_tagged_cameos_is_all_or_nothing(cameo_node, owner, second):
    """The first cameo allows the use, the second refuses it: no ledger row, grant or notification is left."""
    set_policy(owner, policy="everyone", restrictions="")
    set_policy(second, policy="only_me")
    _, creator, creator_id = user(cameo_node)
    error = refused(creator, f"@{owner['cameo']['handle']} dancing with @{second['cameo']['handle']}")
    assert "only the owner may use it" in error
    assert not [u for u in uses(owner) if u["creator"]["id"] == creator_id]
    notes = owner["api"].get("/api/v1/notifications", params={"account_id": creator_id}).json()
    assert notes == []
    # Both allowed: both owners get their use, grant and notification.
    set_policy(second, policy="everyone")
    job = generate(creator, prompt=f"@{owner['cameo']['handle']} dancing with @{second['cameo']['handle']}",
                   duration=1)
    for person in (owner, second):
        [use] = [u for u in uses(person) if u["generation"]["id"] == job["id"]]
        assert use["state"] == "granted" and use["grant_url"]
        assert person["api"].get("/api/v1/notifications", params={"account_id": creator_id}).json()


def test_owners_restrictions_reach_the_model_as_negative_prompt(cameo_node, owner):
    set_policy(owner, policy="everyone", restrictions="never in political content, no alcohol")
    _, creator, _ = user(cameo_node)
    job = generate(creator, prompt=f"@{owner['cameo']['handle']} surfing", negative_prompt="blurry", duration=1)
    assert job["negative_prompt"] == "blurry, political, alcohol"
    done = wait_job(creator, job["id"])
    assert done["state"] == "done", done  # the tiny pipeline renders with it
    set_policy(owner, restrictions="")


def test_mastodon_clients_see_every_use_as_a_mention(cameo_node, owner):
    set_policy(owner, policy="everyone", restrictions="")
    creator_name, creator, creator_id = user(cameo_node)
    generate(creator, prompt=f"@{owner['cameo']['handle']} in the snow", duration=1)  # a draft, never posted
    client = cameo_node.mastodon(owner["name"])
    [note] = [n for n in client.notifications(account_id=creator_id)]
    assert note["type"] == "mention" and note["account"]["id"] == creator_id
    assert note["status"]["visibility"] == "direct" and creator_name in note["status"]["content"]
    assert [n["type"] for n in client.notifications(types=["mention"], account_id=creator_id)] == ["mention"]
    assert client.notifications(exclude_types=["mention"], account_id=creator_id) == []
    [rich] = client.notifications(types=["vitascope.cameo_use"], account_id=creator_id)
    assert rich["type"] == "vitascope.cameo_use" and rich["id"] == note["id"]


def test_a_deleted_cameos_grants_answer_410_with_a_tombstone(cameo_node, second):
    set_policy(second, policy="everyone", restrictions="")
    _, creator, _ = user(cameo_node)
    job = generate(creator, prompt=f"@{second['cameo']['handle']} on a boat", duration=1)
    [use] = [u for u in uses(second) if u["generation"]["id"] == job["id"]]
    assert requests.get(use["grant_url"], timeout=10).status_code == 200
    r = second["api"].delete(f"/api/v1/vitascope/cameos/{second['cameo']['id']}")
    assert r.status_code == 200, r.text
    gone = requests.get(use["grant_url"], timeout=10)
    assert gone.status_code == 410
    assert gone.json()["type"] == "Tombstone" and gone.json()["id"] == use["grant_url"]
    assert requests.get(use["grant_url"] + "1", timeout=10).status_code == 404  # never was


def test_only_real_uploads_get_the_upload_body_limit(cameo_node, owner):
    big = 1024 * 1024 + 1  # over limits.max_body_bytes
    r = owner["api"].patch(f"/api/v1/vitascope/cameos/{owner['cameo']['id']}",
                           data=b"x" * big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]
    r = owner["api"].post("/api/v1/vitascope/generations", data={"prompt": "a still lake", "duration": "1"},
                          files={"image": ("lake.png", b"\0" * (2 * big), "image/png")})
    assert r.status_code == 422, r.text  # read and judged (not an image), not cut off at the body limit


def test_search_lists_only_the_cameos_one_may_tag(cameo_node, owner):
    """Autocomplete for @tags: a cameo shows up for whoever may use it (at once or on approval), and shows
    nothing of its policy."""
    handle = owner["cameo"]["handle"]
    _, finder, finder_id = user(cameo_node)

    def found(api, q: str) -> dict:
        r = api.get("/api/v1/vitascope/cameos/search", params={"q": q})
        assert r.status_code == 200, r.text
        return {c["handle"]: c for c in r.json()}

    set_policy(owner, policy="only_me", allow=[], deny=[])
    assert handle not in found(finder, handle[:4])
    assert found(owner["api"], "@" + handle[:4])[handle]["needs_approval"] is False  # one's own
    set_policy(owner, policy="approve")
    assert found(finder, handle[:4].upper())[handle]["needs_approval"] is True
    set_policy(owner, policy="everyone")
    hit = found(finder, handle)[handle]
    assert hit == {"id": owner["cameo"]["id"], "handle": handle, "name": owner["cameo"]["name"], "kind": "person",
                   "needs_approval": False, "owner": {"id": owner["id"], "acct": owner["name"]}}
    set_policy(owner, deny=[finder_id])
    assert handle not in found(finder, handle)
    assert found(finder, "not a handle!") == {} and found(finder, "") == {}
    set_policy(owner, policy="only_me", deny=[])


def test_a_browser_recording_that_states_no_duration_is_measured(cameo_node, tmp_path):
    """A browser's MediaRecorder writes its WebM front to back, with no duration in it: the node (upload
    check) and the worker (capture checks) measure it from the packets instead of refusing it."""
    name, api, _ = user(cameo_node)
    path = make_capture(tmp_path / "pet.webm", faces=0, audio="noise", streamed=True)
    with open(path, "rb") as fh:
        r = api.post("/api/v1/vitascope/cameos", files={"recording": ("capture.webm", fh, "video/webm")},
                     data={"kind": "character", "name": "Rex", "handle": f"{name}_rex"})
    assert r.status_code == 202, r.text
    cameo = wait_cameo(api, r.json()["id"])
    assert cameo["state"] == "verified", cameo
