"""Followers-only and direct posts reach only their audience across two live nodes."""

from __future__ import annotations

import requests

from tests.federation.test_two_nodes import AP, _signed_ai_video, acct, follow, in_home, marker
from tests.support.waiting import wait_for


def test_a_private_reply_to_a_remote_post_is_not_sent_to_its_author(node, node_b):
    """alice (alpha) follows bob (beta); bob does not follow alice. Her followers-only and direct
    replies to his post, which do not mention him, are not his to receive; her public reply is."""
    alice, bob = node.mastodon(), node_b.mastodon()
    follow(alice, acct(node_b, bob.vs_username))
    post = bob.status_post(marker("a post of mine"))
    seen = wait_for(lambda: in_home(alice, post["uri"]), what="bob's post on alpha")
    hidden = [alice.status_post(marker(f"not for bob: {v}"), in_reply_to_id=seen["id"], visibility=v)
              for v in ("private", "direct")]
    public = alice.status_post(marker("a public reply"), in_reply_to_id=seen["id"])

    def replies_told() -> list[str]:
        return [n["status"]["uri"] for n in bob.notifications(limit=40) if n.get("status")]

    # Sent after the private ones, to the same inbox: once it is there, they would have been too.
    wait_for(lambda: public["uri"] in replies_told(), what="the public reply on beta")
    assert bob.status(post["id"])["replies_count"] == 1  # every reply beta holds: it got no other
    thread = bob.status_context(post["id"])["descendants"]
    assert [s["uri"] for s in thread] == [public["uri"]]
    assert not {s["uri"] for s in hidden} & set(replies_told())
    # Beta cannot fetch them either: alpha serves them only to their audience.
    for status in hidden:
        assert requests.get(status["uri"], headers=AP).status_code == 404


def test_a_followers_only_video_reaches_followers_by_signed_urls(node, node_b, tmp_path):
    """The delivered Note carries signed URLs (long-lived) for the followers' servers to fetch the
    video; beta keeps its own copy, itself private, and gives its follower signed URLs to it."""
    alice, bob = node.mastodon(), node_b.mastodon()
    follow(bob, acct(node, alice.vs_username))
    media = alice.media_post(str(_signed_ai_video(node, tmp_path)), mime_type="video/mp4")
    status = alice.status_post(marker("a clip for my followers"), media_ids=[media["id"]], visibility="private")
    [own] = alice.status(status["id"])["media_attachments"]
    assert "signature=" in own["url"] and requests.get(own["url"].split("?")[0]).status_code == 404

    seen = wait_for(lambda: in_home(bob, status["uri"]), what="the followers-only video on beta")
    [attachment] = seen["media_attachments"]
    assert attachment["url"].startswith(node_b.url + "/media/") and "signature=" in attachment["url"]
    with requests.get(attachment["url"]) as fetched:
        assert fetched.status_code == 200 and fetched.content == requests.get(own["url"]).content
    assert requests.get(attachment["url"].split("?")[0]).status_code == 404
