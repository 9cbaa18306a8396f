"""Issue 16: a direct message between accounts of two nodes is a conversation on both sides."""

from __future__ import annotations

from tests.federation.test_two_nodes import acct, follow
from tests.support.waiting import wait_for


def test_direct_messages_across_nodes_make_conversations(node, node_b):
    alice, bob = node.mastodon(), node_b.mastodon()
    alice_on_b = follow(bob, acct(node, alice.vs_username))
    dm = bob.status_post(f"@{acct(node, alice.vs_username)} a private word", visibility="direct")

    theirs = wait_for(alice.conversations, what="the DM on alpha")[0]
    assert theirs["unread"] is True and theirs["last_status"]["uri"] == dm["uri"]
    assert [a["acct"] for a in theirs["accounts"]] == [acct(node_b, bob.vs_username)]
    mine, = bob.conversations()
    assert [a["id"] for a in mine["accounts"]] == [alice_on_b] and mine["unread"] is False

    answer = alice.status_post(f"@{acct(node_b, bob.vs_username)} got it", visibility="direct",
                               in_reply_to_id=theirs["last_status"]["id"])
    wait_for(lambda: bob.conversations()[0]["last_status"]["uri"] == answer["uri"], what="the answer on beta")
    mine_now, = bob.conversations()
    assert mine_now["id"] == mine["id"] and mine_now["unread"] is True
    assert alice.conversations()[0]["id"] == theirs["id"]
