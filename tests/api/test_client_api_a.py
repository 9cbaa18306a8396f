"""Issue 16 (part A): the start-up calls apps make, grouped notifications, notification policy and
requests, trends, suggestions, directory, scheduled statuses (surviving a restart), oEmbed, userinfo,
translation, detection and unknown routes — through Mastodon.py, raw HTTP and (test_js_clients.py)
masto.js and megalodon."""

from __future__ import annotations

import base64
import os
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from mastodon import MastodonAPIError

from tests.api.test_provenance_trust import signed_clip

ACCOUNT_KEYS = {"id", "username", "acct", "display_name", "locked", "bot", "created_at", "note", "url", "avatar",
                "header", "followers_count", "following_count", "statuses_count", "emojis", "fields"}
STATUS_KEYS = {"id", "uri", "created_at", "account", "content", "visibility", "sensitive", "spoiler_text",
               "media_attachments", "mentions", "tags", "emojis", "reblogs_count", "favourites_count",
               "replies_count", "reblog", "favourited", "reblogged"}
GROUP_KEYS = {"group_key", "notifications_count", "type", "most_recent_notification_id", "page_min_id",
              "page_max_id", "latest_page_notification_at", "sample_account_ids"}
POLICY_V2_KEYS = {"for_not_following", "for_not_followers", "for_new_accounts", "for_private_mentions",
                  "for_limited_accounts", "summary"}
POLICY_V1_KEYS = {"filter_not_following", "filter_not_followers", "filter_new_accounts", "filter_private_mentions",
                  "summary"}
SCHEDULED_KEYS = {"id", "scheduled_at", "params", "media_attachments"}
LIST_KEYS = {"id", "title", "replies_policy", "exclusive"}
FILTER_KEYS = {"id", "title", "context", "expires_at", "filter_action", "keywords", "statuses"}
FILTER_V1_KEYS = {"id", "phrase", "context", "expires_at", "irreversible", "whole_word"}
CONVERSATION_KEYS = {"id", "unread", "accounts", "last_status"}
PUSH_KEYS = {"id", "endpoint", "standard", "alerts", "server_key", "policy"}
MARKER_KEYS = {"last_read_id", "version", "updated_at"}


def user_api(node, scopes="read write follow push"):
    username, password = node.create_user()
    api = node.api(node.token(username, password, scopes))
    api.me = api.get("/api/v1/accounts/verify_credentials").json()
    return api


def post_video(node, api, tmp_path, text="a clip", visibility="public"):
    _raw, signed = signed_clip(node, tmp_path, name=f"{time.monotonic_ns()}.mp4")
    media = api.post("/api/v2/media", files={"file": ("clip.mp4", signed.read_bytes(), "video/mp4")})
    assert media.status_code == 200, media.text
    status = api.post("/api/v1/statuses", data={"status": text, "media_ids[]": media.json()["id"],
                                                 "visibility": visibility})
    assert status.status_code == 200, status.text
    return status.json()


def wait_for(condition, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def in_minutes(minutes: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_startup_sweep_every_new_endpoint_answers_200_with_mastodons_shape(node):
    """A fresh account calls every endpoint issue 16 names, as apps do when they start: each answers
    200 with Mastodon's entity shape (a push subscription after the app has POSTed one)."""
    api = user_api(node, "read write follow push profile")
    other = user_api(node)
    me = api.me["id"]
    scheduled = api.post("/api/v1/statuses", data={"status": "later", "scheduled_at": in_minutes(60)})
    assert scheduled.status_code == 200 and SCHEDULED_KEYS <= scheduled.json().keys()
    sid = scheduled.json()["id"]

    def ok(method, path, **kw):
        r = api.request(method, path, **kw)
        assert r.status_code == 200, f"{method} {path}: {r.status_code} {r.text}"
        return r.json()

    assert ok("GET", "/api/v2/notifications") == {"accounts": [], "statuses": [], "notification_groups": []}
    assert ok("GET", "/api/v2/notifications/unread_count") == {"count": 0}
    other.post(f"/api/v1/accounts/{me}/follow")
    grouped = ok("GET", "/api/v2/notifications")
    assert [a["id"] for a in grouped["accounts"]] == [other.me["id"]] and ACCOUNT_KEYS <= grouped["accounts"][0].keys()
    group = grouped["notification_groups"][0]
    assert GROUP_KEYS <= group.keys() and group["type"] == "follow"
    assert (ok("GET", f"/api/v2/notifications/{group['group_key']}")["notification_groups"][0]["group_key"]
            == group["group_key"])
    assert [a["id"] for a in ok("GET", f"/api/v2/notifications/{group['group_key']}/accounts")] == [other.me["id"]]
    assert ok("GET", "/api/v2/notifications/unread_count") == {"count": 1}
    assert POLICY_V2_KEYS <= ok("GET", "/api/v2/notifications/policy").keys()
    assert POLICY_V1_KEYS <= ok("GET", "/api/v1/notifications/policy").keys()
    assert POLICY_V2_KEYS <= ok("PATCH", "/api/v2/notifications/policy", json={"for_new_accounts": "accept"}).keys()
    assert POLICY_V1_KEYS <= ok("PATCH", "/api/v1/notifications/policy", json={"filter_new_accounts": False}).keys()
    assert ok("GET", "/api/v1/notifications/requests") == []
    assert ok("GET", "/api/v1/notifications/requests/merged") == {"merged": True}
    assert isinstance(ok("GET", "/api/v1/trends/tags"), list)
    assert isinstance(ok("GET", "/api/v1/trends/statuses"), list)
    assert ok("GET", "/api/v1/trends/links") == []
    assert isinstance(ok("GET", "/api/v1/trends"), list)
    assert isinstance(ok("GET", "/api/v1/suggestions"), list)
    suggestions = ok("GET", "/api/v2/suggestions")
    assert all({"source", "sources", "account"} <= s.keys() for s in suggestions)
    assert ok("DELETE", f"/api/v1/suggestions/{other.me['id']}") == {}
    directory = ok("GET", "/api/v1/directory", params={"local": "true", "order": "new"})
    assert directory and all(ACCOUNT_KEYS <= a.keys() for a in directory)
    assert {"updated_at", "content"} <= ok("GET", "/api/v1/instance/extended_description").keys()
    assert ok("GET", "/api/v1/accounts/familiar_followers", params={"id[]": other.me["id"]}) == [
        {"id": other.me["id"], "accounts": []}]
    assert ok("GET", f"/api/v1/accounts/{me}/featured_tags") == []
    assert ok("GET", f"/api/v1/accounts/{other.me['id']}/lists") == []
    assert ok("GET", f"/api/v1/accounts/{me}/identity_proofs") == []
    assert [s["id"] for s in ok("GET", "/api/v1/scheduled_statuses")] == [sid]
    assert ok("GET", f"/api/v1/scheduled_statuses/{sid}")["params"]["text"] == "later"
    assert ok("PUT", f"/api/v1/scheduled_statuses/{sid}", json={"scheduled_at": in_minutes(90)})["id"] == sid
    assert ok("DELETE", f"/api/v1/scheduled_statuses/{sid}") == {}
    status = ok("POST", "/api/v1/statuses", data={"status": "now"})
    embed = requests.get(node.url + "/api/oembed", params={"url": status["url"]})
    assert embed.status_code == 200
    assert {"type", "version", "author_name", "author_url", "provider_name", "provider_url", "html", "width",
            "height"} <= embed.json().keys()
    assert {"iss", "sub", "name", "preferred_username", "profile", "picture"} <= ok("GET", "/oauth/userinfo").keys()
    # lists, filters, conversations, markers, Web Push and streaming (issue 16, part B)
    assert ok("GET", "/api/v1/lists") == []
    made = ok("POST", "/api/v1/lists", data={"title": "friends"})
    assert LIST_KEYS <= made.keys() and [x["id"] for x in ok("GET", "/api/v1/lists")] == [made["id"]]
    assert ok("GET", f"/api/v1/lists/{made['id']}") == made
    assert ok("GET", f"/api/v1/lists/{made['id']}/accounts") == []
    assert ok("GET", f"/api/v1/timelines/list/{made['id']}") == []
    assert ok("GET", "/api/v2/filters") == [] and ok("GET", "/api/v1/filters") == []
    made = ok("POST", "/api/v2/filters", json={"title": "t", "context": ["home"],
                                               "keywords_attributes": [{"keyword": "spoiler"}]})
    assert FILTER_KEYS <= made.keys() and {"id", "keyword", "whole_word"} <= made["keywords"][0].keys()
    assert [f["id"] for f in ok("GET", "/api/v2/filters")] == [made["id"]]
    assert ok("GET", f"/api/v2/filters/{made['id']}/keywords")[0]["keyword"] == "spoiler"
    assert ok("GET", f"/api/v2/filters/{made['id']}/statuses") == []
    v1 = ok("GET", "/api/v1/filters")
    assert [f["phrase"] for f in v1] == ["spoiler"] and FILTER_V1_KEYS <= v1[0].keys()
    assert ok("GET", "/api/v1/conversations") == []
    acct = api.me["acct"]
    assert other.post("/api/v1/statuses", data={"status": f"@{acct} psst", "visibility": "direct"}).status_code == 200
    conversations = ok("GET", "/api/v1/conversations")
    assert len(conversations) == 1 and CONVERSATION_KEYS <= conversations[0].keys()
    assert [a["id"] for a in conversations[0]["accounts"]] == [other.me["id"]]
    assert ok("GET", "/api/v1/markers", params={"timeline[]": ["home", "notifications"]}) == {}
    ok("POST", "/api/v1/markers", data={"home[last_read_id]": status["id"]})
    assert MARKER_KEYS <= ok("GET", "/api/v1/markers", params={"timeline[]": "home"})["home"].keys()
    assert api.get("/api/v1/push/subscription").status_code == 404  # none yet, as Mastodon
    browser = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    b64 = base64.urlsafe_b64encode
    keys = {"p256dh": b64(browser).rstrip(b"=").decode(), "auth": b64(os.urandom(16)).rstrip(b"=").decode()}
    subscribed = ok("POST", "/api/v1/push/subscription",
                    json={"subscription": {"endpoint": "http://127.0.0.1:9/push/sweep", "keys": keys}})
    assert PUSH_KEYS <= subscribed.keys() and ok("GET", "/api/v1/push/subscription") == subscribed
    health = requests.get(node.url + "/api/v1/streaming/health")
    assert health.status_code == 200 and health.text == "OK"


def test_grouped_notifications_through_mastodon_py(node):
    author = node.mastodon()
    fans = [node.mastodon() for _ in range(3)]
    post = author.status_post("a video to like")
    for fan in fans:
        fan.status_favourite(post["id"])
    follower = fans[0]
    follower.account_follow(author.me()["id"])
    fans[1].status_post(f"@{author.vs_username} hello")

    result = author.grouped_notifications()
    groups = {g["type"]: g for g in result["notification_groups"]}
    assert set(groups) == {"favourite", "follow", "mention"}
    favourites = groups["favourite"]
    assert favourites["notifications_count"] == 3 and GROUP_KEYS <= favourites.keys()
    assert set(favourites["sample_account_ids"]) == {str(f.me()["id"]) for f in fans}
    assert str(favourites["status_id"]) == str(post["id"])
    assert {str(s["id"]) for s in result["statuses"]} >= {str(post["id"])}
    assert {str(a["id"]) for a in result["accounts"]} == {str(f.me()["id"]) for f in fans}
    assert groups["mention"]["group_key"].startswith("ungrouped-")
    # expand_accounts=partial_avatars: each group's latest sender in full, the others once each as
    # Mastodon's PartialAccountWithAvatar (the follow and the mention came from fans[0] and fans[1])
    partial = author.grouped_notifications(types=["favourite"], expand_accounts="partial_avatars")
    assert [str(a["id"]) for a in partial["accounts"]] == [str(fans[2].me()["id"])]
    assert {str(a["id"]) for a in partial["partial_accounts"]} == {str(f.me()["id"]) for f in fans[:2]}
    assert all(set(a) == {"id", "acct", "url", "avatar", "avatar_static", "locked", "bot"}
               for a in node.api(author.access_token).get(
                   "/api/v2/notifications", params={"expand_accounts": "partial_avatars", "types[]": "favourite"}
               ).json()["partial_accounts"])
    full = node.api(author.access_token).get("/api/v2/notifications",
                                             params={"expand_accounts": "full", "types[]": "favourite"}).json()
    assert "partial_accounts" not in full and len(full["accounts"]) == 3
    assert node.api(author.access_token).get("/api/v2/notifications",
                                             params={"expand_accounts": "all"}).status_code == 400
    # the v1 list names the same group on each of its notifications
    v1_keys = {n["group_key"] for n in author.notifications(types=["favourite"])}
    assert v1_keys == {favourites["group_key"]}

    one = author.grouped_notification(favourites["group_key"])
    assert one["notification_groups"][0]["notifications_count"] == 3
    accounts = author.grouped_notification_accounts(favourites["group_key"])
    assert {str(a["id"]) for a in accounts} == {str(f.me()["id"]) for f in fans}
    assert author.unread_grouped_notifications_count() == 3
    # pages of one group each, followed by their `next` links, show every group once, newest first
    api = node.api(author.access_token)
    page, seen = api.get("/api/v2/notifications", params={"limit": 1}), []
    while page.json()["notification_groups"]:
        assert len(page.json()["notification_groups"]) == 1
        seen.append(page.json()["notification_groups"][0]["group_key"])
        page = requests.get(page.headers["Link"].split(">")[0].lstrip("<"),
                            headers={"Authorization": f"Bearer {author.access_token}"})
    assert seen == [g["group_key"] for g in result["notification_groups"]]
    for missing in ("favourite-1-0", "follow-99999999999", "ungrouped-x", "nonsense", "mention-1-5"):
        assert api.get(f"/api/v2/notifications/{missing}").status_code == 404, missing
    author.dismiss_grouped_notification(favourites["group_key"])
    assert "favourite" not in {g["type"] for g in author.grouped_notifications()["notification_groups"]}


def test_notification_policy_filters_into_requests_and_accepting_lets_them_through(node):
    me = node.mastodon()
    stranger = node.mastodon()
    friend = node.mastodon()
    me.account_follow(friend.me()["id"])
    policy = me.update_notifications_policy(for_not_following="filter", for_new_accounts="accept")
    assert policy["for_not_following"] == "filter" and policy["for_private_mentions"] == "accept"
    stranger.status_post(f"@{me.vs_username} buy my stuff")
    friend.status_post(f"@{me.vs_username} hi")
    listed = me.notifications()
    assert [n["account"]["id"] for n in listed] == [friend.me()["id"]]
    requests_ = me.notification_requests()
    assert len(requests_) == 1 and requests_[0]["account"]["id"] == stranger.me()["id"]
    assert requests_[0]["notifications_count"] == "1"
    assert "buy my stuff" in requests_[0]["last_status"]["content"]
    summary = me.notifications_policy()["summary"]
    assert summary == {"pending_requests_count": 1, "pending_notifications_count": 1}
    assert me.notification_request(requests_[0]["id"])["id"] == requests_[0]["id"]
    me.accept_notification_request(requests_[0]["id"])
    assert me.notification_requests() == []
    assert {n["account"]["id"] for n in me.notifications()} == {friend.me()["id"], stranger.me()["id"]}
    stranger.status_post(f"@{me.vs_username} again")  # accepted senders pass from now on
    assert len([n for n in me.notifications() if n["account"]["id"] == stranger.me()["id"]]) == 2
    # drop: nothing is kept at all; v1 shows the rules as booleans
    other = node.mastodon()
    api = node.api(me.access_token)
    v1 = api.patch("/api/v1/notifications/policy", json={"filter_not_following": False}).json()
    assert v1["filter_not_following"] is False
    me.update_notifications_policy(for_not_following="drop")
    other.status_post(f"@{me.vs_username} dropped")
    assert other.me()["id"] not in {n["account"]["id"] for n in me.notifications()}
    assert me.notification_requests() == []
    bad = api.patch("/api/v2/notifications/policy", json={"for_not_following": "maybe"})
    assert bad.status_code == 422
    # private mentions from strangers only: a public mention passes, a direct one waits
    me.update_notifications_policy(for_not_following="accept", for_private_mentions="filter")
    whisperer = node.mastodon()
    whisperer.status_post(f"@{me.vs_username} in public")
    whisperer.status_post(f"@{me.vs_username} just you", visibility="direct")
    from_whisperer = [n for n in me.notifications() if n["account"]["id"] == whisperer.me()["id"]]
    assert [n["status"]["visibility"] for n in from_whisperer] == ["public"]
    assert [r["account"]["id"] for r in me.notification_requests()] == [whisperer.me()["id"]]
    me.dismiss_notification_request(me.notification_requests()[0]["id"])
    assert me.notification_requests() == [] and me.notifications_policy()["summary"]["pending_notifications_count"] == 0


def test_trending_statuses_are_recent_public_videos_by_interactions(node, tmp_path):
    author = user_api(node)
    fans = [user_api(node) for _ in range(2)]
    popular = post_video(node, author, tmp_path, "popular #trendtest")
    liked_once = post_video(node, author, tmp_path, "liked once #trendtest")
    private = post_video(node, author, tmp_path, "followers only", visibility="private")
    text_only = author.post("/api/v1/statuses", data={"status": "no video"}).json()
    for fan in fans:
        fan.post(f"/api/v1/statuses/{popular['id']}/favourite")
    fans[0].post(f"/api/v1/statuses/{popular['id']}/reblog")
    fans[0].post(f"/api/v1/statuses/{liked_once['id']}/favourite")
    fans[0].post(f"/api/v1/statuses/{text_only['id']}/favourite")
    author.post(f"/api/v1/statuses/{private['id']}/favourite")
    ids = [s["id"] for s in node.api().get("/api/v1/trends/statuses", params={"limit": 40}).json()]
    assert ids.index(popular["id"]) < ids.index(liked_once["id"])
    assert private["id"] not in ids and text_only["id"] not in ids
    second = node.api().get("/api/v1/trends/statuses", params={"offset": ids.index(liked_once["id"]), "limit": 1})
    assert [s["id"] for s in second.json()] == [liked_once["id"]]
    tags = node.api().get("/api/v1/trends/tags").json()
    trend = next(t for t in tags if t["name"] == "trendtest")
    assert len(trend["history"]) == 7 and trend["history"][0]["uses"] == "2" and trend["history"][0]["accounts"] == "1"


def test_suggestions_directory_and_familiar_followers(nodes):
    """On a node of its own: suggestions and the directory rank every account of the node, so the
    accounts other tests made would decide what this one sees."""
    node = nodes("suggestions")
    me, friend, popular, quiet = (user_api(node) for _ in range(4))
    me.post(f"/api/v1/accounts/{friend.me['id']}/follow")
    friend.post(f"/api/v1/accounts/{popular.me['id']}/follow")
    quiet.post("/api/v1/statuses", data={"status": "I post"})
    picks = me.get("/api/v2/suggestions").json()
    ids = [s["account"]["id"] for s in picks]
    assert popular.me["id"] in ids and friend.me["id"] not in ids and me.me["id"] not in ids
    first = picks[ids.index(popular.me["id"])]
    assert first["sources"] == ["friends_of_friends"]
    assert me.delete(f"/api/v1/suggestions/{popular.me['id']}").status_code == 200
    assert popular.me["id"] not in [s["account"]["id"] for s in me.get("/api/v2/suggestions").json()]
    popular.post(f"/api/v1/accounts/{quiet.me['id']}/follow")  # quiet: followed by someone me does not follow
    picks = {s["account"]["id"]: s["sources"] for s in me.get("/api/v2/suggestions").json()}
    assert picks.get(quiet.me["id"]) == ["most_followed"]
    familiar = me.get("/api/v1/accounts/familiar_followers", params={"id[]": [popular.me["id"], quiet.me["id"]]})
    assert familiar.json() == [{"id": popular.me["id"], "accounts": [familiar.json()[0]["accounts"][0]]},
                               {"id": quiet.me["id"], "accounts": []}]
    assert familiar.json()[0]["accounts"][0]["id"] == friend.me["id"]
    active = node.api().get("/api/v1/directory", params={"local": "true"}).json()
    assert active[0]["id"] == quiet.me["id"]  # the latest to post comes first, who never posted last
    posted = [a["last_status_at"] is not None for a in active]
    assert posted == sorted(posted, reverse=True) and not all(posted)
    newest = node.api().get("/api/v1/directory", params={"order": "new", "limit": 2}).json()
    assert [a["id"] for a in newest] == [quiet.me["id"], popular.me["id"]]
    quiet.patch("/api/v1/accounts/update_credentials", data={"discoverable": "false"})
    assert quiet.me["id"] not in [a["id"] for a in node.api().get("/api/v1/directory").json()]
    assert node.api().get("/api/v1/directory", params={"order": "old"}).status_code == 422


def test_scheduled_status_is_published_after_a_restart(nodes):
    """Scheduled through Mastodon.py and masto.js, due while the node is down."""
    from tests.api.test_js_clients import run_js

    live = nodes("sched", overrides={"limits": {"min_schedule_seconds": 2, "scheduled_poll_seconds": 1}})
    client, by_masto = live.mastodon(), live.mastodon()
    soon = datetime.now(timezone.utc) + timedelta(seconds=30)
    scheduled = client.status_post("from the past", scheduled_at=soon)
    assert "scheduled_at" in scheduled and client.scheduled_statuses()[0]["id"] == scheduled["id"]
    assert client.account_statuses(client.me()["id"]) == []
    js = run_js("schedule_flows.mjs", {"url": live.url, "token": by_masto.access_token, "at": soon.isoformat()})
    assert [str(s["id"]) for s in by_masto.scheduled_statuses()] == [js["id"]]
    live.stop()
    wait_for(lambda: datetime.now(timezone.utc) > soon + timedelta(seconds=1), what="the scheduled time")
    live.start()
    for who, text in ((client, "from the past"), (by_masto, "scheduled by masto.js")):
        published = wait_for(lambda who=who: who.account_statuses(who.me()["id"]), what=f"the status {text!r}")
        assert len(published) == 1 and text in published[0]["content"]
        assert who.scheduled_statuses() == []
    # one due sooner than the minimum is posted at once, as Mastodon
    now_post = client.status_post("right away", scheduled_at=datetime.now(timezone.utc) + timedelta(seconds=1))
    assert "content" in now_post and "right away" in now_post["content"]


def test_scheduled_status_rules(node):
    api = user_api(node)
    made = api.post("/api/v1/statuses", json={"status": "hi", "visibility": "unlisted", "scheduled_at": in_minutes(10)})
    assert made.status_code == 200 and made.json()["params"]["visibility"] == "unlisted"
    sid = made.json()["id"]
    too_soon = api.put(f"/api/v1/scheduled_statuses/{sid}", json={"scheduled_at": in_minutes(1)})
    assert too_soon.status_code == 422
    assert api.put(f"/api/v1/scheduled_statuses/{sid}", json={"scheduled_at": "tomorrow"}).status_code == 422
    assert api.post("/api/v1/statuses", json={"status": "", "scheduled_at": in_minutes(10)}).status_code == 422
    assert user_api(node).get(f"/api/v1/scheduled_statuses/{sid}").status_code == 404
    assert api.delete(f"/api/v1/scheduled_statuses/{sid}").status_code == 200
    assert api.get(f"/api/v1/scheduled_statuses/{sid}").status_code == 404


def test_oembed_userinfo_translation_detection_and_unknown_routes(node):
    username, password = node.create_user()
    reader = node.api(node.token(username, password, "read"))
    profile = node.api(node.token(username, password, "profile"))
    info = profile.get("/oauth/userinfo").json()
    assert info["preferred_username"] == username and info["iss"] == node.url + "/"
    assert info["sub"].endswith(f"/users/{username}")
    assert reader.get("/oauth/userinfo").status_code == 403  # `read` alone does not grant it
    assert requests.get(node.url + "/oauth/userinfo").status_code == 401
    writer = node.api(node.token(username, password))
    public = writer.post("/api/v1/statuses", data={"status": "embed me"}).json()
    private = writer.post("/api/v1/statuses", data={"status": "no", "visibility": "private"}).json()
    embed = requests.get(node.url + "/api/oembed", params={"url": public["url"]}).json()
    assert public["url"] in embed["html"] and embed["type"] == "rich"
    assert requests.get(node.url + "/api/oembed", params={"url": private["url"]}).status_code == 404
    assert requests.get(node.url + "/api/oembed", params={"url": "https://elsewhere.example/x/1"}).status_code == 404
    translated = writer.post(f"/api/v1/statuses/{public['id']}/translate")
    assert translated.status_code == 404 and translated.json()["error"] == "Translation is not available on this server"
    assert writer.post(f"/api/v1/statuses/{private['id']}/translate").status_code == 404
    unknown = writer.get("/api/v1/no_such_thing")
    assert unknown.status_code == 404 and unknown.json()["error"] == "This API endpoint does not exist"
    assert writer.get("/api/v1/statuses/1").json()["error"] == "Record not found"
    info = requests.get(node.url + "/nodeinfo/2.1").json()
    assert info["software"]["name"] == "vitascope" and info["metadata"]["upstream"]["name"] == "mastodon"


def test_mastodon_py_reads_the_new_endpoints(node):
    client = node.mastodon()  # (its oauth_userinfo() insists on https: userinfo is tested over raw HTTP above)
    assert client.notifications_policy()["for_not_following"] == "accept"
    assert isinstance(client.trending_statuses(), list) and isinstance(client.trending_tags(), list)
    assert isinstance(client.suggestions_v2(), list)
    assert client.directory(local=True)
    with pytest.raises(MastodonAPIError):
        client.status_translate(client.status_post("hola")["id"])
