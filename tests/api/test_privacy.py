"""Nobody sees, is notified of, or can download what a post's audience excludes (one live node)."""

from __future__ import annotations

import time
import uuid
from urllib.parse import parse_qs, urlsplit

import requests

from node.urls import Urls
from tests.api.test_provenance_trust import signed_clip


def marker(text: str) -> str:
    return f"{text} {uuid.uuid4().hex[:12]}"


def follow(client, other) -> None:
    client.account_follow(other.me()["id"])


def notifications(client) -> list[dict]:
    return client.notifications(limit=40)


def about(items: list[dict], status: dict) -> list[dict]:
    return [n for n in items if n.get("status") and n["status"]["id"] == status["id"]]


# --------------------------------------------------------------------------- remixes


def test_remix_of_a_status_its_author_cannot_see_is_answered_as_an_unknown_id(node):
    alice, bob, carol = node.mastodon(), node.mastodon(), node.mastodon()
    follow(carol, alice)
    hidden = {v: alice.status_post(marker(f"only for some: {v}"), visibility=v) for v in ("private", "direct")}
    bob_api = node.api(bob.access_token)
    unknown = bob_api.post("/api/v1/statuses", json={"status": marker("a remix"), "remix_of_id": "1"})
    assert unknown.status_code == 404
    for status in hidden.values():
        r = bob_api.post("/api/v1/statuses", json={"status": marker("a remix"), "remix_of_id": status["id"]})
        assert (r.status_code, r.json()) == (unknown.status_code, unknown.json())
    # Someone who may see it remixes it: linked, and its author is told.
    ok = node.api(carol.access_token).post("/api/v1/statuses", json={"status": marker("a remix"),
                                                                     "remix_of_id": hidden["private"]["id"]})
    assert ok.status_code == 200 and ok.json()["vitascope"]["remix_of_id"] == hidden["private"]["id"]
    remixes = [n for n in notifications(alice) if n["type"] == "remix"]
    assert [n["account"]["id"] for n in remixes] == [str(carol.me()["id"])]


# --------------------------------------------------------------------------- notifications


def test_notifications_never_carry_a_status_their_recipient_cannot_open(node):
    alice, bob = node.mastodon(), node.mastodon()
    post = alice.status_post(marker("a public post"))
    # A followers-only reply that does not mention alice: alice does not follow bob.
    private_reply = bob.status_post(marker("about you, for my followers"), in_reply_to_id=post["id"],
                                    visibility="private")
    # A direct post remixing alice's public post, addressed to nobody.
    direct_remix = node.api(bob.access_token).post("/api/v1/statuses", json={
        "status": marker("a remix for me alone"), "visibility": "direct", "remix_of_id": post["id"]}).json()
    public_reply = bob.status_post(marker("a public reply"), in_reply_to_id=post["id"])
    seen = notifications(alice)
    assert [n["type"] for n in about(seen, public_reply)] == ["mention"]
    assert about(seen, private_reply) == [] and about(seen, direct_remix) == []
    assert all(n["status"] is None or n["status"]["id"] in (public_reply["id"],) for n in seen)


def test_a_notification_is_hidden_once_its_recipient_may_no_longer_see_the_status(node):
    alice, bob = node.mastodon(), node.mastodon()
    follow(alice, bob)
    post = alice.status_post(marker("a public post"))
    reply = bob.status_post(marker("for my followers"), in_reply_to_id=post["id"], visibility="private")
    [note] = about(notifications(alice), reply)  # alice follows bob: she may open it
    api = node.api(alice.access_token)
    count = api.get("/api/v1/notifications/unread_count").json()["count"]
    assert api.get(f"/api/v1/notifications/{note['id']}").status_code == 200

    alice.account_unfollow(bob.me()["id"])
    assert about(notifications(alice), reply) == []
    assert api.get(f"/api/v1/notifications/{note['id']}").status_code == 404
    assert api.get("/api/v1/notifications/unread_count").json()["count"] == count - 1
    assert api.get("/api/v1/notifications", params={"types[]": "mention"}).json() == []
    # Notifications about no status are not touched by the check.
    assert [n["type"] for n in notifications(bob)] == ["follow"]


# --------------------------------------------------------------------------- media


def _signed_parts(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", {k: v[0] for k, v in parse_qs(parts.query).items()}


def test_private_media_needs_a_valid_signature_and_public_media_stays_plain(node, tmp_path):
    alice, bob = node.mastodon(), node.mastodon()
    follow(bob, alice)
    _, clip = signed_clip(node, tmp_path)
    private_media = alice.media_post(str(clip), mime_type="video/mp4")
    public_media = alice.media_post(str(clip), mime_type="video/mp4")
    private = alice.status_post(marker("for my followers"), media_ids=[private_media["id"]], visibility="private")
    public = alice.status_post(marker("for everyone"), media_ids=[public_media["id"]])

    [shown] = bob.status(private["id"])["media_attachments"]  # a follower is given signed URLs
    for url in (shown["url"], shown["preview_url"]):
        plain, query = _signed_parts(url)
        assert set(query) == {"expires", "signature"} and int(query["expires"]) > time.time() + 3600
        served = requests.get(url)
        assert served.status_code == 200 and served.content and "public" not in served.headers["Cache-Control"]
        refused = [requests.get(plain),
                   requests.get(plain, params={**query, "signature": query["signature"][:-2] + "AA"}),
                   requests.get(plain, params={**query, "expires": str(int(query["expires"]) + 3600)})]
        assert [r.status_code for r in refused] == [404, 404, 404]
        assert all(r.json() == {"error": "Record not found"} for r in refused)
    # A signature for one file does not open another.
    _, query = _signed_parts(shown["url"])
    other_plain, _ = _signed_parts(alice.status(public["id"])["media_attachments"][0]["url"])
    assert requests.get(shown["preview_url"].split("?")[0], params=query).status_code == 404
    # A correctly signed URL that has expired is refused like an unknown file.
    key = bytes.fromhex((node.data_dir / "media-url.key").read_text())
    path = urlsplit(shown["url"]).path.removeprefix("/media/")
    expired = Urls(node.url, media_key=key).private_media(path, 60, now=time.time() - 7200)
    assert requests.get(expired).status_code == 404
    assert requests.get(Urls(node.url, media_key=key).private_media(path, 60)).status_code == 200
    # Nobody else is given the URL: the status itself is not shown to a stranger.
    assert node.api(node.mastodon().access_token).get(f"/api/v1/statuses/{private['id']}").status_code == 404

    [plain_attachment] = bob.status(public["id"])["media_attachments"]
    assert "?" not in plain_attachment["url"] and "?" not in plain_attachment["preview_url"]
    served = requests.get(plain_attachment["url"], headers={"Range": "bytes=0-99"})
    assert served.status_code == 206 and len(served.content) == 100
    assert served.headers["Cache-Control"].startswith("public, max-age=")
    assert requests.get(other_plain).status_code == 200
    assert requests.get(f"{node.url}/media/no/such/file.mp4").status_code == 404
    for odd in ("%2e%2e/vitascope.toml", "ab/%00.mp4", "ab/%ff.mp4", "x" * 600 + ".mp4"):
        assert requests.get(f"{node.url}/media/{odd}").status_code == 404

    # Deleting the public post makes its file private: the plain URL stops working.
    alice.status_delete(public["id"])
    assert requests.get(plain_attachment["url"]).status_code == 404
