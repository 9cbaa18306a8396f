"""Nothing is lost when a peer is down: the delivery row waits, retries with backoff, and the
post arrives once the peer answers again — across a restart of the sending node too. Nor when the
node's Redis goes away under load: the in-process workers start again by themselves."""

from __future__ import annotations

import os
import shutil
import signal
import time

import pytest
import redis
import requests

from node.redis_server import JOB_LEASE_S
from tests.federation.test_two_nodes import acct, follow, in_home, marker
from tests.support.peers import Inboxes, followed_by_inboxes
from tests.support.waiting import wait_for


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


# --------------------------------------------------------------------------- Redis lost under load

FOLLOWERS = 20
POSTS = 50  # FOLLOWERS × POSTS = 1,000 deliveries
# Held deliveries must not time out (and wait for their retry) while a test holds them.
PATIENT = {"federation": {"fetch_timeout_seconds": 60}}


@pytest.fixture
def inboxes():
    server = Inboxes()
    server.start()
    yield server
    server.stop()


def deliver_through_a_redis_outage(live, inboxes: Inboxes, *, down, up) -> None:
    """POSTS posts to FOLLOWERS inboxes, every delivery held: with deliveries in flight and the rest
    queued, ``down()`` takes Redis away; the deliveries in flight end meanwhile (so the worker meets the
    lost connection), ``up()`` brings Redis back (or waits for the node to), and then every one of the
    1,000 deliveries arrives, the node never restarted."""
    alice = followed_by_inboxes(live, inboxes, FOLLOWERS)
    pid = live.process.pid
    inboxes.hang()
    for n in range(POSTS):
        alice.status_post(f"post {n} " + marker("through a Redis outage"))
    wait_for(lambda: inboxes.held > 0, what="deliveries in flight")
    down()
    inboxes.release()
    wait_for(lambda: inboxes.held == 0, what="the deliveries in flight to end")
    up()
    wait_for(lambda: len(inboxes.delivered) == FOLLOWERS * POSTS, timeout=120,
             what=f"{FOLLOWERS * POSTS} deliveries (got {len(inboxes.delivered)})")
    assert live.process.pid == pid and live.process.poll() is None


def test_deliveries_go_on_after_the_embedded_redis_is_killed(nodes, inboxes):
    """The node's watchdog starts its Redis again; the delivery worker, which lost its connection, starts
    again by itself and sends what was queued, and what could not be queued while Redis was away."""
    live = nodes("embedded-redis", embedded_redis=True, overrides=PATIENT)
    pidfile = live.data_dir / "redis" / "redis.pid"
    killed = []

    def kill() -> None:
        killed.append(int(pidfile.read_text()))
        os.kill(killed[0], signal.SIGKILL)

    def restarted() -> bool:
        try:
            return pidfile.read_text().strip() not in ("", str(killed[0])) and redis.Redis.from_url(live.redis_url).ping()
        except (OSError, redis.RedisError):
            return False

    deliver_through_a_redis_outage(live, inboxes, down=kill,
                                   up=lambda: wait_for(restarted, what="the node to start its Redis again"))


def test_deliveries_go_on_after_an_external_redis_comes_back_empty(nodes, inboxes):
    """An external Redis stopped and started again without its data (as after a failover to a replica
    that was behind): the worker reconnects, and queues again from the delivery rows the jobs Redis lost."""
    live = nodes("external-redis", overrides=PATIENT)
    server = live.redis_server

    def stop_and_forget() -> None:
        server.stop()
        for path in server.directory.glob("appendonly*"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()

    def start_once_the_worker_noticed() -> None:
        # Redis stays away until the delivery worker has met the lost connection (it logs it), so the
        # test does not depend on how fast it is.
        wait_for(lambda: "delivery worker lost Redis" in live.log_path.read_text(errors="replace"),
                 what="the delivery worker to meet the outage")
        server.start()

    deliver_through_a_redis_outage(live, inboxes, down=stop_and_forget, up=start_once_the_worker_noticed)


def test_a_delivery_in_flight_holds_its_job_briefly_and_is_sent_again_soon_after_a_kill(nodes, inboxes):
    """A running delivery job's claim (arq's in-progress key) lasts JOB_LEASE_S and is renewed while the
    job runs, not the job's whole timeout: after a `kill -9` of the node, the delivery it was making is
    sent again that soon after a restart (at least once: the peer may see it twice)."""
    # Every delivery in flight at once.
    live = nodes("killed-sender", overrides={"federation": {**PATIENT["federation"], "delivery_concurrency": FOLLOWERS}})
    alice = followed_by_inboxes(live, inboxes, FOLLOWERS)
    inboxes.hang()
    alice.status_post(marker("in flight when the node is killed"))
    wait_for(lambda: inboxes.held == FOLLOWERS, what="every delivery in flight")
    claims = redis.Redis.from_url(live.redis_url)
    keys = claims.keys("arq:in-progress:deliver:*")
    assert len(keys) == FOLLOWERS
    first, since = claims.pttl(keys[0]), time.monotonic()
    assert 0 < first <= JOB_LEASE_S * 1000

    def renewed() -> bool:
        """Left alone, the claim's time to live falls as the clock runs; a renewal (every third of
        the lease) puts it back up by seconds — not necessarily above `first`, read just after the
        claim, since the renewal may have come a few ms before this look."""
        left_alone = first - (time.monotonic() - since) * 1000
        ttl = claims.pttl(keys[0])  # -2 once the key is gone: never renewed in time
        return ttl > 0 and ttl > left_alone + 1000
    wait_for(renewed, what="the claim to be renewed")

    live.process.kill()
    live.process.wait()
    inboxes.release()
    wait_for(lambda: inboxes.held == 0, what="the killed node's requests to end")
    assert inboxes.posts_received == FOLLOWERS
    live.start()
    wait_for(lambda: inboxes.posts_received == 2 * FOLLOWERS, timeout=60, what="the deliveries sent again")
    assert len(inboxes.delivered) == FOLLOWERS
