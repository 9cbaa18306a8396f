"""Cameos across three live nodes: the owner on A, the creator (renderer) on B, a viewer on C.

B's creator tags A's cameo as `@handle@A`; B asks A (CameoRequest) before rendering, A answers by
the owner's policy (Accept with the signed grant, or Reject) and notifies the owner at once, B
fetches the likeness with a signed GET bound to the grant, renders, and reports the use; A's
revocation (Delete of the grant) takes the video down on B and, through B's Delete, on C."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest
import requests

from provenance.c2pa import verify_video
from federation.signatures import sign_cavage
from provenance.consent import read_claim_grants
from provenance.proofs import verify_proof
from tests.federation.test_inbox_attacks import post
from tests.api.test_web_push import PushService, Receiver, subscribe
from tests.federation.test_two_nodes import acct, follow, in_home
from tests.generation_api.test_cameos import VERIFIERS, capture, user, wait_cameo
from tests.support.peers import FakeServer
from tests.support.downloads import download, node_cas
from tests.support.generation import generate, wait_job
from tests.support.waiting import wait_for

AP = {"Accept": "application/activity+json"}
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@pytest.fixture(scope="module")
def three(nodes, tiny_models):
    a = nodes("cam-a", overrides={"generation": {"cameo_verifiers": VERIFIERS}})
    b = nodes("cam-b", overrides={"generation": {"free_per_day": 100, "max_active_per_user": 10}})
    c = nodes("cam-c")
    workers = [a.start_worker(models=tiny_models), b.start_worker(models=tiny_models)]
    yield a, b, c
    for worker in workers:
        worker.stop()


@pytest.fixture(scope="module")
def owner(three, tmp_path_factory):
    a = three[0]
    name, api, account_id = user(a)
    r = capture(api, tmp_path_factory.mktemp("owner"), f"{name}_cam")
    assert r.status_code == 202, r.text
    cameo = wait_cameo(api, r.json()["id"])
    assert cameo["state"] == "verified", cameo
    return {"name": name, "api": api, "id": account_id, "cameo": cameo, "tag": f"@{cameo['handle']}@{a.domain}"}


def set_policy(owner, **fields) -> dict:
    r = owner["api"].patch(f"/api/v1/vitascope/cameos/{owner['cameo']['id']}", json=fields)
    assert r.status_code == 200, r.text
    return r.json()


def uses(owner) -> list[dict]:
    return owner["api"].get(f"/api/v1/vitascope/cameos/{owner['cameo']['id']}/uses").json()


def use_of(owner, creator_acct: str, prompt: str) -> dict | None:
    return next((u for u in uses(owner) if u["creator"]["acct"] == creator_acct and u["prompt"] == prompt), None)


def test_the_owners_node_publishes_a_signed_cameo_without_its_references(three, owner):
    a = three[0]
    set_policy(owner, policy="everyone")
    actor = requests.get(f"{a.url}/users/{owner['name']}", headers=AP, timeout=10).json()
    assert actor["interactionPolicy"]["canCameo"]["automaticApproval"] == [PUBLIC]
    collection = requests.get(actor["cameos"], headers=AP, timeout=10).json()
    assert collection["orderedItems"] == [owner["cameo"]["url"]]
    cameo = requests.get(owner["cameo"]["url"], headers=AP, timeout=10).json()
    assert cameo["type"] == "Cameo" and cameo["attributedTo"] == actor["id"]
    assert cameo["preferredUsername"] == owner["cameo"]["handle"] and cameo["likenessDigest"].startswith("z")
    [key] = actor["assertionMethod"]
    assert cameo["proof"]["verificationMethod"] == key["id"]
    verify_proof(cameo, key["publicKeyMultibase"])
    assert not {"reference_path", "capture_path", "evidence", "url"} & set(cameo)
    jrd = requests.get(f"{a.url}/.well-known/webfinger", timeout=10,
                       params={"resource": f"acct:{owner['cameo']['handle']}@{a.domain}"}).json()
    assert [link["href"] for link in jrd["links"] if link["rel"] == "self"] == [owner["cameo"]["url"]]


def test_a_creator_on_another_node_asks_first_renders_and_a_revocation_takes_the_video_down_everywhere(
        three, owner, tmp_path):
    a, b, c = three
    set_policy(owner, policy="everyone", restrictions="")
    creator_name, creator, _ = user(b)
    creator_acct = acct(b, creator_name)
    viewer = c.mastodon()
    follow(viewer, creator_acct)

    prompt = f"{owner['tag']} surfing at dawn"
    job = generate(creator, prompt=prompt, duration=1)
    assert job["state"] == "awaiting_consent"  # nothing renders before the owner's node answers
    # The owner is told at request time, before anything is rendered or posted.
    use = wait_for(lambda: use_of(owner, creator_acct, prompt), what="the use in the owner's ledger on A")
    notes = owner["api"].get("/api/v1/notifications", params={"types[]": "vitascope.cameo_use"}).json()
    assert any(n["account"]["acct"] == creator_acct for n in notes)
    assert use["state"] == "granted" and use["remote"]["post"].startswith(b.url)

    done = wait_job(creator, job["id"])
    assert done["state"] == "done", done
    path = download(done["media_attachment"]["url"], tmp_path / "cameo.mp4")
    verdict = verify_video(path, node_cas(b))
    assert verdict.ok, verdict.reason
    [entry] = verdict.claim["cameo_grants"]
    assert entry["grant"]["id"] == use["grant_url"] and entry["grant"]["interactionTarget"] == owner["cameo"]["url"]
    [checked] = read_claim_grants([entry], renderer_host=b.domain)
    assert checked.verdict.ok, checked.verdict.describe()
    assert wait_for(lambda: use_of(owner, creator_acct, prompt)["remote"]["state"] == "rendered",
                    what="B's report of the render")
    # The likeness was fetched once, for the render: no one gets it now, signed or not.
    assert requests.get(use["grant_url"] + "/likeness", timeout=10).status_code == 401
    assert "likeness fetch for grant" in a.log() and "refused: the request is not signed" in a.log()

    r = creator.post("/api/v1/statuses", json={"status": "with a friend",
                                               "media_ids": [done["media_attachment"]["id"]]})
    assert r.status_code == 200, r.text
    status = r.json()
    assert wait_for(lambda: use_of(owner, creator_acct, prompt)["remote"]["status_uri"] == status["uri"],
                    what="B's report of the post")
    # The Note names the grant and mentions the owner (all Mastodon needs to show who is in it).
    note = requests.get(status["uri"], headers=AP, timeout=10).json()
    assert note["cameoGrant"] == [use["grant_url"]]
    owner_uri = requests.get(owner["cameo"]["url"], headers=AP, timeout=10).json()["attributedTo"]
    assert {"type": "Mention", "href": owner_uri, "name": f"@{owner['name']}@{a.domain}"} in note["tag"]
    # C checked the grant (Note and manifest, owner's key, this very generation, still live) and shows it.
    seen = wait_for(lambda: in_home(viewer, status["uri"]), timeout=60, what="the video on C")
    assert seen["media_attachments"][0]["provenance"]["verified"]
    assert "cameo consent" not in c.log()
    # A remix of it on C is a new use: C asks A, whose owner allows only themself now.
    set_policy(owner, policy="only_me")
    viewer_api = c.api(viewer.access_token)
    remix = generate(viewer_api, prompt="in neon", duration=1, remix_of_id=seen["id"])
    assert remix["state"] == "awaiting_consent"
    refused = wait_job(viewer_api, remix["id"])
    assert refused["state"] == "failed" and "declined" in refused["error"]

    creator_on_a = use["creator"]["id"]
    r = owner["api"].post(f"/api/v1/vitascope/cameos/{owner['cameo']['id']}/revoke", json={"account_id": creator_on_a})
    assert r.status_code == 200 and r.json()["revoked"] == 1
    gone = requests.get(use["grant_url"], timeout=10)
    assert gone.status_code == 410 and gone.json()["type"] == "Tombstone"
    wait_for(lambda: creator.get(f"/api/v1/statuses/{status['id']}").status_code == 404, timeout=60,
             what="the takedown on B")
    wait_for(lambda: in_home(viewer, status["uri"]) is None, timeout=60, what="the takedown on C")

    # New uses are refused by the owner's node (the creator is on the deny list now).
    again = generate(creator, prompt=f"{owner['tag']} surfing again", duration=1)
    failed = wait_job(creator, again["id"])
    assert failed["state"] == "failed" and "declined" in failed["error"]


async def test_a_mastodon_shaped_follower_sees_a_mention_and_receives_the_delete(three, owner):
    """A plain ActivityPub server following the creator: an ordinary video Note mentioning the owner,
    then, once the owner revokes, the Delete of the Note (and the owner's Delete of the grant)."""
    a, b, _ = three
    await asyncio.to_thread(set_policy, owner, policy="everyone", restrictions="")
    creator_name, creator, _ = await asyncio.to_thread(user, b)
    masto = FakeServer()
    await masto.start()
    try:
        creator_uri = f"{b.url}/users/{creator_name}"
        follow_doc = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Follow",
                      "id": masto.url(f"/follows/{uuid.uuid4().hex}"), "actor": masto.actor_id("masto"), "object": creator_uri}
        async with aiohttp.ClientSession() as http:
            status, _ = await post(http, b, follow_doc, signer="masto", fake=masto)
        assert status == 202
        await until(lambda: received(masto, "Accept"), "the Accept of the follow")

        job = await asyncio.to_thread(generate, creator, prompt=f"{owner['tag']} on a bike", duration=1)
        done = await asyncio.to_thread(wait_job, creator, job["id"])
        assert done["state"] == "done", done
        r = await asyncio.to_thread(creator.post, "/api/v1/statuses",
                                    json={"status": "ride", "media_ids": [done["media_attachment"]["id"]]})
        posted = r.json()
        [create] = await until(lambda: [d for d in received(masto, "Create") if d["object"]["id"] == posted["uri"]],
                               "the Create of the video Note")
        note = create["object"]
        assert note["type"] == "Note" and note["attachment"][0]["mediaType"] == "video/mp4"
        mention = next(t for t in note["tag"] if t["type"] == "Mention")
        assert mention["name"] == f"@{owner['name']}@{a.domain}" and mention["href"] in note["cc"]

        [use] = [u for u in await asyncio.to_thread(uses, owner) if u["remote"] and
                 u["remote"]["post"].endswith(f"/generations/{job['id']}")]
        # Another server cannot have the likeness, however well it signs its request.
        likeness = use["grant_url"] + "/likeness"
        headers = {"Accept": "image/png"}
        headers |= sign_cavage("GET", likeness, headers, None, masto.actor_id("masto") + "#main-key",
                               masto.key("masto").rsa)
        async with aiohttp.ClientSession() as http, http.get(likeness, headers=headers) as response:
            assert response.status == 403
        assert "refused: signed by " + masto.actor_id("masto") in await asyncio.to_thread(a.log)
        r = await asyncio.to_thread(owner["api"].delete,
                                    f"/api/v1/vitascope/cameos/{owner['cameo']['id']}/uses/{use['id']}")
        assert r.status_code == 200, r.text
        await until(lambda: [d for d in received(masto, "Delete")
                             if isinstance(d["object"], dict) and d["object"].get("id") == posted["uri"]],
                    "the Delete of the Note")
        await until(lambda: [d for d in received(masto, "Delete") if d["object"] == use["grant_url"]],
                    "the owner's Delete of the grant, forwarded by the renderer")
    finally:
        await masto.runner.cleanup()


def received(fake, kind: str) -> list[dict]:
    return [doc for _, _, doc, _ in fake.received if doc.get("type") == kind]


async def until(probe, what: str, timeout: float = 60):
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := probe()):
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)
    return value


def test_approve_each_use_waits_for_the_owner_across_nodes(three, owner):
    a, b, _ = three
    set_policy(owner, policy="approve", restrictions="")
    creator_name, creator, _ = user(b)
    creator_acct = acct(b, creator_name)
    waiting = generate(creator, prompt=f"{owner['tag']} baking bread", duration=1)
    denied = generate(creator, prompt=f"{owner['tag']} juggling", duration=1)

    def requests_of_creator():
        found = [r for r in owner["api"].get("/api/v1/vitascope/cameos/requests").json()
                 if r["creator"]["acct"] == creator_acct]
        return found if len(found) == 2 else None

    pending = {r["prompt"]: r for r in wait_for(requests_of_creator, what="both requests on A")}
    assert creator.get(f"/api/v1/vitascope/generations/{waiting['id']}").json()["state"] == "awaiting_consent"
    owner["api"].post(f"/api/v1/vitascope/cameos/requests/{pending[denied['prompt']]['id']}/deny").raise_for_status()
    assert "declined" in wait_job(creator, denied["id"])["error"]
    approve = pending[waiting["prompt"]]["id"]
    owner["api"].post(f"/api/v1/vitascope/cameos/requests/{approve}/approve").raise_for_status()
    assert wait_job(creator, waiting["id"])["state"] == "done"


def test_only_me_and_restrictions_refuse_a_remote_creator(three, owner):
    _, b, _ = three
    _, creator, _ = user(b)
    set_policy(owner, policy="only_me")
    job = generate(creator, prompt=f"{owner['tag']} dancing", duration=1)
    failed = wait_job(creator, job["id"])
    assert failed["state"] == "failed" and "declined" in failed["error"]
    set_policy(owner, policy="everyone", restrictions="never in political content")
    job = generate(creator, prompt=f"{owner['tag']} giving a political speech", duration=1)
    assert wait_job(creator, job["id"])["state"] == "failed"


def test_mentioning_a_remote_person_with_a_cameo_asks_their_node_and_a_block_refuses(three, owner):
    a, b, _ = three
    set_policy(owner, policy="everyone", restrictions="")
    creator_name, creator, _ = user(b)
    creator_acct = acct(b, creator_name)
    r = creator.get("/api/v1/accounts/lookup", params={"acct": f"{owner['name']}@{a.domain}"})
    assert r.status_code == 200, r.text  # B knows the owner's account now
    prompt = f"@{owner['name']}@{a.domain} dancing"
    job = generate(creator, prompt=prompt, duration=1)
    assert job["state"] == "awaiting_consent"
    assert wait_for(lambda: use_of(owner, creator_acct, prompt), what="the use on A")["state"] == "granted"
    assert wait_job(creator, job["id"])["state"] == "done"

    creator_on_a = owner["api"].get("/api/v1/accounts/lookup", params={"acct": creator_acct}).json()["id"]
    owner["api"].post(f"/api/v1/accounts/{creator_on_a}/block").raise_for_status()
    blocked = wait_job(creator, generate(creator, prompt=f"{owner['tag']} dancing again", duration=1)["id"])
    assert blocked["state"] == "failed" and "declined" in blocked["error"]


def test_mutuals_across_nodes(three, owner):
    a, b, _ = three
    set_policy(owner, policy="mutuals", restrictions="")
    creator = b.mastodon()
    creator_api = b.api(creator.access_token)
    prompt = f"{owner['tag']} sailing"
    refused = wait_job(creator_api, generate(creator_api, prompt=prompt, duration=1)["id"])
    assert refused["state"] == "failed" and "declined" in refused["error"]
    follow(creator, acct(a, owner["name"]))
    owner_client = a.mastodon(owner["name"])
    follow(owner_client, acct(b, creator.vs_username))
    assert wait_job(creator_api, generate(creator_api, prompt=prompt, duration=1)["id"])["state"] == "done"


def test_an_unknown_remote_cameo_is_refused_before_anything_is_asked(three, owner):
    a, b, _ = three
    _, creator, _ = user(b)
    r = creator.post("/api/v1/vitascope/generations", json={"prompt": f"{a.url}/cameos/12345 waving", "duration": 1})
    assert r.status_code == 422 and "does not confirm it" in r.json()["error"]


def deleted_notices(owner, creator_acct: str) -> list[dict]:
    notes = owner["api"].get("/api/v1/notifications", params={"types[]": "vitascope.cameo_use_deleted"}).json()
    return [n for n in notes if n["account"]["acct"] == creator_acct]


def video_mention(owner, status_uri: str) -> dict | None:
    """The owner's `mention` notification of the creator's Note (it names every cameo owner)."""
    notes = owner["api"].get("/api/v1/notifications", params={"types[]": "mention"}).json()
    return next((n for n in notes if (n.get("status") or {}).get("uri") == status_uri), None)


def test_a_remote_creator_deleting_the_video_tells_the_owner_once(three, owner):
    """The Note names the owner, so A receives it (and its Delete) though the owner follows nobody,
    and only the owner may see a followers-only one. B reports `useState: deleted` and A gets the
    Note's Delete: whichever comes first records it and notifies the owner, the other changes nothing."""
    a, b, _ = three
    set_policy(owner, policy="everyone", restrictions="")
    creator_name, creator, _ = user(b)
    creator_acct = acct(b, creator_name)
    prompt = f"{owner['tag']} reading a map"
    done = wait_job(creator, generate(creator, prompt=prompt, duration=1)["id"])
    assert done["state"] == "done", done
    r = creator.post("/api/v1/statuses", json={"status": "lost", "media_ids": [done["media_attachment"]["id"]],
                                               "visibility": "private"})
    assert r.status_code == 200, r.text
    status = r.json()
    wait_for(lambda: use_of(owner, creator_acct, prompt)["remote"]["status_uri"] == status["uri"],
             what="B's report of the post")
    mention = wait_for(lambda: video_mention(owner, status["uri"]), what="the Note on A, naming the owner")
    on_a = mention["status"]
    assert on_a["visibility"] == "private"
    assert owner["api"].get(f"/api/v1/statuses/{on_a['id']}").status_code == 200
    _, bystander, _ = user(a)  # on the same node, not named and not following: never shown it
    assert bystander.get(f"/api/v1/statuses/{on_a['id']}").status_code == 404
    assert deleted_notices(owner, creator_acct) == []

    assert creator.delete(f"/api/v1/statuses/{status['id']}").status_code == 200
    use = wait_for(lambda: (u := use_of(owner, creator_acct, prompt))["remote"]["state"] == "deleted" and u,
                   what="the deletion in the owner's ledger")
    assert use["video_deleted"] and use["state"] == "granted" and use["remote"]["status_uri"] == status["uri"]
    creator_uri = f"{b.url}/users/{creator_name}"
    wait_for(lambda: f"cameo use report from {creator_uri}: use {use['id']}: deleted" in a.log(),
             what="B's report of the deletion, processed on A")
    wait_for(lambda: owner["api"].get(f"/api/v1/statuses/{on_a['id']}").status_code == 404,
             what="the Note's Delete, processed on A")
    assert len(deleted_notices(owner, creator_acct)) == 1
    # A Mastodon client (no `types[]` naming it) sees it as a direct notice from the creator.
    notes = owner["api"].get("/api/v1/notifications").json()
    [notice] = [n for n in notes if n["account"]["acct"] == creator_acct
                and "deleted a video that used your cameo" in (n.get("status") or {}).get("content", "")]
    assert notice["type"] == "mention" and notice["status"]["visibility"] == "direct"


async def test_a_local_creator_deleting_the_video_is_shown_as_a_remote_one_and_only_its_creator_can_report(
        three, owner):
    """Also: the owner's use and deletion notices are pushed as the `mention`s the API shows."""
    a = three[0]
    await asyncio.to_thread(set_policy, owner, policy="everyone", restrictions="")
    push_service, receiver = PushService(), Receiver()
    r = await asyncio.to_thread(subscribe, owner["api"], push_service.url("owner"), receiver, alerts={"mention": True})
    assert r.status_code == 200 and r.json()["alerts"] == {"mention": True}, r.text
    creator_name, creator, _ = await asyncio.to_thread(user, a)
    prompt = f"@{owner['cameo']['handle']} reading a map"
    job = await asyncio.to_thread(generate, creator, prompt=prompt, duration=1)
    done = await asyncio.to_thread(wait_job, creator, job["id"])
    assert done["state"] == "done", done
    r = await asyncio.to_thread(creator.post, "/api/v1/statuses",
                                json={"status": "found", "media_ids": [done["media_attachment"]["id"]]})
    assert r.status_code == 200, r.text
    status = r.json()
    use = await asyncio.to_thread(use_of, owner, creator_name, prompt)
    assert use["status_id"] == status["id"] and not use["video_deleted"] and use["grant_url"]

    # Another actor's report on this grant is refused (the inbox item is ignored with the reason).
    masto = FakeServer()
    await masto.start()
    try:
        report = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Add",
                  "id": masto.url(f"/reports/{uuid.uuid4().hex}"), "actor": masto.actor_id("masto"),
                  "object": masto.url("/notes/1"), "target": use["grant_url"], "useState": "deleted"}
        async with aiohttp.ClientSession() as http:
            code, _ = await post(http, a, report, signer="masto", fake=masto)
        assert code == 202
        await until(lambda: f"(Add from {masto.actor_id('masto')}) ignored: not a report on a grant this actor holds"
                    in a.log(), "the refused report")
    finally:
        await masto.runner.cleanup()
    assert not (await asyncio.to_thread(use_of, owner, creator_name, prompt))["video_deleted"]

    r = await asyncio.to_thread(creator.delete, f"/api/v1/statuses/{status['id']}")
    assert r.status_code == 200
    use = await asyncio.to_thread(use_of, owner, creator_name, prompt)
    assert use["video_deleted"] and use["status_id"] is None and use["generation"]["state"] == "done"
    assert len(await asyncio.to_thread(deleted_notices, owner, creator_name)) == 1

    pushes = [receiver.decrypt_standard(*p) for p in await asyncio.to_thread(push_service.wait, "owner", 2)]
    await asyncio.to_thread(owner["api"].delete, "/api/v1/push/subscription")
    notes = {n["id"]: n for n in await asyncio.to_thread(
        lambda: owner["api"].get("/api/v1/notifications", params={"types[]": "mention"}).json())}
    assert [p["body"] for p in pushes] == [f"@{creator_name} used your cameo in a new video (an unposted draft until "
                                           "they post it).", f"@{creator_name} deleted a video that used your cameo."]
    for push in pushes:  # each is the notification a Mastodon client lists, as a mention
        assert push["notification_type"] == notes[str(push["notification_id"])]["type"] == "mention"
