"""The inbox processor takes stored activities in batches: bursts of interleaved activities about the
same posts end as they would one by one, a replayed burst changes nothing, and one activity that
fails goes to its error state while the rest of its batch is processed.

Each post's activities are sent in order (a peer delivers them so), the posts' streams concurrently,
so the stored rows interleave and the processor claims many of them at once.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid

import pytest_asyncio

from tests.federation.test_inbox_attacks import http, post  # noqa: F401 (fixtures)
from tests.support.peers import PUBLIC, FakeServer

INBOX = "/api/v1/admin/vitascope/inbox"


@pytest_asyncio.fixture(scope="module")
async def batch_node(nodes):
    """A node of its own: its public timeline holds only what these tests send."""
    return await asyncio.to_thread(nodes, "batches")


@pytest_asyncio.fixture(scope="module")
async def admin_token(batch_node):
    name, _ = await asyncio.to_thread(batch_node.create_user, admin=True)
    return await asyncio.to_thread(batch_node.token, name, scopes="read admin:read")


def burst(fake: FakeServer, count: int) -> tuple[list[list[dict]], list[str], set[str]]:
    """Per post, its activities in order: mallory's Create and Update, alice's Like, bob's Announce,
    and for every third post mallory's Delete. Returns (streams, edited texts, deleted texts)."""
    streams, edited, deleted = [], [], set()
    for n in range(count):
        text = f"burst-{uuid.uuid4().hex}"
        create = fake.create("mallory", text)
        note = create["object"]
        changed = dict(note, content=f"<p>{text} edited</p>", updated="2026-01-02T03:04:05Z")
        mallory = fake.actor_id("mallory")
        stream = [
            create,
            {"@context": create["@context"], "id": f"{mallory}/updates/{uuid.uuid4().hex}", "type": "Update",
             "actor": mallory, "object": changed, "to": [PUBLIC]},
            {"@context": create["@context"], "id": f"{fake.actor_id('alice')}/likes/{uuid.uuid4().hex}",
             "type": "Like", "actor": fake.actor_id("alice"), "object": note["id"]},
            {"@context": create["@context"], "id": f"{fake.actor_id('bob')}/announces/{uuid.uuid4().hex}",
             "type": "Announce", "actor": fake.actor_id("bob"), "object": note["id"], "to": [PUBLIC]},
        ]
        if n % 3 == 2:
            stream.append({"@context": create["@context"], "id": f"{mallory}/deletes/{uuid.uuid4().hex}",
                           "type": "Delete", "actor": mallory, "object": {"id": note["id"], "type": "Tombstone"},
                           "to": [PUBLIC]})
            deleted.add(text)
        else:
            edited.append(text)
        streams.append(stream)
    return streams, edited, deleted


async def deliver(http, node, fake, streams: list[list[dict]]) -> list[int]:
    """Every stream in order, the streams concurrently; the statuses of the answers."""
    answers: list[int] = []

    async def send(stream: list[dict]) -> None:
        for doc in stream:
            signer = doc["actor"].rsplit("/", 1)[1]
            status, _ = await post(http, node, doc, signer=signer, fake=fake)
            answers.append(status)

    await asyncio.gather(*(send(stream) for stream in streams))
    return answers


async def deliver_as_one_batch(http, node, fake, docs: list[dict]) -> list[int]:
    """The documents stored while the processor is held (by a Create whose post it must fetch, and
    which the fake server answers only once they are all stored), so it claims them together."""
    held = fake.note_doc("mallory", f"held-{uuid.uuid4().hex}")
    fake.objects[held["id"]] = held
    fake.held_notes[held["id"]] = release = asyncio.Event()
    try:
        status, _ = await post(http, node, fake.create("mallory", "", note=held) | {"object": held["id"]},
                               signer="mallory", fake=fake)
        assert status == 202
        return [status for status, _ in await asyncio.gather(
            *(post(http, node, doc, signer=doc["actor"].rsplit("/", 1)[1], fake=fake) for doc in docs))]
    finally:
        release.set()


async def posts(http, node) -> dict[str, dict]:
    """The public timeline's original posts by their marker word."""
    async with http.get(node.url + "/api/v1/timelines/public?remote=true&limit=40") as response:
        assert response.status == 200
        listed = await response.json()
    return {re.search(r"\w+-[0-9a-f]{32}", s["content"])[0]: s for s in listed if s["reblog"] is None}


def settled(found: dict[str, dict], edited: list[str], deleted: set[str]) -> bool:
    return all(text in found and f"{text} edited" in found[text]["content"] and found[text]["favourites_count"] == 1
               and found[text]["reblogs_count"] == 1 for text in edited) and not deleted & found.keys()


async def wait_until(check, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not (result := await check()):
        assert time.monotonic() < deadline, f"{what} never happened"
        await asyncio.sleep(0.2)
    return result


async def marker_processed(http, node, fake) -> str:
    """Posts a Create and waits for it: items are processed in the order they were stored, so every
    item stored before it has been processed too."""
    text = f"marker-{uuid.uuid4().hex}"
    status, _ = await post(http, node, fake.create("mallory", text), signer="mallory", fake=fake)
    assert status == 202
    await wait_until(lambda: _has(http, node, text), f"{text} in the timeline")
    return text


async def _has(http, node, text: str) -> bool:
    return text in await posts(http, node)


async def test_interleaved_burst_ends_as_sent_and_a_replay_changes_nothing(batch_node, fake, http):
    streams, edited, deleted = burst(fake, 9)
    answers = await deliver(http, batch_node, fake, streams)
    assert answers == [202] * sum(map(len, streams))

    async def final_state():
        found = await posts(http, batch_node)
        return found if settled(found, edited, deleted) else None

    before = await wait_until(final_state, "the burst's final state")
    assert set(before) >= set(edited) and not deleted & before.keys()

    # The same requests again: refused as already received.
    answers = await deliver(http, batch_node, fake, streams)
    assert answers == [409] * sum(map(len, streams))
    # The same activities under new ids (as a peer that lost track would send them): processed, no change.
    for stream in streams:
        for doc in stream:
            doc["id"] += "-again"
    answers = await deliver(http, batch_node, fake, streams)
    assert answers == [202] * sum(map(len, streams))
    marker = await marker_processed(http, batch_node, fake)
    after = await posts(http, batch_node)
    assert set(after) - set(before) == {marker} and not deleted & after.keys()
    assert {text: post_state(after[text]) for text in before} == {text: post_state(s) for text, s in before.items()}


def post_state(status: dict) -> dict:
    """What a replay could change of a post (its author's last post date moves with the marker)."""
    return {key: status[key] for key in ("content", "edited_at", "favourites_count", "reblogs_count", "replies_count",
                                         "spoiler_text", "sensitive", "visibility", "created_at")}


async def test_a_failing_activity_goes_to_error_while_its_batch_is_processed(batch_node, fake, http, admin_token):
    texts = [f"batch-{uuid.uuid4().hex}" for _ in range(20)]
    docs = [fake.create("mallory", text) for text in texts]
    poisoned = fake.create("mallory", "poisoned")
    poisoned["object"]["id"] = fake.url("/notes/" + "x" * 2100)  # longer than a post's uri column holds
    docs.insert(10, poisoned)
    answers = await deliver_as_one_batch(http, batch_node, fake, docs)
    assert answers == [202] * len(docs)

    async def all_public():
        found = await posts(http, batch_node)
        return all(text in found for text in texts)

    await wait_until(all_public, "the batch's posts in the timeline")

    async def failed():
        async with http.get(batch_node.url + INBOX, params={"state": "error", "limit": 40},
                            headers={"Authorization": f"Bearer {admin_token}"}) as response:
            assert response.status == 200
            return next((i for i in await response.json() if i["activity_id"] == poisoned["id"]), None)

    item = await wait_until(failed, "the poisoned Create in the error state")
    assert item["type"] == "Create" and item["attempts"] == 1 and item["reason"].startswith("ValidationError: uri:"), item
    assert "poisoned" not in json.dumps(await posts(http, batch_node))


async def test_a_batch_of_posts_keeps_each_posts_mentions_and_hashtags(batch_node, fake, http):
    """Posts stored together get their own mentions and hashtags, once each: the mentioned user is
    notified of every post once, and the hashtag timelines list exactly the posts that carry them."""
    name, _ = await asyncio.to_thread(batch_node.create_user)
    token = await asyncio.to_thread(batch_node.token, name)
    marker = uuid.uuid4().hex[:12]
    every, some = f"every{marker}", f"some{marker}"
    docs, tagged_some = [], set()
    for n in range(16):
        note = fake.note_doc("mallory", f"tagged-{marker}-{n} @{name}")
        note["tag"] = [{"type": "Mention", "href": batch_node.url + f"/users/{name}", "name": f"@{name}"},
                       {"type": "Hashtag", "name": f"#{every}"}]
        if n % 2:
            note["tag"].append({"type": "Hashtag", "name": f"#{some.upper()}"})  # stored lower-cased
            tagged_some.add(note["id"])
        docs.append(fake.create("mallory", "", note=note))
    answers = await deliver_as_one_batch(http, batch_node, fake, docs)
    assert answers == [202] * len(docs)

    async def timeline(tag: str) -> list[dict]:
        async with http.get(batch_node.url + f"/api/v1/timelines/tag/{tag}?limit=40") as response:
            assert response.status == 200
            return await response.json()

    async def all_tagged():
        listed = await timeline(every)
        return listed if len(listed) == len(docs) else None

    listed = await wait_until(all_tagged, "every post in its hashtag timeline")
    assert {s["uri"] for s in listed} == {doc["object"]["id"] for doc in docs}
    for status in listed:
        assert [m["username"] for m in status["mentions"]] == [name], status["mentions"]
        expected = {every, some} if status["uri"] in tagged_some else {every}
        assert {t["name"] for t in status["tags"]} == expected, status["tags"]
    assert {s["uri"] for s in await timeline(some)} == tagged_some

    async def mentions() -> list[str] | None:
        """The posts the user was notified of, once all are (each post is notified after its commit)."""
        async with http.get(batch_node.url + "/api/v1/notifications", params={"types[]": "mention", "limit": "40"},
                            headers={"Authorization": f"Bearer {token}"}) as response:
            assert response.status == 200
            notified = [n["status"]["uri"] for n in await response.json()]
        return notified if len(notified) >= len(docs) else None

    notified = await wait_until(mentions, "a mention notification of every post")
    assert sorted(notified) == sorted(doc["object"]["id"] for doc in docs)
