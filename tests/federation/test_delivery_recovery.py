"""Nothing is lost when a peer is down: the delivery row waits, retries with backoff, and the
post arrives once the peer answers again — across a restart of the sending node too."""

from __future__ import annotations

from tests.federation.conftest import wait_for
from tests.federation.test_two_nodes import acct, follow, in_home, marker


def test_post_reaches_a_peer_that_was_down_and_a_sender_restart(nodes):
    sender, receiver = nodes("sender"), nodes("receiver")
    alice = sender.mastodon()
    bob = receiver.mastodon()
    follow(bob, acct(sender, alice.vs_username))

    receiver.stop()
    post = alice.status_post(marker("sent while you were away"))
    # The sender restarts too while the delivery waits: the Delivery row, not memory, is the truth.
    sender.stop()
    sender.start()
    receiver.start()
    seen = wait_for(lambda: in_home(bob, post["uri"]), timeout=120, what="the post after the peer came back")
    assert seen["content"] == post["content"]
