"""Replies a node never received are fetched when one of its users opens the thread, as Mastodon 4.4
does: our posts list their public and unlisted replies in a `replies` collection, and opening the
context of a remote post (`GET /api/v1/statuses/:id/context`, signed in) queues a background fetch of
the replies its server lists, and the replies those replies list in turn — also below the replies the
node already holds — bounded in pages and items per post and in all per thread, not while the post is
new, and repeated (per post) only after a cooldown.

alpha (`node`, default settings) and beta (`node_b`) are the session's nodes; `walker` (default bounds)
and `reader` (small bounds and a short cooldown) are this module's, and read the replies of posts
however new. Small aiohttp origin servers in this process (loopback) serve hand-made collections.
"""

from __future__ import annotations

import time

import pytest
import requests

from tests.federation.test_context_fetch import context_settled, resolve_status
from tests.federation.test_two_nodes import acct, follow, in_home, marker
from tests.support.peers import AS, Origin
from tests.support.waiting import wait_for

AP = {"Accept": "application/activity+json"}
MAX_PAGES = 2
MAX_ITEMS = 3
MAX_TOTAL = 4
COOLDOWN = 15


@pytest.fixture(scope="module")
def walker(nodes):
    return nodes("walker", overrides={"federation": {"replies_fetch_initial_wait_seconds": 0}})


@pytest.fixture(scope="module")
def reader(nodes):
    return nodes("reader", overrides={"federation": {"replies_fetch_max_pages": MAX_PAGES,
                                                     "replies_fetch_max_items": MAX_ITEMS,
                                                     "replies_fetch_max_total": MAX_TOTAL,
                                                     "replies_fetch_cooldown_seconds": COOLDOWN,
                                                     "replies_fetch_initial_wait_seconds": 0}})


@pytest.fixture
def origins():
    """Starts origin servers on demand; stops them after the test."""
    started: list[Origin] = []

    def start() -> Origin:
        server = Origin()
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def assert_linked(client, seen: dict, root: dict, parent_of: dict[str, dict]) -> None:
    """Each reply in the context of ``seen`` (our copy of ``root``) answers its parent's copy here."""
    here = {s["uri"]: s for s in client.status_context(seen["id"])["descendants"]}
    here[root["uri"]] = seen
    for uri, parent in parent_of.items():
        assert here[uri]["in_reply_to_id"] == here[parent["uri"]]["id"], uri


def descendants(client, status_id) -> list[str]:
    """The uris of a post's replies on the client's node (opening the thread, as an app does)."""
    return [s["uri"] for s in client.status_context(status_id)["descendants"]]


def known(client, uri: str) -> bool:
    """Whether the client's node has this post, without fetching it."""
    return bool(client.search_v2(uri, resolve=False, result_type="statuses")["statuses"])


def get_ap(url: str) -> dict:
    response = requests.get(url, headers=AP, timeout=10)
    assert response.status_code == 200, (url, response.status_code, response.text)
    return response.json()


def test_opening_a_thread_brings_the_replies_this_node_never_received(walker, node_b):
    """bob's post on beta has replies from beta users that walker never received. beta lists the public
    and unlisted ones in the post's `replies`; once carol on walker opens the thread, walker has them."""
    alpha, beta = walker, node_b
    bob, erin, frank, gina = beta.mastodon(), beta.mastodon(), beta.mastodon(), beta.mastodon()
    carol = alpha.mastodon()
    post = bob.status_post(marker("a post with replies"))
    first = erin.status_post(marker("public reply"), in_reply_to_id=post["id"])
    second = frank.status_post(marker("unlisted reply"), in_reply_to_id=post["id"], visibility="unlisted")
    hidden = gina.status_post(marker("followers-only reply"), in_reply_to_id=post["id"], visibility="private")

    # beta serves the collection: a paged Collection of the public and unlisted replies, oldest first.
    replies_url = get_ap(post["uri"])["replies"]
    collection = get_ap(replies_url)
    assert collection["type"] == "Collection" and collection["id"] == replies_url
    assert collection["totalItems"] == 2
    page = get_ap(collection["first"])
    assert page["type"] == "CollectionPage" and page["partOf"] == replies_url
    assert page["items"] == [first["uri"], second["uri"]] and "next" not in page

    seen = resolve_status(carol, post["uri"])
    # Looking without signing in fetches nothing (as Mastodon: only a signed-in user's view does).
    assert requests.get(f"{alpha.url}/api/v1/statuses/{seen['id']}/context", timeout=10).status_code == 200
    wait_for(lambda: context_settled(alpha), what="any fetch that view queued to end")
    assert descendants(carol, seen["id"]) == []  # the context as it was; this view queues the fetch
    # Fetched side by side, they are stored in whichever order their fetches end.
    wait_for(lambda: sorted(descendants(carol, seen["id"])) == sorted([first["uri"], second["uri"]]),
             what="the replies on alpha")
    replies = {r["uri"]: r for r in carol.status_context(seen["id"])["descendants"]}
    assert replies[first["uri"]]["account"]["acct"] == acct(beta, erin.vs_username)
    assert replies[second["uri"]]["account"]["acct"] == acct(beta, frank.vs_username)
    assert [replies[r["uri"]]["visibility"] for r in (first, second)] == ["public", "unlisted"]
    assert all(r["in_reply_to_id"] == seen["id"] for r in replies.values())
    assert not known(carol, hidden["uri"])


def test_our_replies_collection_pages(node_b):
    """A post's `replies`: pages of 20 ids, oldest first, without direct replies or deleted ones."""
    bob, erin = node_b.mastodon(), node_b.mastodon()
    post = bob.status_post(marker("many replies"))
    replies = [erin.status_post(marker(f"reply {n}"), in_reply_to_id=post["id"]) for n in range(22)]
    erin.status_delete(replies.pop()["id"])
    erin.status_post(f"@{bob.vs_username} " + marker("direct"), in_reply_to_id=post["id"], visibility="direct")

    collection = get_ap(get_ap(post["uri"])["replies"])
    assert collection["totalItems"] == 21
    first = get_ap(collection["first"])
    assert first["items"] == [r["uri"] for r in replies[:20]]
    second = get_ap(first["next"])
    assert second["items"] == [replies[20]["uri"]] and "next" not in second
    # Deleted posts have no replies to show; unknown ones none at all.
    bob.status_delete(post["id"])
    assert requests.get(collection["id"], headers=AP, timeout=10).status_code == 404


def test_replies_are_fetched_again_only_after_the_cooldown(node_b, reader):
    bob, erin, carol = node_b.mastodon(), node_b.mastodon(), reader.mastodon()
    post = bob.status_post(marker("a post that gets more replies"))
    first = erin.status_post(marker("first reply"), in_reply_to_id=post["id"])
    seen = resolve_status(carol, post["uri"])

    started = time.monotonic()
    wait_for(lambda: descendants(carol, seen["id"]) == [first["uri"]], what="the first reply")
    second = erin.status_post(marker("second reply"), in_reply_to_id=post["id"])
    wait_for(lambda: context_settled(reader), what="the fetch to end")
    assert descendants(carol, seen["id"]) == [first["uri"]]
    assert time.monotonic() - started < COOLDOWN  # every view so far was within the cooldown

    wait_for(lambda: descendants(carol, seen["id"]) == [first["uri"], second["uri"]], timeout=COOLDOWN + 30,
             what="the second reply, after the cooldown")
    assert time.monotonic() - started >= COOLDOWN


def test_reading_a_replies_collection_is_bounded(reader, origins):
    """At most MAX_PAGES pages and MAX_ITEMS reply ids per post; what lies beyond is never fetched."""
    origin = origins()
    carol = reader.mastodon()
    author, replier = origin.actor("poster"), origin.actor("replier")

    # Three pages of one reply each, the first embedded in the post: two pages are read.
    paged = origin.note("/notes/paged", author, "paged")
    paged_replies = [origin.note(f"/notes/paged-{n}", replier, f"reply {n}", in_reply_to=paged) for n in (1, 2, 3)]
    origin.documents["/notes/paged"]["replies"] = {
        "id": paged + "/replies", "type": "Collection",
        "first": {"type": "CollectionPage", "partOf": paged + "/replies", "items": [paged_replies[0]],
                  "next": paged + "/replies/2"}}
    for n in (2, 3):
        origin.documents[f"/notes/paged/replies/{n}"] = {
            "@context": AS, "id": f"{paged}/replies/{n}", "type": "CollectionPage", "partOf": paged + "/replies",
            "items": [paged_replies[n - 1]], **({"next": paged + "/replies/3"} if n == 2 else {})}
    # Five replies on one page of an OrderedCollection given by its id: three are fetched.
    many = origin.note("/notes/many", author, "many")
    many_replies = [origin.note(f"/notes/many-{n}", replier, f"reply {n}", in_reply_to=many) for n in range(1, 6)]
    origin.documents["/notes/many"]["replies"] = many + "/replies"
    origin.documents["/notes/many/replies"] = {"@context": AS, "id": many + "/replies", "type": "OrderedCollection",
                                               "totalItems": 5, "first": many + "/replies/page"}
    origin.documents["/notes/many/replies/page"] = {"@context": AS, "id": many + "/replies/page",
                                                    "type": "OrderedCollectionPage", "orderedItems": many_replies}

    for post_uri, expected in ((paged, paged_replies[:MAX_PAGES]), (many, many_replies[:MAX_ITEMS])):
        seen = resolve_status(carol, post_uri)
        assert descendants(carol, seen["id"]) == []
        wait_for(lambda: sorted(descendants(carol, seen["id"])) == sorted(expected) and context_settled(reader),
                 what=f"the replies of {post_uri}")
    assert origin.fetches("/notes/paged/replies/2") == 1 and origin.fetches("/notes/paged/replies/3") == 0
    assert [origin.fetches(f"/notes/paged-{n}") for n in (1, 2, 3)] == [1, 1, 0]
    assert [origin.fetches(f"/notes/many-{n}") for n in range(1, 6)] == [1, 1, 1, 0, 0]


def test_listed_replies_are_checked(reader, origins):
    """A collection on another host than its post is not read; a listed reply of a suspended domain is
    never fetched; one that answers another post is fetched but not stored; a reply from another
    host is fetched from that host and stored."""
    origin, elsewhere, suspended = origins(), origins(), origins()
    carol = reader.mastodon()
    reader.cli("admin", "domain-block", "add", suspended.domain, "--severity", "suspend")
    try:
        author = origin.actor("poster")
        far = origin.note("/notes/far", author, "my replies are kept elsewhere")
        origin.documents["/notes/far"]["replies"] = elsewhere.url + "/replies/far"
        elsewhere.documents["/replies/far"] = {"@context": AS, "id": elsewhere.url + "/replies/far",
                                               "type": "CollectionPage", "items": [elsewhere.url + "/notes/x"]}

        mixed = origin.note("/notes/mixed", author, "replies from everywhere")
        from_elsewhere = elsewhere.note("/notes/answer", elsewhere.actor("visitor"), "hello", in_reply_to=mixed)
        from_suspended = suspended.note("/notes/answer", suspended.actor("spammer"), "buy", in_reply_to=mixed)
        unrelated = origin.note("/notes/unrelated", author, "not an answer", in_reply_to=origin.url + "/notes/other")
        origin.documents["/notes/mixed"]["replies"] = {
            "type": "Collection", "first": {"type": "CollectionPage",
                                            "items": [from_elsewhere, from_suspended, from_elsewhere, unrelated]}}

        far_seen, mixed_seen = resolve_status(carol, far), resolve_status(carol, mixed)
        assert descendants(carol, far_seen["id"]) == [] and descendants(carol, mixed_seen["id"]) == []
        wait_for(lambda: descendants(carol, mixed_seen["id"]) == [from_elsewhere] and context_settled(reader),
                 what="the reply from another host")
        assert origin.fetches("/notes/unrelated") == 1 and not known(carol, unrelated)
        assert suspended.gets == [] and not known(carol, from_suspended)
        assert elsewhere.fetches("/replies/far") == 0 and descendants(carol, far_seen["id"]) == []
    finally:
        reader.cli("admin", "domain-block", "remove", suspended.domain)


def test_replies_of_replies_are_fetched_through_the_thread(walker, node_b):
    """A thread on beta three replies deep, none of it delivered to walker: opening the root's thread
    brings every level (each reply's own `replies` is read in turn), each linked to its parent."""
    bob, erin, frank, carol = node_b.mastodon(), node_b.mastodon(), node_b.mastodon(), walker.mastodon()
    root = bob.status_post(marker("the root of a deep thread"))
    child = erin.status_post(marker("child"), in_reply_to_id=root["id"])
    sibling = frank.status_post(marker("sibling"), in_reply_to_id=root["id"])
    grandchildren = [bob.status_post(marker(f"grandchild {n}"), in_reply_to_id=child["id"]) for n in (1, 2)]
    great = frank.status_post(marker("great-grandchild"), in_reply_to_id=grandchildren[0]["id"])
    parent_of = {child["uri"]: root, sibling["uri"]: root, grandchildren[0]["uri"]: child,
                 grandchildren[1]["uri"]: child, great["uri"]: grandchildren[0]}

    seen = resolve_status(carol, root["uri"])
    assert descendants(carol, seen["id"]) == []
    wait_for(lambda: set(descendants(carol, seen["id"])) == set(parent_of), what="the whole thread on walker")
    assert_linked(carol, seen, root, parent_of)


def test_a_thread_is_fetched_within_its_budget(node_b, reader):
    """Two replies, each with two replies of its own: 6 in all, and one opened thread may fetch
    MAX_TOTAL (4). The root's collection is read first, so both replies are had, and two of their
    replies; the others are never fetched (the budget is the thread's, whichever job spends it)."""
    bob, erin, carol = node_b.mastodon(), node_b.mastodon(), reader.mastodon()
    root = bob.status_post(marker("a thread larger than the budget"))
    children = [erin.status_post(marker(f"child {n}"), in_reply_to_id=root["id"]) for n in (1, 2)]
    for child in children:
        for n in (1, 2):
            bob.status_post(marker(f"reply {n} to {child['uri']}"), in_reply_to_id=child["id"])

    seen = resolve_status(carol, root["uri"])
    assert descendants(carol, seen["id"]) == []
    wait_for(lambda: len(descendants(carol, seen["id"])) == MAX_TOTAL and context_settled(reader),
             what="the thread, as far as its budget goes")
    fetched = descendants(carol, seen["id"])
    assert len(fetched) == MAX_TOTAL and {c["uri"] for c in children} <= set(fetched)


def test_the_replies_of_a_new_post_are_left_for_later(node, node_b, origins):
    """As Mastodon: a post published less than 5 minutes ago (alpha's default) has its replies still
    coming by delivery, so opening its thread fetches none, however often; a post published long ago
    has its replies fetched at once, however recently this node came to know it."""
    alpha = node
    bob, erin, carol = node_b.mastodon(), node_b.mastodon(), alpha.mastodon()
    post = bob.status_post(marker("just posted"))
    erin.status_post(marker("a reply alpha never received"), in_reply_to_id=post["id"])
    seen = resolve_status(carol, post["uri"])
    for _ in range(3):
        assert descendants(carol, seen["id"]) == []
        wait_for(lambda: context_settled(alpha), what="alpha's context fetches to end")
    assert descendants(carol, seen["id"]) == []

    origin = origins()
    old = origin.note("/notes/old", origin.actor("poster"), "published in January")  # 2026-01-01
    reply = origin.note("/notes/old-reply", origin.actor("replier"), "a late answer", in_reply_to=old)
    origin.documents["/notes/old"]["replies"] = {"type": "Collection",
                                                 "first": {"type": "CollectionPage", "items": [reply]}}
    seen = resolve_status(carol, old)
    assert descendants(carol, seen["id"]) == []
    wait_for(lambda: descendants(carol, seen["id"]) == [reply], what="the reply of the old post")


def test_replies_below_replies_we_hold_are_fetched(walker, node_b):
    """carol on walker follows erin, so erin's replies in bob's thread reached walker by delivery; frank's
    replies to them did not. Opening the root's thread walks the replies walker holds as well (their own
    `replies` are read from beta), so frank's replies come, at every depth, each linked to its parent."""
    bob, erin, frank, carol = node_b.mastodon(), node_b.mastodon(), node_b.mastodon(), walker.mastodon()
    follow(carol, acct(node_b, erin.vs_username))
    root = bob.status_post(marker("a thread partly delivered"))
    held = erin.status_post(marker("delivered reply"), in_reply_to_id=root["id"])
    held_below = erin.status_post(marker("delivered reply to a delivered reply"), in_reply_to_id=held["id"])
    missing = frank.status_post(marker("reply to a delivered reply"), in_reply_to_id=held["id"])
    deeper = frank.status_post(marker("reply to that"), in_reply_to_id=missing["id"])
    missing_below = frank.status_post(marker("reply two delivered replies down"), in_reply_to_id=held_below["id"])
    parent_of = {held["uri"]: root, held_below["uri"]: held, missing["uri"]: held, deeper["uri"]: missing,
                 missing_below["uri"]: held_below}

    wait_for(lambda: in_home(carol, held_below["uri"]), what="erin's replies on walker")
    seen = resolve_status(carol, root["uri"])
    assert set(descendants(carol, seen["id"])) == {held["uri"], held_below["uri"]}
    wait_for(lambda: set(descendants(carol, seen["id"])) == set(parent_of), what="the replies below erin's")
    assert_linked(carol, seen, root, parent_of)


def test_a_reply_we_hold_is_walked_once_per_cooldown(walker, origins):
    """Replies a and c of root are held (found by search). a's thread was opened, so its replies were
    read just now; opening root's thread reads c's replies (its reply c1 comes) but not a's again. c
    lists its ancestor root and itself: neither is walked again (a cycle ends at the claim)."""
    origin = origins()
    carol = walker.mastodon()
    author, replier = origin.actor("poster"), origin.actor("replier")
    root = origin.note("/notes/root", author, "root")
    a = origin.note("/notes/a", replier, "a", in_reply_to=root)
    c = origin.note("/notes/c", replier, "c", in_reply_to=root)
    a1 = origin.note("/notes/a1", author, "a1", in_reply_to=a)
    c1 = origin.note("/notes/c1", author, "c1", in_reply_to=c)
    for path, items in (("/notes/root", [a, c]), ("/notes/a", [a1]), ("/notes/c", [c1, root, c])):
        origin.documents[path]["replies"] = {"type": "Collection", "first": {"type": "CollectionPage", "items": items}}

    a_seen = resolve_status(carol, a)
    resolve_status(carol, c)
    assert descendants(carol, a_seen["id"]) == []
    wait_for(lambda: descendants(carol, a_seen["id"]) == [a1] and context_settled(walker), what="a's reply")
    paths = ("/notes/root", "/notes/a", "/notes/c", "/notes/a1", "/notes/c1")
    before = {path: origin.fetches(path, by=walker) for path in paths}

    root_seen = resolve_status(carol, root)
    assert set(descendants(carol, root_seen["id"])) == {a, c, a1}
    wait_for(lambda: c1 in descendants(carol, root_seen["id"]) and context_settled(walker), what="c's reply")
    assert set(descendants(carol, root_seen["id"])) == {a, c, a1, c1}
    fetched = {path: origin.fetches(path, by=walker) - before[path] for path in paths}
    assert fetched == {"/notes/root": 1, "/notes/a": 0, "/notes/c": 1, "/notes/a1": 0, "/notes/c1": 1}
