"""Remote posts arrive with their context: unknown parents and mentioned actors are fetched.

Three live nodes: alpha (`node`), beta (`node_b`) and gamma, which fetches at most two ancestors.
Gamma's users follow only beta users, so whatever gamma shows of alpha it had to fetch itself.
A small origin server in this process (loopback) serves fixed documents and can go away.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.federation.conftest import wait_for
from tests.federation.test_two_nodes import acct, follow, in_home, marker
from tests.support.servers import free_port

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = AS + "#Public"
MAX_DEPTH = 2


class Origin:
    """Fixed ActivityStreams documents by path on 127.0.0.1; stop() makes the host unreachable."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.domain = f"127.0.0.1:{self.port}"
        self.documents: dict[str, dict] = {}
        self.gets: list[str] = []
        self._server: ThreadingHTTPServer | None = None

    def actor(self, name: str) -> str:
        actor_id = f"{self.url}/users/{name}"
        self.documents[f"/users/{name}"] = {
            "@context": AS, "id": actor_id, "type": "Person", "preferredUsername": name,
            "inbox": actor_id + "/inbox", "outbox": actor_id + "/outbox", "followers": actor_id + "/followers"}
        return actor_id

    def note(self, path: str, author: str, text: str, in_reply_to: str | None = None) -> str:
        note_id = self.url + path
        self.documents[path] = {"@context": AS, "id": note_id, "type": "Note", "attributedTo": author,
                                "content": f"<p>{text}</p>", "to": [PUBLIC], "cc": [],
                                "published": "2026-01-01T00:00:00Z", "inReplyTo": in_reply_to}
        return note_id

    def start(self) -> None:
        origin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                origin.gets.append(self.path)
                document = origin.documents.get(self.path)
                self._answer(200 if document else 404, json.dumps(document or {}).encode())

            def do_POST(self) -> None:  # deliveries to our actors' inboxes
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._answer(202, b"")

            def _answer(self, code: int, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "application/activity+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture(scope="module")
def gamma(nodes):
    return nodes("gamma", overrides={"federation": {"max_thread_fetch_depth": MAX_DEPTH}})


@pytest.fixture
def origin():
    server = Origin()
    server.start()
    yield server
    server.stop()


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
    [parent] = carol.status_context(seen["id"])["ancestors"]
    assert parent["uri"] == post["uri"] and parent["account"]["acct"] == acct(node, alice.vs_username)
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
    assert ancestor_uris(carol, seen["id"]) == [answer["uri"], follow_up["uri"]]
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
    assert seen["in_reply_to_id"] is None
    assert carol.status_context(seen["id"])["ancestors"] == []
    assert [m["acct"] for m in seen["mentions"]] == [acct(node, dave)]

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
    assert origin.gets.count("/notes/one") == 1 and origin.gets.count("/notes/two") == 1
    two_on_c = carol.status_context(one_on_c["id"])["ancestors"]
    assert [s["uri"] for s in two_on_c] == [two] and two_on_c[0]["in_reply_to_id"] is None
    assert carol.status_context(one_on_c["id"])["descendants"] == []
    assert [s["uri"] for s in carol.status_context(two_on_c[0]["id"])["descendants"]] == [one]

    alone = resolve_status(carol, itself)
    assert alone["in_reply_to_id"] is None and origin.gets.count("/notes/self") == 1
    assert carol.status_context(alone["id"]) == {"ancestors": [], "descendants": []}
