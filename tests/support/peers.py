"""Loopback stand-ins for other fediverse servers, run in the test process.

FakeServer (asyncio, in the test's loop) publishes actors whose keys the tests hold, so requests can be
signed, mis-signed, replayed and tampered with exactly. Origin (its own thread, for sync tests) serves
fixed documents by path, can go away and can hang; Inboxes is an Origin whose followers each have an
inbox of their own.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from dataclasses import dataclass, field

import requests
from aiohttp import web

from federation.signatures import sign_cavage, sign_rfc9421
from provenance.keys import ed25519_multikey, generate_ed25519_private_pem, generate_rsa_private_pem, public_pem
from tests.support.servers import free_port
from tests.support.waiting import wait_for

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = AS + "#Public"


@dataclass
class Keys:
    rsa: str = field(default_factory=generate_rsa_private_pem)
    ed: str = field(default_factory=generate_ed25519_private_pem)


class FakeServer:
    """Actors at http://{host}/users/{name}; ids follow the Host header, so 127.0.0.1 and localhost
    are two origins of one server."""

    def __init__(self) -> None:
        self.port = free_port()
        self.keys: dict[str, Keys] = {}
        self.objects: dict[str, dict] = {}
        self.received: list[tuple[str, dict, dict, bytes]] = []  # (path, headers, document, raw body)
        self.requests: list[str] = []  # actors and WebFinger
        self.note_requests: list[str] = []  # paths of the notes asked for
        self.refuse_rfc9421 = False
        self.actor_changes: dict[str, dict] = {}  # name -> fields replacing those of its actor document
        self.held_notes: dict[str, asyncio.Event] = {}  # note URL -> answered once the event is set
        app = web.Application()
        app.router.add_get("/.well-known/webfinger", self.webfinger)
        app.router.add_get("/users/{name}", self.actor)
        app.router.add_get("/notes/{id}", self.note)
        app.router.add_post("/users/{name}/inbox", self.inbox)
        app.router.add_post("/inbox", self.inbox)
        self.runner = web.AppRunner(app)

    @property
    def origin(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str, host: str | None = None) -> str:
        return f"http://{host or self.origin}{path}"

    def actor_id(self, name: str, host: str | None = None) -> str:
        return self.url(f"/users/{name}", host)

    def key(self, name: str) -> Keys:
        return self.keys.setdefault(name, Keys())

    async def start(self) -> None:
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def webfinger(self, request: web.Request) -> web.Response:
        self.requests.append(str(request.rel_url))
        name = request.query.get("resource", "").removeprefix("acct:").split("@")[0]
        return web.json_response({"subject": f"acct:{name}@{request.host}", "links": [
            {"rel": "self", "type": "application/activity+json", "href": self.actor_id(name, request.host)}]},
            content_type="application/jrd+json")

    async def actor(self, request: web.Request) -> web.Response:
        self.requests.append(str(request.rel_url))
        name = request.match_info["name"]
        keys = self.key(name)
        actor_id = self.actor_id(name, request.host)
        return web.json_response({
            "@context": [AS, "https://w3id.org/security/v1"], "id": actor_id, "type": "Person",
            "preferredUsername": name, "inbox": actor_id + "/inbox", "endpoints": {"sharedInbox": self.url("/inbox", request.host)},
            "followers": actor_id + "/followers",
            "publicKey": {"id": actor_id + "#main-key", "owner": actor_id, "publicKeyPem": public_pem(keys.rsa)},
            "assertionMethod": [{"id": actor_id + "#ed25519-key", "type": "Multikey", "controller": actor_id,
                                 "publicKeyMultibase": ed25519_multikey(keys.ed)}],
        } | self.actor_changes.get(name, {}), content_type="application/activity+json")

    async def note(self, request: web.Request) -> web.Response:
        self.note_requests.append(request.path)
        held = self.held_notes.get(self.url(request.path, request.host))
        if held is not None:
            await held.wait()
        doc = self.objects.get(self.url(request.path, request.host))
        if doc is None:
            return web.Response(status=404)
        return web.json_response(doc, content_type="application/activity+json")

    async def inbox(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append((request.path, dict(request.headers), json.loads(body), body))
        if self.refuse_rfc9421 and "Signature-Input" in request.headers:
            return web.Response(status=401, text="RFC 9421 unsupported here")
        return web.Response(status=202)

    def note_doc(self, author: str, text: str, *, host: str | None = None) -> dict:
        return {"id": self.url(f"/notes/{uuid.uuid4().hex}", host), "type": "Note",
                "attributedTo": self.actor_id(author, host), "content": f"<p>{text}</p>", "to": [PUBLIC], "cc": []}

    def create(self, author: str, text: str, *, actor: str | None = None, note: dict | None = None) -> dict:
        actor_id = self.actor_id(actor or author)
        return {"@context": AS, "id": f"{actor_id}/activities/{uuid.uuid4().hex}", "type": "Create",
                "actor": actor_id, "object": note or self.note_doc(author, text), "to": [PUBLIC]}


def signed(url: str, body: bytes, key_id: str, pem: str, *, scheme: str = "cavage", now: float | None = None) -> dict:
    headers = {"Content-Type": "application/activity+json"}
    sign = sign_rfc9421 if scheme == "rfc9421" else sign_cavage
    headers.update(sign("POST", url, headers, body, key_id, pem, now=now))
    return headers


class Origin:
    """Fixed ActivityStreams documents by path on 127.0.0.1. stop() makes the host unreachable;
    hang() makes it accept requests and answer none until release()."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.domain = f"127.0.0.1:{self.port}"
        self.documents: dict[str, dict] = {}
        self.gets: list[tuple[str, str]] = []  # (path, User-Agent)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._answering: asyncio.Event | None = None

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

    def fetches(self, path: str, by=None) -> int:
        """GETs of ``path`` (by the live node ``by``: Vitascope names its base URL in User-Agent)."""
        return sum(1 for got, agent in self.gets if got == path and (by is None or f"(+{by.url})" in agent))

    async def _get(self, request: web.Request) -> web.Response:
        self.gets.append((request.path, request.headers.get("User-Agent", "")))
        await self._answering.wait()
        document = self.documents.get(request.path)
        return web.json_response(document or {}, status=200 if document else 404,
                                 content_type="application/activity+json")

    async def _post(self, request: web.Request) -> web.Response:  # deliveries to our actors' inboxes
        await request.read()
        return web.Response(status=202)

    async def _serve(self) -> None:
        self._answering = asyncio.Event()
        self._answering.set()
        app = web.Application()
        app.router.add_get("/{path:.*}", self._get)
        app.router.add_post("/{path:.*}", self._post)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def _run(self, coroutine) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    def _call(self, function) -> None:
        async def call() -> None:
            function()

        self._run(call())

    def start(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._run(self._serve())

    def hang(self) -> None:
        self._call(self._answering.clear)

    def release(self) -> None:
        self._call(self._answering.set)

    def stop(self) -> None:
        if self._loop is None:
            return
        self.release()
        self._run(self._runner.cleanup())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._loop = None


class Inboxes(Origin):
    """Followers on a loopback server, each with an inbox of its own (no shared inbox), counting the
    distinct posts (`Create`s) each inbox received. While hung, a delivery is held unanswered."""

    def __init__(self) -> None:
        super().__init__()
        self.pem = generate_rsa_private_pem()
        self.delivered: set[tuple[str, str]] = set()  # (inbox path, activity id)
        self.posts_received = 0
        self.accepted = 0
        self.held = 0

    def follower(self, name: str) -> str:
        actor_id = self.actor(name)
        self.documents[f"/users/{name}"]["publicKey"] = {"id": actor_id + "#main-key", "owner": actor_id,
                                                         "publicKeyPem": public_pem(self.pem)}
        return actor_id

    async def _post(self, request: web.Request) -> web.Response:
        document = json.loads(await request.read())
        self.held += 1
        await self._answering.wait()
        self.held -= 1
        if document.get("type") == "Create":
            self.posts_received += 1
            self.delivered.add((request.path, document["id"]))
        elif document.get("type") == "Accept":
            self.accepted += 1
        return web.Response(status=202)


def followed_by_inboxes(live, inboxes: Inboxes, followers: int):
    """A user of ``live`` whom ``followers`` actors of ``inboxes`` follow (signed `Follow`s to its inbox)."""
    alice = live.mastodon()
    target = f"{live.url}/users/{alice.vs_username}"
    for n in range(followers):
        actor = inboxes.follower(f"f{n}")
        body = json.dumps({"@context": AS, "id": f"{actor}/follows/{uuid.uuid4().hex}", "type": "Follow",
                           "actor": actor, "object": target}).encode()
        response = requests.post(live.url + "/inbox", data=body, timeout=10,
                                 headers=signed(live.url + "/inbox", body, actor + "#main-key", inboxes.pem))
        assert response.status_code == 202, response.text
    wait_for(lambda: inboxes.accepted == followers, timeout=60, what="the follows accepted")
    return alice
