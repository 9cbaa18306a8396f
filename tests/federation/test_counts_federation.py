"""Counts kept on write from remote activity (issue 12): follows, likes, shares and replies from
another server, then that actor's deletion; `vitascope admin recount` finds nothing to fix."""

from __future__ import annotations

import uuid

from tests.support.waiting import wait_for


def test_remote_activity_and_actor_deletion_keep_counts_right(node, node_b):
    alice = node.mastodon()
    bob = node_b.mastodon()
    bob_name = bob.vs_username
    alice_on_b = bob.account_lookup(f"{alice.vs_username}@{node.domain}")["id"]
    bob.account_follow(alice_on_b)
    me = alice.me()
    wait_for(lambda: alice.account(me["id"])["followers_count"] == 1, what="remote follow counted")

    post = alice.status_post(f"count me {uuid.uuid4().hex[:8]}")
    on_b = wait_for(lambda: next((s for s in bob.timeline_home() if s["uri"] == post["uri"]), None),
                    what="post on beta")
    bob.status_favourite(on_b["id"])
    bob.status_reblog(on_b["id"])
    bob.status_post("from afar", in_reply_to_id=on_b["id"])

    def counts():
        s = alice.status(post["id"])
        return s["favourites_count"], s["reblogs_count"], s["replies_count"]

    wait_for(lambda: counts() == (1, 1, 1), what="remote like, share and reply counted")
    bob_on_a = alice.account_lookup(f"{bob_name}@{node_b.domain}")
    assert (bob_on_a["statuses_count"], bob_on_a["following_count"]) == (2, 1)  # the share and the reply

    bob.account_unfollow(alice_on_b)
    wait_for(lambda: alice.account(me["id"])["followers_count"] == 0, what="remote unfollow counted")
    bob.account_follow(alice_on_b)
    wait_for(lambda: alice.account(me["id"])["followers_count"] == 1, what="remote follow again")

    node_b.cli("delete-account", bob_name)
    wait_for(lambda: counts() == (0, 0, 0), what="the deleted actor's like, share and reply uncounted")
    wait_for(lambda: alice.account(me["id"])["followers_count"] == 0, what="the deleted actor's follow uncounted")
    out = node.cli("admin", "recount").stdout
    assert "all were right" in out, out
