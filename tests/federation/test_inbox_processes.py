"""Two `vitascope serve` processes of one node (one database, one Redis, one data directory) drain
one inbox: each claims its batches with one atomic statement, so every activity is processed once,
by one of them, whichever process received it (run with VITASCOPE_TEST_DB=postgres for the
PostgreSQL claim, FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlsplit

import pytest
import pytest_asyncio

from tests.federation.test_inbox_attacks import http, post  # noqa: F401 (fixtures)
from tests.federation.test_inbox_batches import INBOX, wait_until
from tests.support.nodes import LiveNode

ACTIVITIES = 240


@pytest_asyncio.fixture(scope="module")
async def two_processes(nodes):
    """The node's first process, and a second one serving the same node on another port."""
    first = await asyncio.to_thread(nodes, "two-processes")
    second = LiveNode(first.directory.parent / (first.directory.name + "-second"), database_url=first.database_url,
                      redis_url=first.redis_url, name=first.name,
                      overrides={"server": {"base_url": first.url}, "storage": {"data_dir": str(first.data_dir)}})
    await asyncio.to_thread(second.start)
    yield first, second
    await asyncio.to_thread(second.stop)


async def inbox_items(http, node: LiveNode, token: str, state: str) -> dict[str, dict]:
    """Every inbox item in ``state`` by activity id, through the admin API's pages."""
    items: dict[str, dict] = {}
    params = {"state": state, "limit": "40"}
    while True:
        async with http.get(node.url + INBOX, params=params, headers={"Authorization": f"Bearer {token}"}) as response:
            assert response.status == 200
            page = await response.json()
        items.update((item["activity_id"], item) for item in page)
        if len(page) < 40:
            return items
        params["max_id"] = page[-1]["id"]


async def test_two_processes_process_each_activity_once(two_processes, fake, http):
    first, second = two_processes
    name, _ = await asyncio.to_thread(first.create_user, admin=True)
    token = await asyncio.to_thread(first.token, name, scopes="read admin:read")
    docs = [fake.create("mallory", f"two-processes-{n}") for n in range(ACTIVITIES)]

    async def send(share: list[dict], process: LiveNode) -> list[int]:
        return [(await post(http, process, doc, signer="mallory", fake=fake))[0] for doc in share]

    # Both processes receive, so both wake to claim while the other is claiming.
    answers = await asyncio.gather(send(docs[0::2], first), send(docs[1::2], second))
    assert answers == [[202] * (ACTIVITIES // 2)] * 2
    ids = {doc["id"] for doc in docs}

    async def all_done():
        done = await inbox_items(http, first, token, "done")
        return done if ids <= done.keys() else None

    done = await wait_until(all_done, "every activity processed", timeout=120)
    assert {done[i]["attempts"] for i in ids} == {1}
    for state in ("error", "ignored", "processing", "pending"):
        assert not ids & (await inbox_items(http, second, token, state)).keys(), state
    async with http.get(first.url + "/api/v1/accounts/lookup", params={"acct": f"mallory@{fake.origin}"}) as response:
        assert (await response.json())["statuses_count"] == ACTIVITIES


async def test_a_batched_reply_and_its_parent_stored_at_once_by_two_processes_end_linked(two_processes, fake, http):
    """A run of replies is claimed by one process and held inside its transaction (the test locks the
    author's row) after it found none of their parents; meanwhile the other process stores the parents,
    and neither of their looks for waiting replies can see the uncommitted replies. The replies, once
    committed, must still end linked: the batch looks for its missing parents again after its commit.
    (An earlier reply to each parent had its parent's fetch fail already, so no background fetch of
    the parents runs again for a while to link them later.)"""
    first, second = two_processes
    if not first.database_url:
        pytest.skip("two processes of one node and a row lock from outside need PostgreSQL")
    import psycopg

    dsn = first.database_url.replace("postgres://", "postgresql://", 1)
    name, _ = await asyncio.to_thread(first.create_user, admin=True)
    token = await asyncio.to_thread(first.token, name, scopes="read admin:read")
    parents = [fake.create("alice", f"parent-{uuid.uuid4().hex}") for _ in range(3)]  # not fetchable: not in fake.objects
    for parent in parents:
        earlier = fake.create("mallory", f"earlier-{uuid.uuid4().hex}")
        earlier["object"]["inReplyTo"] = parent["object"]["id"]
        assert (await post(http, first, earlier, signer="mallory", fake=fake))[0] == 202
    paths = {urlsplit(parent["object"]["id"]).path for parent in parents}

    async def parents_tried() -> bool:
        return paths <= set(fake.note_requests)

    await wait_until(parents_tried, "the parents' fetch tried (and refused: 404)")
    holds = []
    for process in (first, second):  # each processor busy with a post it must fetch, so neither claims the replies
        held = fake.note_doc("bob", f"held-{uuid.uuid4().hex}")
        fake.objects[held["id"]] = held
        fake.held_notes[held["id"]] = release = asyncio.Event()
        holds.append(release)
        create = fake.create("bob", "", note=held) | {"object": held["id"]}
        assert (await post(http, process, create, signer="bob", fake=fake))[0] == 202
        await wait_until(lambda: _processing(http, first, token, create["id"]), "the held post claimed")
    replies = []
    for parent in parents:
        reply = fake.create("mallory", f"reply-{uuid.uuid4().hex}")
        reply["object"]["inReplyTo"] = parent["object"]["id"]
        replies.append(reply)
    for reply in replies:
        assert (await post(http, first, reply, signer="mallory", fake=fake))[0] == 202
    db = await asyncio.to_thread(psycopg.connect, dsn)
    try:
        await asyncio.to_thread(db.execute, "SELECT id FROM accounts WHERE uri = %s FOR UPDATE",
                                (fake.actor_id("mallory"),))
        for release in holds:
            release.set()

        async def replies_waiting() -> bool:  # the replies' transaction waits for the author's row
            def count() -> int:
                with psycopg.connect(dsn) as other:
                    return other.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                         "AND datname = current_database()").fetchone()[0]
            return await asyncio.to_thread(count) > 0

        await wait_until(replies_waiting, "the replies' batch waiting inside its transaction")
        for parent in parents:
            assert (await post(http, second, parent, signer="alice", fake=fake))[0] == 202

        async def parents_stored():
            return all(await _public_posts(http, first, parents))

        await wait_until(parents_stored, "the parents stored by the other process")
    finally:
        await asyncio.to_thread(db.rollback)
        await asyncio.to_thread(db.close)

    async def linked():
        pairs = zip(await _public_posts(http, first, parents), await _public_posts(http, first, replies))
        return all(p and r and r["in_reply_to_id"] == p["id"] for p, r in pairs)

    await wait_until(linked, "every reply linked to its parent")


async def _processing(http, node: LiveNode, token: str, activity_id: str) -> bool:
    return activity_id in await inbox_items(http, node, token, "processing")


async def _public_posts(http, node: LiveNode, docs: list[dict]) -> list[dict | None]:
    """Each Create's post as the newest remote posts of the public timeline show it (None if not there)."""
    async with http.get(node.url + "/api/v1/timelines/public?remote=true&limit=40") as response:
        assert response.status == 200
        listed = await response.json()
    texts = [doc["object"]["content"].removeprefix("<p>").removesuffix("</p>") for doc in docs]
    return [next((status for status in listed if text in status["content"]), None) for text in texts]
