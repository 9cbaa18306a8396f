"""Issue 16 (part B) through real clients: lists and list timelines, filters v2/v1 that filter,
direct conversations, and the streaming API with the token as WebSocket subprotocol (Mastodon 4.4)."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest
import requests
from mastodon import MastodonAPIError


def _ids(statuses) -> list[str]:
    return [s["id"] for s in statuses]


def _auth(client) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.access_token}"}


# --- lists ---------------------------------------------------------------------------------------

def test_list_members_timeline_and_replies_policy(node):
    alice, bob, carol, dave = node.mastodon(), node.mastodon(), node.mastodon(), node.mastodon()
    bob_id, carol_id, dave_id = bob.me()["id"], carol.me()["id"], dave.me()["id"]
    alice.account_follow(bob_id)
    alice.account_follow(carol_id)
    lst = alice.list_create("friends")
    assert lst["title"] == "friends" and lst["replies_policy"] == "list" and lst["exclusive"] is False
    alice.list_accounts_add(lst["id"], [bob_id])
    # only accounts the owner follows, as Mastodon; nothing half-written
    with pytest.raises(MastodonAPIError) as refused:
        alice.list_accounts_add(lst["id"], [carol_id, dave_id])
    assert refused.value.args[1] == 422
    assert [a["id"] for a in alice.list_accounts(lst["id"])] == [bob_id]
    assert [x["id"] for x in alice.account_lists(bob_id)] == [lst["id"]]
    assert alice.account_lists(carol_id) == []

    from_bob = bob.status_post("bob's own post")
    from_carol = carol.status_post("carol's post")
    to_carol = bob.status_post(f"@{carol.vs_username} a reply to carol", in_reply_to_id=from_carol["id"])
    to_alice = bob.status_post("a reply to alice", in_reply_to_id=alice.status_post("alice asks")["id"])
    self_reply = bob.status_post("and bob again", in_reply_to_id=from_bob["id"])
    always = {from_bob["id"], to_alice["id"], self_reply["id"]}

    shown = set(_ids(alice.timeline_list(lst["id"])))
    assert always <= shown and from_carol["id"] not in shown and to_carol["id"] not in shown  # policy "list"
    alice.list_update(lst["id"], "friends", replies_policy="followed")
    assert to_carol["id"] in _ids(alice.timeline_list(lst["id"]))  # alice follows carol
    renamed = alice.list_update(lst["id"], "close friends", replies_policy="none")
    assert renamed["title"] == "close friends" and alice.list(lst["id"])["replies_policy"] == "none"
    shown = set(_ids(alice.timeline_list(lst["id"])))
    assert always <= shown and to_carol["id"] not in shown
    # paginated like home
    page = requests.get(f"{node.url}/api/v1/timelines/list/{lst['id']}?limit=1", headers=_auth(alice))
    assert len(page.json()) == 1 and 'rel="next"' in page.headers["Link"]

    # another user cannot see or use the list
    assert requests.get(f"{node.url}/api/v1/lists/{lst['id']}", headers=_auth(bob)).status_code == 404
    assert requests.get(f"{node.url}/api/v1/timelines/list/{lst['id']}", headers=_auth(bob)).status_code == 404

    alice.list_accounts_delete(lst["id"], [bob_id])
    assert alice.list_accounts(lst["id"]) == [] and alice.timeline_list(lst["id"]) == []
    alice.list_delete(lst["id"])
    assert requests.get(f"{node.url}/api/v1/lists/{lst['id']}", headers=_auth(alice)).status_code == 404
    assert alice.lists() == []


def test_exclusive_list_keeps_members_out_of_home_and_unfollow_leaves_lists(node):
    alice, bob, carol = node.mastodon(), node.mastodon(), node.mastodon()
    bob_id = bob.me()["id"]
    alice.account_follow(bob_id)
    alice.account_follow(carol.me()["id"])
    lst = alice.list_create("only here", exclusive=True)
    assert lst["exclusive"] is True
    alice.list_accounts_add(lst["id"], [bob_id])
    post, other = bob.status_post("exclusive post"), carol.status_post("home post")
    home = _ids(alice.timeline_home())
    assert other["id"] in home and post["id"] not in home
    assert post["id"] in _ids(alice.timeline_list(lst["id"]))
    alice.list_update(lst["id"], "only here", exclusive=False)
    assert post["id"] in _ids(alice.timeline_home())

    alice.account_unfollow(bob_id)
    assert alice.list_accounts(lst["id"]) == [] and alice.account_lists(bob_id) == []


def test_list_bad_input(node):
    alice = node.mastodon()
    h = _auth(alice)
    assert requests.post(f"{node.url}/api/v1/lists", headers=h, data={"title": " "}).status_code == 422
    assert requests.post(f"{node.url}/api/v1/lists", headers=h,
                         data={"title": "x", "replies_policy": "everyone"}).status_code == 422
    lst = alice.list_create("x")
    unknown = requests.post(f"{node.url}/api/v1/lists/{lst['id']}/accounts", headers=h,
                            data={"account_ids[]": "123456789"})
    assert unknown.status_code == 404 and unknown.json()["error"]
    assert requests.get(f"{node.url}/api/v1/lists/abc", headers=h).status_code == 404


# --- filters -------------------------------------------------------------------------------------

def test_filters_warn_whole_word_hide_and_statuses(node):
    alice, bob = node.mastodon(), node.mastodon()
    alice.account_follow(bob.me()["id"])
    cat = bob.status_post("there is a Cat on the sofa")
    concat = bob.status_post("concatenate the strings")
    spoiler = bob.status_post("big spoilers for the finale")
    plain = bob.status_post("nothing to see")

    warn = alice.create_filter_v2("cats", ["home", "public"], "warn",
                                  keywords_attributes=[{"keyword": "cat", "whole_word": True}])
    assert warn["filter_action"] == "warn" and warn["keywords"][0]["whole_word"] is True and warn["statuses"] == []
    hide = alice.create_filter_v2("no spoilers", ["home"], "hide",
                                  keywords_attributes=[{"keyword": "spoiler", "whole_word": False}])

    home = {s["id"]: s for s in alice.timeline_home()}
    assert spoiler["id"] not in home  # hidden where the hide filter applies
    result = home[cat["id"]]["filtered"]
    assert [r["filter"]["id"] for r in result] == [warn["id"]]
    assert result[0]["keyword_matches"] == ["Cat"] and result[0]["status_matches"] is None
    assert result[0]["filter"]["context"] == ["home", "public"] and "keywords" not in result[0]["filter"]
    assert home[concat["id"]]["filtered"] == [] and home[plain["id"]]["filtered"] == []  # whole word
    # outside its contexts a hide filter only marks the status; its author sees its own posts unfiltered
    public = {s["id"]: s for s in alice.timeline_local()}
    assert public[spoiler["id"]]["filtered"][0]["filter"]["filter_action"] == "hide"
    assert {s["id"] for s in bob.timeline_home()} >= {spoiler["id"]}

    # not whole word: "cat" now matches inside "concatenate"
    alice.update_filter_v2(warn["id"], keywords_attributes=[{"id": warn["keywords"][0]["id"], "whole_word": False}])
    assert alice.status(concat["id"])["filtered"][0]["keyword_matches"] == ["cat"]

    # a filtered status, and a reblog of it
    alice.add_filter_status_v2(hide["id"], plain["id"])
    assert plain["id"] not in _ids(alice.timeline_home())
    statuses = alice.filter_statuses_v2(hide["id"])
    assert [s["status_id"] for s in statuses] == [plain["id"]]
    requests.delete(f"{node.url}/api/v2/filters/statuses/{statuses[0]['id']}", headers=_auth(alice)).raise_for_status()
    assert plain["id"] in _ids(alice.timeline_home())

    # keywords API, expiry, and delete
    kw = alice.add_filter_keyword_v2(warn["id"], "sofa", whole_word=True)
    assert {k["keyword"] for k in alice.filter_keywords_v2(warn["id"])} == {"cat", "sofa"}
    alice.delete_filter_keyword_v2(kw["id"])
    expiring = alice.update_filter_v2(warn["id"], expires_in=3600)
    assert expiring["expires_at"] is not None
    never = requests.put(f"{node.url}/api/v2/filters/{warn['id']}", headers=_auth(alice), json={"expires_in": ""})
    assert never.json()["expires_at"] is None
    alice.delete_filter_v2(hide["id"])
    assert spoiler["id"] in _ids(alice.timeline_home())
    assert [f["id"] for f in alice.filters_v2()] == [warn["id"]]

    # blur (Mastodon 4.4) marks like warn; an expired filter no longer applies
    blur = alice.create_filter_v2("blur it", ["home"], "blur", keywords_attributes=[{"keyword": "finale"}])
    marked = {s["id"]: s for s in alice.timeline_home()}[spoiler["id"]]["filtered"]
    assert [r["filter"]["filter_action"] for r in marked] == ["blur"] and marked[0]["filter"]["id"] == blur["id"]
    alice.update_filter_v2(blur["id"], expires_in=1)
    deadline = time.monotonic() + 30
    while alice.status(spoiler["id"])["filtered"]:
        assert time.monotonic() < deadline, "the filter did not expire"
        time.sleep(0.2)


def test_filters_in_notifications_and_v1_view(node):
    alice, bob = node.mastodon(), node.mastodon()
    h = _auth(alice)
    v1 = requests.post(f"{node.url}/api/v1/filters", headers=h,
                       data={"phrase": "rude", "context[]": ["notifications"], "irreversible": "true",
                             "whole_word": "true"}).json()
    assert v1["phrase"] == "rude" and v1["irreversible"] is True and v1["context"] == ["notifications"]
    v2 = alice.filters_v2()
    assert v2[0]["title"] == "rude" and v2[0]["filter_action"] == "hide"
    assert v2[0]["keywords"][0]["id"] == v1["id"]

    bob.status_post(f"@{alice.vs_username} you are rude")
    polite = bob.status_post(f"@{alice.vs_username} you are kind")
    mentions = [n for n in alice.notifications() if n["type"] == "mention"]
    assert [n["status"]["id"] for n in mentions] == [polite["id"]]

    changed = requests.put(f"{node.url}/api/v1/filters/{v1['id']}", headers=h, data={"irreversible": "false"}).json()
    assert changed["irreversible"] is False and alice.filters_v2()[0]["filter_action"] == "warn"
    assert len([n for n in alice.notifications() if n["type"] == "mention"]) == 2
    # the v1 API refuses to change a filter that holds other keywords too
    alice.add_filter_keyword_v2(v2[0]["id"], "mean")
    assert requests.put(f"{node.url}/api/v1/filters/{v1['id']}", headers=h,
                        data={"context[]": ["home"]}).status_code == 422
    assert len(requests.get(f"{node.url}/api/v1/filters", headers=h).json()) == 2
    assert requests.delete(f"{node.url}/api/v1/filters/{v1['id']}", headers=h).status_code == 200
    assert [k["keyword"] for k in alice.filter_keywords_v2(v2[0]["id"])] == ["mean"]


def test_filter_bad_input(node):
    alice, bob = node.mastodon(), node.mastodon()
    h = _auth(alice)
    for body in ({"title": "x", "context": ["everywhere"]}, {"title": "", "context": ["home"]},
                 {"title": "x", "context": ["home"], "filter_action": "explode"},
                 {"title": "x", "context": []},
                 {"title": "x", "context": ["home"], "keywords_attributes": [{"keyword": " "}]}):
        r = requests.post(f"{node.url}/api/v2/filters", headers=h, json=body)
        assert r.status_code == 422 and "error" in r.json(), body
    assert alice.filters_v2() == []
    f = alice.create_filter_v2("x", ["home"], "warn")
    private = bob.status_post("for followers", visibility="private")
    r = requests.post(f"{node.url}/api/v2/filters/{f['id']}/statuses", headers=h, data={"status_id": private["id"]})
    assert r.status_code == 404  # a status alice cannot see is not revealed
    assert requests.get(f"{node.url}/api/v2/filters/{f['id']}", headers=_auth(bob)).status_code == 404


def test_filter_from_a_rails_style_form_with_several_keywords(node):
    """Mastodon's web UI and some apps send keywords as repeated `keywords_attributes[][keyword]`
    form fields (or indexed `[0][keyword]`): each one is a keyword, with its own whole_word."""
    alice = node.mastodon()
    form = [("title", "no spoilers"), ("context[]", "home"), ("context[]", "public"), ("filter_action", "hide"),
            ("keywords_attributes[][keyword]", "ending"), ("keywords_attributes[][whole_word]", "false"),
            ("keywords_attributes[][keyword]", "finale"), ("keywords_attributes[][keyword]", "twist"),
            ("keywords_attributes[][whole_word]", "true")]
    r = requests.post(f"{node.url}/api/v2/filters", headers=_auth(alice), data=form)
    assert r.status_code == 200, r.text
    created = r.json()
    assert [(k["keyword"], k["whole_word"]) for k in created["keywords"]] == [
        ("ending", False), ("finale", True), ("twist", True)]
    assert created["context"] == ["home", "public"] and created["filter_action"] == "hide"
    first = created["keywords"][0]["id"]
    indexed = [("keywords_attributes[0][id]", first), ("keywords_attributes[0][_destroy]", "true"),
               ("keywords_attributes[1][keyword]", "cliffhanger")]
    r = requests.put(f"{node.url}/api/v2/filters/{created['id']}", headers=_auth(alice), data=indexed)
    assert r.status_code == 200, r.text
    assert sorted(k["keyword"] for k in r.json()["keywords"]) == ["cliffhanger", "finale", "twist"]
    # a key that is both a value and a nested one is refused, not guessed
    r = requests.post(f"{node.url}/api/v2/filters", headers=_auth(alice),
                      data=[("title", "x"), ("context[]", "home"), ("context[x]", "y")])
    assert r.status_code == 400 and "error" in r.json()
    assert len(alice.filters_v2()) == 1


# --- conversations -------------------------------------------------------------------------------

def test_direct_conversation_for_both_sides(node):
    alice, bob, carol = node.mastodon(), node.mastodon(), node.mastodon()
    alice_id, bob_id = alice.me()["id"], bob.me()["id"]
    dm = alice.status_post(f"@{bob.vs_username} just between us", visibility="direct")

    mine, = alice.conversations()
    theirs, = bob.conversations()
    assert [a["id"] for a in mine["accounts"]] == [bob_id] and mine["unread"] is False
    assert [a["id"] for a in theirs["accounts"]] == [alice_id] and theirs["unread"] is True
    assert mine["last_status"]["id"] == theirs["last_status"]["id"] == dm["id"]
    assert carol.conversations() == []

    assert bob.conversations_read(theirs["id"])["unread"] is False
    reply = bob.status_post(f"@{alice.vs_username} agreed", visibility="direct", in_reply_to_id=dm["id"])
    mine, = alice.conversations()  # same thread, same conversation, unread again
    assert mine["unread"] is True and mine["last_status"]["id"] == reply["id"]
    assert bob.conversations()[0]["id"] == theirs["id"]

    bob.status_delete(reply["id"])
    assert alice.conversations()[0]["last_status"]["id"] == dm["id"]
    assert requests.delete(f"{node.url}/api/v1/conversations/{theirs['id']}", headers=_auth(bob)).status_code == 200
    assert bob.conversations() == [] and len(alice.conversations()) == 1
    assert requests.post(f"{node.url}/api/v1/conversations/{mine['id']}/read", headers=_auth(carol)).status_code == 404


# --- streaming -----------------------------------------------------------------------------------

def _stream_url(node, query: str) -> str:
    return node.url.replace("http", "ws") + "/api/v1/streaming?" + query


async def _next_event(ws, predicate, timeout: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "no matching event"
        message = await asyncio.wait_for(ws.receive_json(), left)
        if predicate(message):
            return message


def test_streaming_token_as_subprotocol_with_list_direct_and_notification_streams(node):
    alice, bob = node.mastodon(), node.mastodon()
    alice.account_follow(bob.me()["id"])
    lst = alice.list_create("live")
    alice.list_accounts_add(lst["id"], [bob.me()["id"]])
    token = alice.access_token

    async def run():
        async with aiohttp.ClientSession() as session:
            # masto.js: the token as the only subprotocol, echoed back by the server
            async with session.ws_connect(_stream_url(node, f"stream=list&list={lst['id']}"), protocols=[token]) as ws:
                assert ws.protocol == token
                post = await asyncio.to_thread(bob.status_post, "to the list")
                event = await _next_event(ws, lambda m: m.get("event") == "update")
                assert event["stream"] == ["list", lst["id"]]
                assert json.loads(event["payload"])["id"] == post["id"]

            async with session.ws_connect(_stream_url(node, "stream=direct"), protocols=[token]) as ws:
                dm = await asyncio.to_thread(bob.status_post, f"@{alice.vs_username} psst", visibility="direct")
                event = await _next_event(ws, lambda m: m.get("event") == "conversation")
                assert event["stream"] == ["direct"]
                conversation = json.loads(event["payload"])
                assert conversation["last_status"]["id"] == dm["id"] and conversation["unread"] is True

            async with session.ws_connect(_stream_url(node, "stream=user:notification"), protocols=[token]) as ws:
                mine = await asyncio.to_thread(alice.status_post, "like this")
                await asyncio.to_thread(bob.status_favourite, mine["id"])
                event = await _next_event(ws, lambda m: m.get("event") == "notification")
                assert event["stream"] == ["user:notification"] and '"favourite"' in event["payload"]

            # subscribing by message, as masto.js does: a refused subscription sent after it answers
            # once the first one is in place
            async with session.ws_connect(_stream_url(node, ""), protocols=[token]) as ws:
                await ws.send_json({"type": "subscribe", "stream": "list", "list": lst["id"]})
                await ws.send_json({"type": "subscribe", "stream": "list", "list": "1"})
                refusal = await _next_event(ws, lambda m: "error" in m)
                assert refusal["status"] == 404
                await asyncio.to_thread(bob.status_post, "again to the list")
                event = await _next_event(ws, lambda m: m.get("event") == "update")
                assert event["stream"] == ["list", lst["id"]]

            # a bad token in the subprotocol is refused like a bad bearer token
            with pytest.raises(aiohttp.WSServerHandshakeError) as bad:
                await session.ws_connect(_stream_url(node, "stream=user"), protocols=["not-a-token"])
            assert bad.value.status == 401

    asyncio.run(run())


def test_streams_apply_the_subscribers_filters(node):
    alice, bob = node.mastodon(), node.mastodon()
    alice.account_follow(bob.me()["id"])
    alice.create_filter_v2("quiet", ["home"], "hide", keywords_attributes=[{"keyword": "secret"}])
    alice.create_filter_v2("careful", ["home"], "warn", keywords_attributes=[{"keyword": "careful"}])

    async def run():
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(_stream_url(node, "stream=user"), protocols=[alice.access_token]) as ws:
                hidden = await asyncio.to_thread(bob.status_post, "a secret plan")
                warned = await asyncio.to_thread(bob.status_post, "be careful")
                event = await _next_event(ws, lambda m: m.get("event") == "update")
                status = json.loads(event["payload"])  # events arrive in order: the hidden one never came
                assert status["id"] == warned["id"] and status["id"] != hidden["id"]
                assert [r["filter"]["title"] for r in status["filtered"]] == ["careful"]

    asyncio.run(run())


def test_masto_js_lists_filters_conversations_and_streaming(node):
    from tests.api.test_js_clients import run_js, token_and_id

    owner, _ = token_and_id(node)
    friend, friend_id = token_and_id(node)
    owner_acct = node.api(owner).get("/api/v1/accounts/verify_credentials").json()["acct"]
    out = run_js("masto_lists_filters.mjs", {"url": node.url, "owner": owner, "friend": friend, "friendId": friend_id,
                                             "ownerAcct": owner_acct})
    assert out["list"] == {"title": "masto.js", "repliesPolicy": "followed", "exclusive": True}
    assert out["members"] == [friend_id]
    assert out["listEvent"]["stream"][0] == "list" and "masto.js list" in out["listEvent"]["content"]
    assert out["inList"] is True and out["inHome"] is False
    assert out["hiddenAtHome"] is False and out["warned"] == [["careful", "warn"]]
    assert out["filters"] == [["hush", ["secret"]], ["careful", ["careful"]]]
    assert out["v1Filters"] == ["careful", "secret"]
    assert out["directEvent"] == {"stream": ["direct"], "unread": True}
    assert out["conversations"] and out["conversations"][0]["accounts"] == [friend_id]
    assert out["conversations"][0]["unread"] is True and out["read"] is False and out["removed"] == 1
