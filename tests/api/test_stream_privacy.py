"""Streams keep the timelines' privacy: a subscriber gets on a stream only what the matching timeline
page would list for it (blocks either way, mutes, mentions of blocked accounts), `delete` reaches
every stream that showed the status, and list memberships end with the follows that carried them
(a suspended domain, a move). Real clients: Mastodon.py, aiohttp WebSockets, two live nodes."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import aiohttp
import pytest

from tests.support.waiting import wait_for

PASSWORD = "correct horse battery"  # every test user's (LiveNode.create_user)


def _url(node, query: str) -> str:
    return node.url.replace("http", "ws") + "/api/v1/streaming?" + query


async def subscribed(ws, stream: str, **params) -> None:
    """Subscribe by message and return once the server has done it: a refused subscription sent
    after it is answered only then (messages are handled in order)."""
    await ws.send_json({"type": "subscribe", "stream": stream, **params})
    await ws.send_json({"type": "subscribe", "stream": "list", "list": "0"})
    await until(ws, lambda m: m.get("status") == 404)


async def until(ws, predicate, timeout: float = 20.0) -> list[dict]:
    """Every message up to and including the first that ``predicate`` accepts."""
    deadline, seen = time.monotonic() + timeout, []
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"no matching event; got {seen}"
        seen.append(await asyncio.wait_for(ws.receive_json(), left))
        if predicate(seen[-1]):
            return seen


def _posted(message: dict) -> str | None:
    return json.loads(message["payload"])["id"] if message.get("event") == "update" else None


def test_public_and_hashtag_streams_leave_out_blocked_and_muted_authors(node):
    alice, dave = node.mastodon(), node.mastodon()  # alice blocks and mutes; dave has no relationships
    bob, carol, gina, erin, frank = (node.mastodon() for _ in range(5))
    alice.account_block(bob.me()["id"])
    alice.account_mute(carol.me()["id"])
    gina.account_block(alice.me()["id"])  # blocked by gina: alice gets nothing of gina's either
    tag = "privy" + uuid.uuid4().hex[:8]

    async def run():
        async with aiohttp.ClientSession() as session:
            sockets = {}
            for who in (alice, dave):
                ws = await session.ws_connect(_url(node, "stream=public"), protocols=[who.access_token])
                await subscribed(ws, "hashtag", tag=tag)
                sockets[who.vs_username] = ws
            hidden = [await asyncio.to_thread(bob.status_post, f"bob #{tag}"),
                      await asyncio.to_thread(carol.status_post, f"carol #{tag}"),
                      await asyncio.to_thread(gina.status_post, f"gina #{tag}"),
                      await asyncio.to_thread(erin.status_post, f"@{bob.vs_username} hi #{tag}")]
            last = await asyncio.to_thread(frank.status_post, f"frank #{tag}")
            got = {}
            for name, ws in sockets.items():
                # the last post closes both of the socket's streams; events of a stream come in order
                seen = await until(ws, lambda m: _posted(m) == last["id"] and m["stream"][0] == "public")
                if not any(_posted(m) == last["id"] and m["stream"][0] == "hashtag" for m in seen):
                    seen += await until(ws, lambda m: _posted(m) == last["id"] and m["stream"][0] == "hashtag")
                got[name] = seen
                await ws.close()
            return [s["id"] for s in hidden], last["id"], got

    hidden, last, got = asyncio.run(run())
    for stream in ("public", "hashtag"):
        to_alice = [_posted(m) for m in got[alice.vs_username] if m.get("stream", [None])[0] == stream]
        to_dave = [_posted(m) for m in got[dave.vs_username] if m.get("stream", [None])[0] == stream]
        assert last in to_alice and not set(hidden) & set(to_alice), stream
        assert set(hidden + [last]) <= set(to_dave), stream
    # the same rule as the pages: alice's public and hashtag timelines leave them out too
    assert [s["id"] for s in alice.timeline_hashtag(tag)] == [last]
    assert not set(hidden) & {s["id"] for s in alice.timeline_public(limit=40)}
    assert set(hidden + [last]) == {s["id"] for s in dave.timeline_hashtag(tag)}


def test_home_and_list_streams_leave_out_boosts_of_muted_accounts(node):
    alice, bob, carol = node.mastodon(), node.mastodon(), node.mastodon()
    alice.account_follow(bob.me()["id"])
    alice.account_mute(carol.me()["id"])
    lst = alice.list_create("boosts")
    alice.list_accounts_add(lst["id"], [bob.me()["id"]])
    muted_post = carol.status_post("carol's post")

    async def run():
        async with aiohttp.ClientSession() as session:
            home = await session.ws_connect(_url(node, "stream=user"), protocols=[alice.access_token])
            in_list = await session.ws_connect(_url(node, f"stream=list&list={lst['id']}"),
                                               protocols=[alice.access_token])
            boost = await asyncio.to_thread(bob.status_reblog, muted_post["id"])
            last = await asyncio.to_thread(bob.status_post, "bob's own")
            seen = [await until(ws, lambda m: _posted(m) == last["id"]) for ws in (home, in_list)]
            for ws in (home, in_list):
                await ws.close()
            return boost["id"], seen

    boost, seen = asyncio.run(run())
    for messages in seen:
        assert boost not in [_posted(m) for m in messages]
    assert boost not in [s["id"] for s in alice.timeline_home()]


def test_delete_reaches_followers_home_list_and_hashtag_streams(node):
    alice, bob, dave = node.mastodon(), node.mastodon(), node.mastodon()
    alice.account_follow(bob.me()["id"])
    lst = alice.list_create("deletions")
    alice.list_accounts_add(lst["id"], [bob.me()["id"]])
    tag = "gone" + uuid.uuid4().hex[:8]
    original = bob.status_post("to be boosted, then deleted")

    async def run():
        async with aiohttp.ClientSession() as session:
            sockets = [await session.ws_connect(_url(node, "stream=user"), protocols=[alice.access_token]),
                       await session.ws_connect(_url(node, f"stream=list&list={lst['id']}"),
                                                protocols=[alice.access_token]),
                       await session.ws_connect(_url(node, f"stream=hashtag&tag={tag}"),
                                                protocols=[dave.access_token])]
            post = await asyncio.to_thread(bob.status_post, f"soon gone #{tag}")
            boost = await asyncio.to_thread(bob.status_reblog, original["id"])
            for ws in sockets:
                await until(ws, lambda m: _posted(m) == post["id"])
            await asyncio.to_thread(bob.status_delete, post["id"])
            await asyncio.to_thread(bob.status_unreblog, original["id"])
            for ws in sockets:
                await until(ws, lambda m: m.get("event") == "delete" and m["payload"] == post["id"])
            # an undone boost is deleted from the homes and lists it reached
            for ws in sockets[:2]:
                await until(ws, lambda m: m.get("event") == "delete" and m["payload"] == boost["id"])
            for ws in sockets:
                await ws.close()

    asyncio.run(run())


# --- follows that end in bulk take their list memberships with them ---------------------------------

@pytest.fixture(scope="module")
def home(nodes):
    """A node of this module's own: it blocks the shared node's domain."""
    return nodes("streams-home")


def _follow_remote(client, acct: str) -> str:
    account_id = client.account_lookup(acct)["id"]
    client.account_follow(account_id)
    wait_for(lambda: client.account_relationships(account_id)[0]["following"], what=f"following {acct}")
    return account_id


def test_a_suspended_domains_accounts_leave_lists_for_good(home, node):
    admin = home.admin_mastodon(("read", "write", "follow", "admin:read", "admin:write"))
    alice, bob = home.mastodon(), node.mastodon()
    bob_here = _follow_remote(alice, f"{bob.vs_username}@{node.domain}")
    lst = alice.list_create("far away")
    alice.list_accounts_add(lst["id"], [bob_here])
    assert [a["id"] for a in alice.list_accounts(lst["id"])] == [bob_here]
    assert [x["id"] for x in alice.account_lists(bob_here)] == [lst["id"]]

    block = admin.admin_create_domain_block(node.domain, severity="suspend")
    admin.admin_delete_domain_block(block["id"])
    # Lifting the block brings bob back, not alice's follow, and not his place in her list.
    assert admin.admin_account(bob_here)["suspended"] is False
    assert alice.account_relationships(bob_here)[0]["following"] is False
    assert alice.list_accounts(lst["id"]) == []
    assert alice.account_lists(bob_here) == []


def test_a_moved_account_is_replaced_in_lists_by_where_it_went(home, node):
    erin, greta, frank = home.mastodon(), home.mastodon(), node.mastodon()
    erin_id = greta.account_lookup(erin.vs_username)["id"]
    greta.account_follow(erin_id)
    lst = greta.list_create("movers")
    greta.list_accounts_add(lst["id"], [erin_id])
    frank_acct = f"{frank.vs_username}@{node.domain}"
    alias = node.api(frank.access_token).post("/api/v1/vitascope/aliases",
                                              json={"acct": f"{erin.vs_username}@{home.domain}"})
    assert alias.status_code == 200, alias.text
    home.cli("admin", "move", erin.vs_username, "--to", "@" + frank_acct)

    frank_here = greta.account_lookup(frank_acct)["id"]
    assert [a["id"] for a in greta.list_accounts(lst["id"])] == [frank_here]
    assert greta.account_lists(erin_id) == []
    wait_for(lambda: greta.account_relationships(frank_here)[0]["following"], what="greta following frank")
