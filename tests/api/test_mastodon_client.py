"""Issue 2 through a real client: PyPI mastodon-py against a live node."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from mastodon import Mastodon, MastodonAPIError

from tests.support.streams import Listener, wait_subscribed


def test_app_registration_form_and_json(node):
    form = requests.post(node.url + "/api/v1/apps", data={"client_name": "f", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                                                          "scopes": "read write"})
    as_json = requests.post(node.url + "/api/v1/apps", json={"client_name": "j", "redirect_uris": ["https://app.example/cb"],
                                                             "scopes": "read"})
    assert form.status_code == 200 and as_json.status_code == 200
    assert form.json()["scopes"] == ["read", "write"]
    assert as_json.json()["redirect_uris"] == ["https://app.example/cb"]
    assert form.json()["client_id"] != as_json.json()["client_id"]


def test_password_login_verify_credentials_and_instance(node):
    client = node.mastodon()
    me = client.account_verify_credentials()
    assert me["username"] == client.vs_username
    assert me["source"]["follow_requests_count"] == 0
    # Mastodon.py reads the version from /api/v1/instance/ (trailing slash) and v2.
    assert client.retrieve_mastodon_version().startswith("4.3.0")
    assert client.instance_v2()["api_versions"]["mastodon"] >= 2


def test_authorization_code_login_with_pkce_and_consent_page(node):
    username, password = node.create_user()
    cid, secret = Mastodon.create_app("code-flow", scopes=["read", "write"], api_base_url=node.url,
                                      redirect_uris="https://client.example/callback")
    client = Mastodon(client_id=cid, client_secret=secret, api_base_url=node.url)
    auth_url = client.auth_request_url(redirect_uris="https://client.example/callback", scopes=["read", "write"],
                                       state="xyz", allow_http=True)
    page = requests.get(auth_url)
    assert page.status_code == 200 and "Authorize" in page.text
    # the consent page also answers with a trailing slash (toot uses it)
    assert requests.get(auth_url.replace("/oauth/authorize?", "/oauth/authorize/?")).status_code == 200
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    fields.update(username=username, password=password, decision="approve")
    wrong = requests.post(node.url + "/oauth/authorize", data={**fields, "password": "nope"}, allow_redirects=False)
    assert wrong.status_code == 401
    answer = requests.post(node.url + "/oauth/authorize", data=fields, allow_redirects=False)
    assert answer.status_code == 302
    query = parse_qs(urlparse(answer.headers["Location"]).query)
    assert query["state"] == ["xyz"]
    client.log_in(code=query["code"][0], redirect_uri="https://client.example/callback", scopes=["read", "write"],
                  allow_http=True)
    assert client.account_verify_credentials()["username"] == username
    # a code works once
    again = requests.post(node.url + "/oauth/token", data={"grant_type": "authorization_code", "code": query["code"][0],
                                                           "client_id": cid, "client_secret": secret,
                                                           "redirect_uri": "https://client.example/callback"})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_pkce_s256_code_exchange(node):
    import base64
    import hashlib

    username, password = node.create_user()
    cid, secret = node.register_app("read")
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    answer = requests.post(node.url + "/oauth/authorize", allow_redirects=False, data={
        "client_id": cid, "redirect_uri": "urn:ietf:wg:oauth:2.0:oob", "response_type": "code", "scope": "read",
        "code_challenge": challenge, "code_challenge_method": "S256", "username": username, "password": password,
        "decision": "approve"})
    code = re.search(r'<code id="code">([^<]+)</code>', answer.text).group(1)
    bad = requests.post(node.url + "/oauth/token", data={"grant_type": "authorization_code", "code": code,
                                                         "client_id": cid, "code_verifier": "wrong" * 10})
    assert bad.status_code == 400
    ok = requests.post(node.url + "/oauth/token", data={"grant_type": "authorization_code", "code": code,
                                                        "client_id": cid, "code_verifier": verifier})
    assert ok.status_code == 200 and ok.json()["scope"] == "read"


def test_client_credentials_and_revoke(node):
    cid, secret = node.register_app("read")
    tok = requests.post(node.url + "/oauth/token", data={"grant_type": "client_credentials", "client_id": cid,
                                                         "client_secret": secret, "scope": "read"}).json()["access_token"]
    api = node.api(tok)
    assert api.get("/api/v1/apps/verify_credentials").json()["name"] == "tests"
    assert api.get("/api/v1/accounts/verify_credentials").status_code == 422  # no user behind it
    assert requests.post(node.url + "/oauth/revoke", data={"client_id": cid, "client_secret": secret,
                                                           "token": tok}).status_code == 200
    assert api.get("/api/v1/apps/verify_credentials").status_code == 401


def test_oauth_metadata_advertises_password_grant(node):
    meta = requests.get(node.url + "/.well-known/oauth-authorization-server").json()
    assert "password" in meta["grant_types_supported"]
    assert meta["token_endpoint"] == node.url + "/oauth/token"


def test_scopes_are_enforced(node):
    username, password = node.create_user()
    read_only = node.api(node.token(username, password, scopes="read"))
    r = read_only.post("/api/v1/statuses", data={"status": "nope"})
    assert r.status_code == 403 and "scope" in r.json()["error"]
    assert read_only.get("/api/v1/timelines/home").status_code == 200
    statuses_only = node.api(node.token(username, password, scopes="write:statuses"))
    assert statuses_only.post("/api/v1/statuses", data={"status": "yes"}).status_code == 200
    assert statuses_only.get("/api/v1/timelines/home").status_code == 403
    assert statuses_only.post("/api/v1/accounts/1/follow").status_code == 403


def test_post_reply_context_favourite_reblog(node):
    alice, bob = node.mastodon(), node.mastodon()
    post = alice.status_post("a first video post")
    reply = bob.status_post("nice one", in_reply_to_id=post["id"])
    assert reply["in_reply_to_id"] == post["id"]
    assert reply["in_reply_to_account_id"] == post["account"]["id"]
    ctx = alice.status_context(post["id"])
    assert [s["id"] for s in ctx["descendants"]] == [reply["id"]]
    assert [s["id"] for s in bob.status_context(reply["id"])["ancestors"]] == [post["id"]]

    fav = bob.status_favourite(post["id"])
    assert fav["favourited"] is True and fav["favourites_count"] == 1
    assert bob.status_favourite(post["id"])["favourites_count"] == 1  # idempotent
    assert [a["acct"] for a in alice.status_favourited_by(post["id"])] == [bob.vs_username]
    boost = bob.status_reblog(post["id"])
    assert boost["reblog"]["id"] == post["id"]
    assert alice.status(post["id"])["reblogs_count"] == 1
    assert [a["acct"] for a in alice.status_reblogged_by(post["id"])] == [bob.vs_username]
    assert alice.status(post["id"])["replies_count"] == 1

    bob.status_unfavourite(post["id"])
    bob.status_unreblog(post["id"])
    after = alice.status(post["id"])
    assert after["favourites_count"] == 0 and after["reblogs_count"] == 0

    bob.status_bookmark(post["id"])
    assert [s["id"] for s in bob.bookmarks()] == [post["id"]]
    bob.status_unbookmark(post["id"])
    assert bob.bookmarks() == []

    types = {n["type"] for n in alice.notifications()}
    assert {"mention", "favourite", "reblog"} <= types


def test_delete_status(node):
    alice = node.mastodon()
    post = alice.status_post("to be deleted")
    deleted = alice.status_delete(post["id"])
    assert deleted["text"] == "to be deleted"
    with pytest.raises(MastodonAPIError):
        alice.status(post["id"])


def test_idempotency_key_posts_once(node):
    username, password = node.create_user()
    api = node.api(node.token(username, password))
    first = api.post("/api/v1/statuses", data={"status": "once"}, headers={"Idempotency-Key": "k-1"}).json()
    second = api.post("/api/v1/statuses", data={"status": "once"}, headers={"Idempotency-Key": "k-1"}).json()
    assert first["id"] == second["id"]
    me = api.get("/api/v1/accounts/verify_credentials").json()
    assert me["statuses_count"] == 1


def test_follow_unlocked_and_locked_account(node):
    alice, bob, carol = node.mastodon(), node.mastodon(), node.mastodon()
    bob_id = bob.me()["id"]
    rel = alice.account_follow(bob_id)
    assert rel["following"] is True
    assert [a["id"] for a in bob.account_followers(bob_id)] == [alice.me()["id"]]
    assert [a["id"] for a in alice.account_following(alice.me()["id"])] == [bob_id]

    carol.account_update_credentials(locked=True)
    carol_id = carol.me()["id"]
    rel = alice.account_follow(carol_id)
    assert rel["following"] is False and rel["requested"] is True
    assert [a["id"] for a in carol.follow_requests()] == [alice.me()["id"]]
    assert carol.notifications(types=["follow_request"])[0]["account"]["id"] == alice.me()["id"]
    carol.follow_request_authorize(alice.me()["id"])
    assert alice.account_relationships(carol_id)[0]["following"] is True
    assert carol.follow_requests() == []

    dave = node.mastodon()
    dave.account_follow(carol_id)
    carol.follow_request_reject(dave.me()["id"])
    rel = dave.account_relationships(carol_id)[0]
    assert rel["following"] is False and rel["requested"] is False

    alice.account_unfollow(bob_id)
    assert alice.account_relationships(bob_id)[0]["following"] is False


def test_private_posts_reach_followers_only(node):
    alice, follower, stranger = node.mastodon(), node.mastodon(), node.mastodon()
    follower.account_follow(alice.me()["id"])
    post = alice.status_post("followers only", visibility="private")
    assert post["id"] in [s["id"] for s in follower.timeline_home()]
    with pytest.raises(MastodonAPIError):
        stranger.status(post["id"])
    assert post["id"] not in [s["id"] for s in stranger.timeline_public()]


def test_home_and_public_timelines_paginate(node):
    alice, reader = node.mastodon(), node.mastodon()
    reader.account_follow(alice.me()["id"])
    ids = [alice.status_post(f"post {i}")["id"] for i in range(7)]
    page1 = reader.timeline_home(limit=3)
    assert [s["id"] for s in page1] == ids[::-1][:3]
    page2 = reader.fetch_next(page1)
    assert [s["id"] for s in page2] == ids[::-1][3:6]
    prev = reader.fetch_previous(page2)
    assert [s["id"] for s in prev] == ids[::-1][:3]
    newer = reader.timeline_home(since_id=ids[4])
    assert [s["id"] for s in newer] == [ids[6], ids[5]]
    just_after = reader.timeline_home(min_id=ids[2], limit=2)
    assert [s["id"] for s in just_after] == [ids[4], ids[3]]
    public = reader.timeline_public(local=True, limit=40)
    assert set(ids) <= {s["id"] for s in public}
    assert reader.timeline_public(remote=True, limit=40) == [] or all(
        "@" in s["account"]["acct"] for s in reader.timeline_public(remote=True))
    tagged = alice.status_post("#Clips rule")
    assert [s["id"] for s in reader.timeline_hashtag("clips")][0] == tagged["id"]


def test_notifications_get_dismiss_clear(node):
    alice, bob = node.mastodon(), node.mastodon()
    post = alice.status_post("notify me")
    bob.status_favourite(post["id"])
    bob.account_follow(alice.me()["id"])
    notes = alice.notifications()
    assert {n["type"] for n in notes} == {"favourite", "follow"}
    only_follow = alice.notifications(types=["follow"])
    assert [n["type"] for n in only_follow] == ["follow"]
    assert alice.notifications(exclude_types=["follow"])[0]["type"] == "favourite"
    one = alice.notifications(id=notes[0]["id"])
    assert one["id"] == notes[0]["id"]
    alice.notifications_dismiss(notes[0]["id"])
    assert len(alice.notifications()) == 1
    alice.notifications_clear()
    assert alice.notifications() == []


def test_search_lookup_markers(node):
    alice = node.mastodon()
    found = alice.search_v2(alice.vs_username, result_type="accounts")
    assert found["accounts"][0]["acct"] == alice.vs_username
    assert alice.account_lookup(alice.vs_username)["username"] == alice.vs_username
    alice.status_post("#sunsets are lovely")
    assert "sunsets" in [t["name"] for t in alice.search_v2("sunse", result_type="hashtags")["hashtags"]]
    post = alice.status_post("marker target")
    alice.markers_set(["home"], [post["id"]])
    assert alice.markers_get(["home"])["home"]["last_read_id"] == post["id"]


def test_block_and_mute(node):
    alice, bob = node.mastodon(), node.mastodon()
    bob_id = bob.me()["id"]
    alice.account_follow(bob_id)
    rel = alice.account_block(bob_id)
    assert rel["blocking"] is True and rel["following"] is False
    assert [a["id"] for a in alice.blocks()] == [bob_id]
    with pytest.raises(MastodonAPIError):
        bob.account_follow(alice.me()["id"])
    alice.account_unblock(bob_id)
    alice.account_mute(bob_id)
    assert [a["id"] for a in alice.mutes()] == [bob_id]
    post = alice.status_post("muted people do not notify")
    bob.status_favourite(post["id"])
    assert alice.notifications() == []
    alice.account_unmute(bob_id)
    assert alice.account_relationships(bob_id)[0]["muting"] is False


def test_update_credentials(node):
    alice = node.mastodon()
    me = alice.account_update_credentials(display_name="Alice A.", note="I make #clips",
                                          fields=[("site", "https://a.example")])
    assert me["display_name"] == "Alice A."
    assert "clips" in me["note"]
    assert me["fields"][0]["name"] == "site"
    assert alice.account(me["id"])["display_name"] == "Alice A."


def _wait(predicate, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_streaming_user_and_public_events(node):
    alice, bob = node.mastodon(), node.mastodon()
    bob.account_follow(alice.me()["id"])
    user_events, public_events = Listener(), Listener()
    handles = [bob.stream_user(user_events, run_async=True), bob.stream_public(public_events, run_async=True, local=True)]
    try:
        wait_subscribed(user_events, public_events)
        post = alice.status_post("live now")
        alice_post_for_fav = bob.status_post("fav me")
        alice.status_favourite(alice_post_for_fav["id"])
        assert _wait(lambda: any(s["id"] == post["id"] for s in user_events.updates))
        assert _wait(lambda: any(s["id"] == post["id"] for s in public_events.updates))
        assert _wait(lambda: any(n["type"] == "favourite" for n in user_events.notifications))
    finally:
        for h in handles:
            h.close()


def test_a_stream_goes_on_after_its_redis_restarts(nodes):
    """The node's Redis stops and starts again under an open stream: the node subscribes it again by
    itself (and says so with a new `:)`), and what is posted afterwards arrives on it."""
    live = nodes("stream-outage")
    alice, bob = live.mastodon(), live.mastodon()
    bob.account_follow(alice.me()["id"])
    events = Listener()
    handle = bob.stream_user(events, run_async=True)
    try:
        wait_subscribed(events)
        live.redis_server.stop()
        events.subscribed = False
        live.redis_server.start()
        wait_subscribed(events)
        post = alice.status_post("after the outage")
        assert _wait(lambda: any(s["id"] == post["id"] for s in events.updates))
    finally:
        handle.close()


def test_websocket_streaming(node):
    import asyncio

    import aiohttp

    username, password = node.create_user()
    token = node.token(username, password)
    poster = node.mastodon()

    async def run():
        async with aiohttp.ClientSession() as session:
            ws_url = node.url.replace("http", "ws") + f"/api/v1/streaming?access_token={token}&stream=public:local"
            async with session.ws_connect(ws_url) as ws:
                await ws.send_json({"type": "subscribe", "stream": "hashtag", "tag": "wstest"})
                # messages are handled in order: once a refused subscription sent next is answered,
                # the hashtag one is in place
                await ws.send_json({"type": "subscribe", "stream": "list", "list": "0"})
                refusal = await asyncio.wait_for(ws.receive_json(), 10)
                assert refusal["status"] == 404
                await asyncio.to_thread(poster.status_post, "over the socket #wstest")
                seen = []
                while len(seen) < 2:
                    msg = await asyncio.wait_for(ws.receive_json(), 10)
                    seen.append(msg)
                return seen

    events = asyncio.run(run())
    streams = sorted(e["stream"][0] for e in events)
    assert streams == ["hashtag", "public:local"]
    assert all(e["event"] == "update" for e in events)
