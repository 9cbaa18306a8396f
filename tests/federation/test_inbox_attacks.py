"""The inbox against a hostile peer: every forgery is refused with a 4xx and leaves nothing behind.

A small fake fediverse server in this process (loopback, tests.support.peers.FakeServer) publishes
actors whose keys the tests hold, so requests can be signed, mis-signed, replayed and tampered with
exactly.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import sqlite3
import time
import uuid

import aiohttp
import pytest
import pytest_asyncio

from federation.signatures import PublicKeyInfo, sign_cavage, verify_request
from provenance.keys import generate_ed25519_private_pem, generate_rsa_private_pem, public_pem
from provenance.proofs import create_proof, verify_proof
from tests.support.peers import AS, FakeServer, Keys, signed


@pytest_asyncio.fixture(scope="module")
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def post(http, node, doc: dict, *, signer: str, fake: FakeServer, scheme: str = "cavage",
               now: float | None = None, pem: str | None = None) -> tuple[int, dict]:
    body = json.dumps(doc).encode()
    url = node.url + "/inbox"
    headers = signed(url, body, fake.actor_id(signer) + "#main-key", pem or fake.key(signer).rsa, scheme=scheme, now=now)
    async with http.post(url, data=body, headers=headers) as response:
        return response.status, headers


async def public_contents(http, node) -> str:
    async with http.get(node.url + "/api/v1/timelines/public?remote=true&limit=40") as response:
        return json.dumps(await response.json())


async def eventually_public(http, node, text: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while text not in await public_contents(http, node):
        assert time.monotonic() < deadline, f"{text!r} never appeared"
        await asyncio.sleep(0.1)


async def all_processed(http, node, fake: FakeServer) -> None:
    """Wait until what the inbox stored so far is processed: it processes in order, so a witness post
    sent now and seen public comes after everything stored before it."""
    witness = words()
    status, _ = await post(http, node, fake.create("witness", witness), signer="witness", fake=fake)
    assert status == 202
    await eventually_public(http, node, witness)


async def never_public(http, node, text: str, fake: FakeServer) -> None:
    await all_processed(http, node, fake)
    assert text not in await public_contents(http, node)


def words() -> str:
    return "marker-" + uuid.uuid4().hex


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
async def test_signed_create_is_accepted_with_either_scheme(node, fake, http, scheme):
    text = words()
    status, _ = await post(http, node, fake.create("mallory", text), signer="mallory", fake=fake, scheme=scheme)
    assert status == 202
    await eventually_public(http, node, text)


async def test_unsigned_post_is_refused(node, fake, http):
    text = words()
    async with http.post(node.url + "/inbox", data=json.dumps(fake.create("mallory", text)),
                         headers={"Content-Type": "application/activity+json"}) as response:
        assert response.status == 401
    await never_public(http, node, text, fake)


async def test_signature_by_another_key_is_refused(node, fake, http):
    text = words()
    status, _ = await post(http, node, fake.create("mallory", text), signer="mallory", fake=fake,
                           pem=generate_rsa_private_pem())
    assert status == 401
    await never_public(http, node, text, fake)


async def test_body_changed_after_signing_is_refused(node, fake, http):
    original, tampered = words(), words()
    doc = fake.create("mallory", original)
    url = node.url + "/inbox"
    for scheme in ("cavage", "rfc9421"):
        headers = signed(url, json.dumps(doc).encode(), fake.actor_id("mallory") + "#main-key", fake.key("mallory").rsa,
                         scheme=scheme)
        body = json.dumps(doc).replace(original, tampered).encode()
        async with http.post(url, data=body, headers=headers) as response:
            assert response.status == 401
    await never_public(http, node, tampered, fake)


async def test_stale_signature_is_refused(node, fake, http):
    text = words()
    for scheme in ("cavage", "rfc9421"):
        status, _ = await post(http, node, fake.create("mallory", text), signer="mallory", fake=fake, scheme=scheme,
                               now=time.time() - 3600)
        assert status == 401
    await never_public(http, node, text, fake)


async def test_replayed_activity_is_refused(node, fake, http):
    text = words()
    doc = fake.create("mallory", text)
    body = json.dumps(doc).encode()
    url = node.url + "/inbox"
    headers = signed(url, body, fake.actor_id("mallory") + "#main-key", fake.key("mallory").rsa)
    async with http.post(url, data=body, headers=headers) as first:
        assert first.status == 202
    await eventually_public(http, node, text)
    async with http.post(url, data=body, headers=headers) as replay:
        assert replay.status == 409
    await all_processed(http, node, fake)
    assert (await public_contents(http, node)).count(text) == 1


async def test_activity_that_cannot_be_stored_fails_alone(node, fake, http):
    """An id longer than its column, or a lone surrogate escape (valid JSON text that our JSON column
    cannot hold), is refused with a 400; POSTs that share its database commit are stored."""
    refused, surrogate, accepted = words(), words(), [words() for _ in range(5)]
    too_long = fake.create("mallory", refused)
    too_long["id"] = fake.actor_id("mallory") + "/activities/" + "x" * 2100
    lone_surrogate = fake.create("mallory", surrogate)
    lone_surrogate["object"]["summary"] = "\ud800"  # json.dumps writes it as the escape \ud800
    statuses = await asyncio.gather(*(post(http, node, doc, signer="mallory", fake=fake)
                                      for doc in [too_long, lone_surrogate] + [fake.create("mallory", text) for text in accepted]))
    assert [status for status, _ in statuses] == [400, 400] + [202] * len(accepted)
    for text in accepted:
        await eventually_public(http, node, text)
    contents = await public_contents(http, node)
    assert refused not in contents and surrogate not in contents


async def test_post_while_another_connection_writes_is_stored_when_it_is_done(node, fake, http):
    """SQLite: inbox rows are written on the event loop with a connection that never waits; while
    another connection holds the write lock, a POST must wait for it (not fail) and then be stored."""
    database = node.data_dir / "vitascope.sqlite3"
    if not database.exists():
        pytest.skip("the node runs on PostgreSQL")
    warm_up, text = words(), words()
    status, _ = await post(http, node, fake.create("mallory", warm_up), signer="mallory", fake=fake)
    assert status == 202  # mallory's key is known now: the next POST needs the database only for its row
    await eventually_public(http, node, warm_up)
    locker = sqlite3.connect(database, isolation_level=None)
    try:
        locker.execute("BEGIN IMMEDIATE")
        pending = asyncio.create_task(post(http, node, fake.create("mallory", text), signer="mallory", fake=fake))
        await asyncio.sleep(1.0)
        assert not pending.done(), "the POST was answered while its row could not be written"
        locker.execute("COMMIT")
    finally:
        locker.close()
    status, _ = await asyncio.wait_for(pending, 10)
    assert status == 202
    await eventually_public(http, node, text)


async def test_remote_post_keeps_its_published_date_but_never_a_future_one(node, fake, http):
    """Clients show a remote post's `published` (a year-old post fetched today is a year old); one
    dated in the future shows the time it arrived instead."""
    old_text, future_text = words(), words()
    old, future = fake.create("mallory", old_text), fake.create("mallory", future_text)
    old["object"]["published"] = "2025-03-04T05:06:07Z"
    future["object"]["published"] = "2099-01-01T00:00:00Z"
    before = time.time()
    for doc in (old, future):
        status, _ = await post(http, node, doc, signer="mallory", fake=fake)
        assert status == 202
    await eventually_public(http, node, future_text)
    await eventually_public(http, node, old_text)
    async with http.get(node.url + "/api/v1/timelines/public?remote=true&limit=40") as response:
        posts = {text: s for s in await response.json() for text in (old_text, future_text) if text in s["content"]}
    assert posts[old_text]["created_at"].startswith("2025-03-04T05:06:07")
    arrived = datetime.datetime.fromisoformat(posts[future_text]["created_at"].replace("Z", "+00:00")).timestamp()
    assert before - 1 <= arrived <= time.time() + 1


async def test_key_owner_must_be_the_actor_unless_the_actor_signed_a_proof(node, fake, http):
    forged = words()
    status, _ = await post(http, node, fake.create("eve", forged), signer="mallory", fake=fake)
    assert status == 401
    await never_public(http, node, forged, fake)
    # A relayed activity: mallory delivers it, eve's FEP-8b32 proof authenticates it.
    relayed = words()
    doc = create_proof(fake.create("eve", relayed), fake.key("eve").ed, fake.actor_id("eve") + "#ed25519-key")
    status, _ = await post(http, node, doc, signer="mallory", fake=fake)
    assert status == 202
    await eventually_public(http, node, relayed)
    # A proof by someone other than the actor does not count.
    doc = create_proof(fake.create("eve", words()), fake.key("mallory").ed, fake.actor_id("mallory") + "#ed25519-key")
    assert (await post(http, node, doc, signer="mallory", fake=fake))[0] == 401


async def test_object_on_a_foreign_host_needs_its_origin(node, fake, http):
    other = f"localhost:{fake.port}"  # same server, another origin
    text = words()
    note = fake.note_doc("eve", text, host=other)  # not served there
    status, _ = await post(http, node, fake.create("mallory", text, note=note), signer="mallory", fake=fake)
    assert status == 403
    await never_public(http, node, text, fake)
    # Once its origin serves it, the object is confirmed (and its author is who the origin says).
    confirmed = words()
    note = fake.note_doc("eve", confirmed, host=other)
    fake.objects[note["id"]] = {"@context": AS, **note}
    status, _ = await post(http, node, fake.create("mallory", confirmed, note=note), signer="mallory", fake=fake)
    assert status == 202
    await eventually_public(http, node, confirmed)


async def test_delete_of_another_hosts_object_is_refused(node, fake, http):
    text = words()
    status, _ = await post(http, node, fake.create("mallory", text), signer="mallory", fake=fake)
    assert status == 202
    await eventually_public(http, node, text)
    async with http.get(node.url + "/api/v1/timelines/public?local=true&limit=1") as response:
        local = await response.json()
    target = local[0]["uri"] if local else node.url + "/users/nobody/statuses/1"
    delete = {"@context": AS, "id": fake.actor_id("mallory") + "/deletes/1", "type": "Delete",
              "actor": fake.actor_id("mallory"), "object": target}
    assert (await post(http, node, delete, signer="mallory", fake=fake))[0] == 403


async def test_oversize_body_is_refused(node, fake, http):
    doc = fake.create("mallory", "x" * (2 * 1024 * 1024))
    status, _ = await post(http, node, doc, signer="mallory", fake=fake)
    assert status == 413


async def test_rotated_key_is_fetched_again(node, fake, http):
    first, second = words(), words()
    assert (await post(http, node, fake.create("rotor", first), signer="rotor", fake=fake))[0] == 202
    await eventually_public(http, node, first)
    fake.keys["rotor"] = Keys()  # the actor rotates its key; the node still caches the old one
    assert (await post(http, node, fake.create("rotor", second), signer="rotor", fake=fake))[0] == 202
    await eventually_public(http, node, second)


async def test_a_refused_first_post_stores_no_account(node, fake, http):
    """An unknown actor's key is fetched to check its first POST; refused, it leaves no account."""
    admin = await asyncio.to_thread(node.admin_mastodon)
    auth = {"Authorization": f"Bearer {admin.access_token}"}

    async def stored(name: str) -> list[str]:
        async with http.get(node.url + "/api/v1/admin/accounts", headers=auth, params={
                "remote": "true", "username": name, "by_domain": fake.origin}) as response:
            assert response.status == 200
            return [a["username"] for a in await response.json()]

    tampered, unstorable, relayed, accepted = (f"first{uuid.uuid4().hex[:10]}" for _ in range(4))
    # Its key id, but a signature that key did not make (checked with the fetched key, then refetched).
    assert (await post(http, node, fake.create(tampered, words()), signer=tampered, fake=fake,
                       pem=generate_rsa_private_pem()))[0] == 401
    doc = fake.create(unstorable, words())
    doc["id"] = fake.actor_id(unstorable) + "/activities/" + "x" * 2100
    assert (await post(http, node, doc, signer=unstorable, fake=fake))[0] == 400
    # Relayed by a known actor with a proof that is not the unknown actor's.
    doc = create_proof(fake.create(relayed, words()), generate_ed25519_private_pem(), fake.actor_id(relayed) + "#ed25519-key")
    assert (await post(http, node, doc, signer="mallory", fake=fake))[0] == 401
    for name in (tampered, unstorable, relayed):
        assert f"/users/{name}" in fake.requests  # its document was fetched to check the request…
        assert await stored(name) == []  # …and nothing of it was kept
    assert (await post(http, node, fake.create(accepted, words()), signer=accepted, fake=fake))[0] == 202
    assert await stored(accepted) == [accepted]


async def _token(node) -> tuple[str, str]:
    username, _ = await asyncio.to_thread(node.create_user)
    return username, await asyncio.to_thread(node.token, username)


async def test_follow_is_delivered_signed_and_falls_back_to_cavage(node, fake, http):
    username, token = await _token(node)
    auth = {"Authorization": f"Bearer {token}"}
    fake.refuse_rfc9421 = True
    fake.received.clear()
    try:
        async with http.get(node.url + "/api/v1/accounts/lookup", params={"acct": f"remy@{fake.origin}"},
                            headers=auth) as response:
            assert response.status == 200
            remy = await response.json()
        async with http.post(node.url + f"/api/v1/accounts/{remy['id']}/follow", headers=auth) as response:
            assert (await response.json())["requested"] is True
        deadline = time.monotonic() + 20
        while not any("Signature" in r[1] and "Signature-Input" not in r[1] for r in fake.received):
            assert time.monotonic() < deadline, "no delivery arrived"
            await asyncio.sleep(0.1)
        first, second = fake.received[0], fake.received[1]
        assert "Signature-Input" in first[1] and "Signature-Input" not in second[1]
        follow = second[2]
        assert follow["type"] == "Follow" and follow["object"] == fake.actor_id("remy")

        actor_doc = await (await http.get(follow["actor"], headers={"Accept": "application/activity+json"})).json()

        async def key(key_id: str, refresh: bool) -> PublicKeyInfo:
            return PublicKeyInfo(key_id, actor_doc["id"], actor_doc["publicKey"]["publicKeyPem"])

        verified = await verify_request("POST", fake.url(second[0]), second[1], second[3], key)
        assert verified.owner == follow["actor"] and verified.scheme == "cavage"
        verify_proof(follow, actor_doc["assertionMethod"][0]["publicKeyMultibase"])
        # The activity id dereferences to the same document.
        async with http.get(follow["id"], headers={"Accept": "application/activity+json"}) as response:
            assert (await response.json())["id"] == follow["id"]

        # The domain is now known to want cavage: the Undo goes out with cavage only.
        fake.received.clear()
        async with http.post(node.url + f"/api/v1/accounts/{remy['id']}/unfollow", headers=auth) as response:
            assert response.status == 200
        deadline = time.monotonic() + 20
        while not fake.received:
            assert time.monotonic() < deadline, "no Undo arrived"
            await asyncio.sleep(0.1)
        assert [("Signature-Input" in r[1]) for r in fake.received] == [False]
        assert fake.received[0][2]["type"] == "Undo"
    finally:
        fake.refuse_rfc9421 = False


@pytest.fixture(scope="module")
def strict_node(nodes):
    """A node in authorized-fetch mode (Mastodon's secure mode)."""
    return nodes("strict", overrides={"federation": {"authorized_fetch": True}})


async def test_authorized_fetch_refuses_unsigned_gets(strict_node, fake, http):
    username, _ = await asyncio.to_thread(strict_node.create_user)
    actor_url = f"{strict_node.url}/users/{username}"
    accept = {"Accept": "application/activity+json"}
    async with http.get(actor_url, headers=accept) as response:
        assert response.status == 401
    headers = dict(accept)
    headers.update(sign_cavage("GET", actor_url, headers, None, fake.actor_id("mallory") + "#main-key",
                               fake.key("mallory").rsa))
    async with http.get(actor_url, headers=headers) as response:
        assert response.status == 200 and (await response.json())["id"] == actor_url
    headers.update(sign_cavage("GET", actor_url, accept, None, fake.actor_id("mallory") + "#main-key",
                               generate_rsa_private_pem()))
    async with http.get(actor_url, headers=headers) as response:
        assert response.status == 401
    async with http.get(f"{strict_node.url}/actor", headers=accept) as response:
        assert response.status == 200  # the instance actor stays fetchable: others need it to verify us


@pytest.fixture(scope="module")
def production_node(nodes):
    """Dev mode off: an https base URL, and no fetches to loopback or private addresses."""
    return nodes("prod", overrides={"server": {"base_url": "https://vitascope-prod.invalid"},
                                    "federation": {"dev_mode": "false"}})


async def test_private_addresses_are_refused_outside_dev_mode(production_node, fake, http):
    username, token = await _token(production_node)
    auth = {"Authorization": f"Bearer {token}"}
    before = len(fake.requests)
    for query in (f"@remy@{fake.origin}", fake.actor_id("remy")):
        async with http.get(production_node.url + "/api/v2/search", params={"q": query, "resolve": "true"},
                            headers=auth) as response:
            assert response.status == 200
            assert (await response.json())["accounts"] == []
    # A signed POST whose key lives on a private address cannot be verified, so it is refused.
    text = words()
    status, _ = await post(http, production_node, fake.create("mallory", text), signer="mallory", fake=fake)
    assert status == 401
    assert len(fake.requests) == before  # not one request reached the private address
    async with http.get(production_node.url + "/api/v1/timelines/public?limit=40") as response:
        assert text not in json.dumps(await response.json())


async def test_an_actor_cannot_claim_another_actors_key(node, fake, http):
    """A key id belongs to one actor, as the key id itself says: an actor document naming another
    actor's key (same origin, or another origin) binds nothing, and the real owner's deliveries
    still verify (a second row holding the key id made every look-up of it fail with a 500)."""
    owner, thief, far_thief = "keyowner", "keythief", "farthief"
    status, _ = await post(http, node, fake.create(owner, words()), signer=owner, fake=fake)
    assert status == 202
    owner_key = fake.actor_id(owner) + "#main-key"
    fake.actor_changes[thief] = {"publicKey": {"id": owner_key, "owner": fake.actor_id(thief),
                                               "publicKeyPem": public_pem(fake.key(thief).rsa)}}
    # the same server under another origin (localhost) claiming a key of 127.0.0.1
    fake.actor_changes[far_thief] = {"publicKey": {"id": owner_key, "owner": fake.actor_id(far_thief, f"localhost:{fake.port}"),
                                                   "publicKeyPem": public_pem(fake.key(far_thief).rsa)}}
    for name, host in ((thief, None), (far_thief, f"localhost:{fake.port}")):
        doc = fake.create(name, words())
        doc["actor"] = doc["object"]["attributedTo"] = fake.actor_id(name, host)
        body = json.dumps(doc).encode()
        for key_id in (fake.actor_id(name, host) + "#main-key", owner_key):
            headers = signed(node.url + "/inbox", body, key_id, fake.key(name).rsa)
            async with http.post(node.url + "/inbox", data=body, headers=headers) as response:
                assert response.status == 401, await response.text()
    text = words()
    status, _ = await post(http, node, fake.create(owner, text), signer=owner, fake=fake)
    assert status == 202
    await eventually_public(http, node, text)


async def test_a_key_claimed_before_its_owner_arrived_goes_to_its_owner(node, fake, http):
    """An actor that named a not-yet-known actor's `#main-key` as its own does not keep it."""
    owner, thief = "lateowner", "earlythief"
    owner_key = fake.actor_id(owner) + "#main-key"
    fake.actor_changes[thief] = {"publicKey": {"id": owner_key, "owner": fake.actor_id(thief),
                                               "publicKeyPem": public_pem(fake.key(thief).rsa)}}
    status, _ = await post(http, node, fake.create(thief, words()), signer=thief, fake=fake)
    assert status == 401
    text = words()
    status, _ = await post(http, node, fake.create(owner, text), signer=owner, fake=fake)
    assert status == 202
    await eventually_public(http, node, text)
