"""Two `vitascope serve` processes of one node (one database, one Redis, one data directory) drain
one inbox: each claims its batches with one atomic statement, so every activity is processed once,
by one of them, whichever process received it (run with VITASCOPE_TEST_DB=postgres for the
PostgreSQL claim, FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import asyncio

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
