"""Remote posts arrive with their context: unknown parents and mentioned actors are fetched in the
background, so a slow host never holds the inbox.

Three live nodes: alpha (`node`), beta (`node_b`) and gamma, which fetches at most two ancestors,
runs two context fetches at once and at most one per host. Gamma's users follow only beta users, so
whatever gamma shows of alpha it had to fetch itself.
A small aiohttp origin server in this process (loopback, tests.support.peers.Origin) serves fixed
documents, can go away, and can hang: accept every request and answer none.
"""

from __future__ import annotations

import time

import pytest
import redis

from node import redis_keys
from node.activitypub.context_fetch import parent_job_id
from node.activitypub.context_jobs import HOST_BUSY_DEFER, RETRY_DELAYS
from tests.federation.test_two_nodes import acct, follow, in_home, marker
from tests.support.peers import Origin
from tests.support.waiting import wait_for

MAX_DEPTH = 2
# Gamma's per-request timeout: long, so that an inbox waiting on a hanging fetch would be obvious.
FETCH_TIMEOUT = 30
# Other activities must show well before that.
PROMPTLY = 10


@pytest.fixture(scope="module")
def gamma(nodes):
    # Opening a remote thread also reads its replies collection (test_replies_fetch.py); off here,
    # so the fetches these tests count are the ancestor and mention fetches alone.
    return nodes("gamma", overrides={"federation": {"max_thread_fetch_depth": MAX_DEPTH,
                                                    "fetch_timeout_seconds": FETCH_TIMEOUT,
                                                    "context_fetch_concurrency": 2,
                                                    "context_fetch_per_host": 1,
                                                    "replies_fetch_max_pages": 0}})


@pytest.fixture
def origin():
    server = Origin()
    server.start()
    yield server
    server.stop()


def context_settled(live) -> bool:
    """No context fetch due, running or put off for a busy host on ``live``: an arq job stays on its
    queue until it finishes, and one put off for HOST_BUSY_DEFER runs in a moment (one waiting to be
    tried again after a failure, or a new post's replies put off, is not due)."""
    with redis.Redis.from_url(live.redis_url) as client:
        return client.zcount(redis_keys.CONTEXT_QUEUE, "-inf", (time.time() + HOST_BUSY_DEFER + 1) * 1000) == 0


def put_off(live, uris: list[str]) -> int:
    """How many times ``live``'s context worker has put off fetching one of these parents (arq logs
    each run that ends in a Retry)."""
    log = live.log_path.read_text(errors="replace")
    return sum(log.count(f"{parent_job_id(uri)}:context_parent retrying job") for uri in uris)


def resolve_status(client, uri: str) -> dict:
    """The client's node's copy of a post, fetched by search if it has none yet."""
    [found] = client.search_v2(uri, resolve=True, result_type="statuses")["statuses"]
    return found


def ancestor_uris(client, status_id) -> list[str]:
    return [s["uri"] for s in client.status_context(status_id)["ancestors"]]


def test_reply_brings_its_unknown_parent(node, node_b, gamma):
    alice, bob, carol = node.mastodon(), node_b.mastodon(), gamma.mastodon()
    follow(carol, acct(node_b, bob.vs_username))
    post = alice.status_post(marker("parent on alpha"))
    reply = bob.status_post(marker("reply from beta"), in_reply_to_id=resolve_status(bob, post["uri"])["id"])

    seen = wait_for(lambda: in_home(carol, reply["uri"]), what="reply on gamma")
    [parent] = wait_for(lambda: carol.status_context(seen["id"])["ancestors"], what="parent on gamma")
    assert parent["uri"] == post["uri"] and parent["account"]["acct"] == acct(node, alice.vs_username)
    seen = carol.status(seen["id"])
    assert seen["in_reply_to_id"] == parent["id"]
    assert seen["in_reply_to_account_id"] == parent["account"]["id"]
    assert [s["uri"] for s in carol.status_context(parent["id"])["descendants"]] == [reply["uri"]]


def test_thread_is_fetched_up_to_the_depth_and_links_up_when_the_rest_arrives(node, node_b, gamma):
    alice, bob, erin, carol = node.mastodon(), node_b.mastodon(), node_b.mastodon(), gamma.mastodon()
    follow(carol, acct(node_b, erin.vs_username))
    first = alice.status_post(marker("thread start"))
    answer = bob.status_post(marker("answer"), in_reply_to_id=resolve_status(bob, first["uri"])["id"])
    wait_for(lambda: alice.status_context(first["id"])["descendants"], what="answer on alpha")
    follow_up = alice.status_post(marker("follow-up"), in_reply_to_id=resolve_status(alice, answer["uri"])["id"])
    wait_for(lambda: bob.status_context(answer["id"])["descendants"], what="follow-up on beta")
    last = erin.status_post(marker("last word"), in_reply_to_id=resolve_status(erin, follow_up["uri"])["id"])

    # Gamma fetched MAX_DEPTH (2) ancestors; the thread's first post is beyond that.
    seen = wait_for(lambda: in_home(carol, last["uri"]), what="last reply on gamma")
    wait_for(lambda: ancestor_uris(carol, seen["id"]) == [answer["uri"], follow_up["uri"]] and context_settled(gamma),
             what="two ancestors on gamma")
    answer_on_c = carol.status_context(seen["id"])["ancestors"][0]
    assert answer_on_c["in_reply_to_id"] is None

    # When the first post arrives, the answer that waited for it is linked: the whole thread shows.
    first_on_c = resolve_status(carol, first["uri"])
    assert carol.status(answer_on_c["id"])["in_reply_to_id"] == first_on_c["id"]
    assert ancestor_uris(carol, seen["id"]) == [first["uri"], answer["uri"], follow_up["uri"]]


def test_unreachable_parent_and_mentions(node, node_b, gamma, origin):
    """A parent on a host that is down does not stop the reply; an unknown mentioned account is
    resolved, an unreachable one skipped; the reply is linked once its parent can be had."""
    bob, carol = node_b.mastodon(), gamma.mastodon()
    dave, _ = node.create_user()
    follow(carol, acct(node_b, bob.vs_username))
    frank = origin.actor("frank")
    parent_uri = origin.note("/notes/1", frank, "far away")
    resolve_status(bob, parent_uri)
    bob.account_lookup(acct(node, dave))  # beta knows both, so bob's mentions link them
    origin.stop()

    text = f"@frank@{origin.domain} @{dave}@{node.domain} " + marker("are you there")
    reply = bob.status_post(text, in_reply_to_id=resolve_status(bob, parent_uri)["id"])
    assert {m["acct"] for m in reply["mentions"]} == {f"frank@{origin.domain}", acct(node, dave)}
    seen = wait_for(lambda: in_home(carol, reply["uri"]), what="reply on gamma")
    wait_for(lambda: carol.status(seen["id"])["mentions"] and context_settled(gamma), what="mentions on gamma")
    assert [m["acct"] for m in carol.status(seen["id"])["mentions"]] == [acct(node, dave)]
    assert carol.status(seen["id"])["in_reply_to_id"] is None
    assert carol.status_context(seen["id"])["ancestors"] == []

    origin.start()
    parent = resolve_status(carol, parent_uri)
    assert carol.status(seen["id"])["in_reply_to_id"] == parent["id"]
    assert ancestor_uris(carol, seen["id"]) == [parent_uri]


def test_reply_cycles_are_not_followed(gamma, origin):
    """Two posts that answer each other, and one that answers itself: each is fetched once and the
    stored thread has no loop."""
    carol = gamma.mastodon()
    author = origin.actor("loop")
    one = origin.note("/notes/one", author, "one", in_reply_to=origin.url + "/notes/two")
    two = origin.note("/notes/two", author, "two", in_reply_to=one)
    itself = origin.note("/notes/self", author, "me", in_reply_to=origin.url + "/notes/self")

    one_on_c = resolve_status(carol, one)
    wait_for(lambda: carol.status_context(one_on_c["id"])["ancestors"] and context_settled(gamma),
             what="the post one answers")
    two_on_c = carol.status_context(one_on_c["id"])["ancestors"]
    assert origin.fetches("/notes/one") == 1 and origin.fetches("/notes/two") == 1
    assert [s["uri"] for s in two_on_c] == [two] and two_on_c[0]["in_reply_to_id"] is None
    assert carol.status_context(one_on_c["id"])["descendants"] == []
    assert [s["uri"] for s in carol.status_context(two_on_c[0]["id"])["descendants"]] == [one]

    alone = resolve_status(carol, itself)
    wait_for(lambda: context_settled(gamma), what="context fetches to finish")
    assert alone["in_reply_to_id"] is None and origin.fetches("/notes/self") == 1
    assert carol.status_context(alone["id"]) == {"ancestors": [], "descendants": []}


def test_a_hanging_parent_host_does_not_hold_the_inbox(node_b, gamma, origin):
    """The parent's host accepts the connection and never answers: the reply shows at once without
    its parent, later activities are processed promptly, and the parent is fetched once however
    many replies wait for it."""
    bob, carol = node_b.mastodon(), gamma.mastodon()
    follow(carol, acct(node_b, bob.vs_username))
    parent_uri = origin.note("/notes/slow", origin.actor("sloth"), "in my own time")
    parent_on_b = resolve_status(bob, parent_uri)
    origin.hang()

    reply = bob.status_post(marker("reply to a slow host"), in_reply_to_id=parent_on_b["id"])
    wait_for(lambda: origin.fetches("/notes/slow", by=gamma), what="gamma asking for the parent")
    started = time.monotonic()
    later = bob.status_post(marker("later post"))
    wait_for(lambda: in_home(carol, later["uri"]), timeout=PROMPTLY, what="the later post, promptly")
    assert time.monotonic() - started < PROMPTLY
    seen = in_home(carol, reply["uri"])
    assert seen is not None and seen["in_reply_to_id"] is None
    assert carol.status_context(seen["id"])["ancestors"] == []

    second = bob.status_post(marker("second reply"), in_reply_to_id=parent_on_b["id"])
    second_seen = wait_for(lambda: in_home(carol, second["uri"]), timeout=PROMPTLY, what="the second reply")
    origin.release()
    wait_for(lambda: carol.status_context(seen["id"])["ancestors"] and context_settled(gamma),
             what="the parent, once its host answers")
    [parent] = carol.status_context(seen["id"])["ancestors"]
    assert parent["uri"] == parent_uri
    assert [carol.status(s["id"])["in_reply_to_id"] for s in (seen, second_seen)] == [parent["id"]] * 2
    assert origin.fetches("/notes/slow", by=gamma) == 1


def test_a_hanging_host_does_not_hold_other_hosts_fetches(node, node_b, gamma, origin):
    """One host hangs on two parents while gamma runs two fetches at once, at most one per host: the
    second waits without holding a slot, so a parent on a healthy host is fetched and linked long
    before the hanging fetch would time out; once the host answers, every reply links up."""
    alice, bob, carol = node.mastodon(), node_b.mastodon(), gamma.mastodon()
    follow(carol, acct(node_b, bob.vs_username))
    sloth = origin.actor("sloth")
    slow_parents = [origin.note(f"/notes/slow-{n}", sloth, f"slow {n}") for n in (1, 2)]
    on_b = [resolve_status(bob, uri) for uri in slow_parents]
    origin.hang()

    slow_replies = [bob.status_post(marker("reply to a hanging host"), in_reply_to_id=parent["id"]) for parent in on_b]
    slow_seen = [wait_for(lambda uri=r["uri"]: in_home(carol, uri), what="a reply to the hanging host") for r in slow_replies]
    wait_for(lambda: origin.fetches("/notes/slow-1", by=gamma) or origin.fetches("/notes/slow-2", by=gamma),
             what="gamma asking the hanging host")

    healthy = alice.status_post(marker("parent on a healthy host"))
    started = time.monotonic()
    reply = bob.status_post(marker("reply to a healthy host"), in_reply_to_id=resolve_status(bob, healthy["uri"])["id"])
    seen = wait_for(lambda: in_home(carol, reply["uri"]), timeout=PROMPTLY, what="the healthy reply")
    linked = wait_for(lambda: carol.status(seen["id"])["in_reply_to_id"], timeout=PROMPTLY, what="its parent, promptly")
    assert time.monotonic() - started < PROMPTLY < FETCH_TIMEOUT
    assert carol.status(linked)["uri"] == healthy["uri"]
    assert sum(origin.fetches(f"/notes/slow-{n}", by=gamma) for n in (1, 2)) == 1  # the other one waits its turn
    assert [carol.status(s["id"])["in_reply_to_id"] for s in slow_seen] == [None, None]

    # Put off more often than a parent fetch may be tried, the waiting one still gets its turn.
    wait_for(lambda: put_off(gamma, slow_parents) > len(RETRY_DELAYS) + 1, timeout=FETCH_TIMEOUT / 2,
             what="the waiting fetch put off again and again")
    origin.release()
    wait_for(lambda: all(carol.status(s["id"])["in_reply_to_id"] for s in slow_seen) and context_settled(gamma),
             what="both slow parents, once their host answers")
    for uri, reply_seen in zip(slow_parents, slow_seen):
        assert ancestor_uris(carol, reply_seen["id"]) == [uri]
    assert [origin.fetches(f"/notes/slow-{n}", by=gamma) for n in (1, 2)] == [1, 1]


def test_a_parent_fetch_survives_a_restart(node_b, gamma, origin):
    """A parent fetch in flight when the node stops is done after it starts again."""
    bob, carol = node_b.mastodon(), gamma.mastodon()
    follow(carol, acct(node_b, bob.vs_username))
    parent_uri = origin.note("/notes/later", origin.actor("sloth"), "after the restart")
    parent_on_b = resolve_status(bob, parent_uri)
    origin.hang()
    reply = bob.status_post(marker("reply across a restart"), in_reply_to_id=parent_on_b["id"])
    wait_for(lambda: origin.fetches("/notes/later", by=gamma), what="gamma asking for the parent")

    gamma.stop()
    origin.release()
    gamma.start()
    seen = wait_for(lambda: in_home(carol, reply["uri"]), what="the reply after the restart")
    wait_for(lambda: ancestor_uris(carol, seen["id"]) == [parent_uri], timeout=60, what="the parent after the restart")
    assert origin.fetches("/notes/later", by=gamma) == 2
