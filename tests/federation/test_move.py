"""Account migration (ActivityPub `Move`, as Mastodon does it) between live nodes.

alpha (`node`) and beta (`node_b`) are the session's shared nodes and gamma one of this module's;
every test makes its own users. A small fake server (a thread in this process) publishes actors whose
keys the tests hold, so Moves that a real node would never send can be delivered exactly.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import tomllib
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from federation.signatures import sign_cavage
from provenance.keys import generate_rsa_private_pem, public_pem
from tests.support.servers import free_port
from tests.support.waiting import wait_for

AP = {"Accept": "application/activity+json"}
AS = "https://www.w3.org/ns/activitystreams"
PASSWORD = "correct horse battery"  # every test user's (LiveNode.create_user)


class FakeServer:
    """Actors at http://127.0.0.1:PORT/users/{name} with RSA keys the tests hold; `extra[name]` adds
    fields to an actor's document (alsoKnownAs, movedTo); every POST to an inbox is kept."""

    def __init__(self) -> None:
        self.port = free_port()
        self.keys: dict[str, str] = {}
        self.extra: dict[str, dict] = {}
        self.received: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _json(self, doc: dict, content_type: str = "application/activity+json") -> None:
                body = json.dumps(doc).encode()
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == "/.well-known/webfinger":
                    resource = parse_qs(url.query).get("resource", [""])[0]
                    name = resource.removeprefix("acct:").split("@")[0]
                    self._json({"subject": resource, "links": [{"rel": "self", "type": "application/activity+json",
                                                                "href": fake.actor_id(name)}]},
                               "application/jrd+json")
                elif url.path.startswith("/users/") and url.path.count("/") == 2:
                    self._json(fake.actor(url.path.rsplit("/", 1)[1]))
                else:
                    self.send_error(404)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                fake.received.append(json.loads(self.rfile.read(length)))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"127.0.0.1:{self.port}"

    def actor_id(self, name: str) -> str:
        return f"http://{self.origin}/users/{name}"

    def key(self, name: str) -> str:
        return self.keys.setdefault(name, generate_rsa_private_pem())

    def actor(self, name: str) -> dict:
        actor_id = self.actor_id(name)
        return {"@context": [AS, "https://w3id.org/security/v1"], "id": actor_id, "type": "Person",
                "preferredUsername": name, "inbox": actor_id + "/inbox",
                "endpoints": {"sharedInbox": f"http://{self.origin}/inbox"}, "followers": actor_id + "/followers",
                "publicKey": {"id": actor_id + "#main-key", "owner": actor_id,
                              "publicKeyPem": public_pem(self.key(name))},
                **self.extra.get(name, {})}

    def activity(self, name: str, kind: str, obj, **fields) -> dict:
        return {"@context": AS, "id": f"{self.actor_id(name)}/activities/{uuid.uuid4().hex}", "type": kind,
                "actor": self.actor_id(name), "object": obj, **fields}

    def move(self, name: str, target: str, *, obj: str | None = None) -> dict:
        return self.activity(name, "Move", obj or self.actor_id(name), target=target)

    def post(self, node, doc: dict, name: str) -> int:
        """Deliver ``doc`` to the node's shared inbox, HTTP-signed by ``name``."""
        body = json.dumps(doc).encode()
        url = node.url + "/inbox"
        headers = {"Content-Type": "application/activity+json"}
        headers.update(sign_cavage("POST", url, headers, body, self.actor_id(name) + "#main-key", self.key(name)))
        return requests.post(url, data=body, headers=headers, timeout=30).status_code

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def fake():
    server = FakeServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def gamma(nodes):
    return nodes("gamma")


@pytest.fixture(scope="module")
def gamma_admin(gamma):
    """The admin API of gamma, which shows what its inbox did with each activity and why."""
    username, password = gamma.create_user(admin=True)
    return gamma.api(gamma.token(username, password, scopes="read write admin:read"))


def acct(node, username: str) -> str:
    return f"{username}@{node.domain}"


def uri(node, username: str) -> str:
    return f"{node.url}/users/{username}"


def actor_doc(node, username: str) -> dict:
    return requests.get(uri(node, username), headers=AP, timeout=30).json()


def lookup(client, handle: str) -> str:
    return client.account_lookup(handle)["id"]


def relationship(client, account_id) -> dict:
    return client.account_relationships(account_id)[0]


def follow(client, handle: str) -> str:
    """Follow an account and wait until it is followed (a remote server accepted)."""
    account_id = lookup(client, handle)
    client.account_follow(account_id)
    wait_for(lambda: relationship(client, account_id)["following"], what=f"following {handle}")
    return account_id


def backdate_move(live, username: str, days: int) -> None:
    """Make the last move of ``live``'s local account ``username`` ``days`` old, straight in the node's
    database (the 30-day cooldown cannot be waited out in a test)."""
    moved_at = datetime.now(timezone.utc) - timedelta(days=days)
    url = tomllib.loads(live.config_path.read_text())["database"]["url"]
    statement = "UPDATE accounts SET moved_at = {0} WHERE username = {0} AND domain IS NULL"
    if url:
        import psycopg

        with psycopg.connect(url) as conn:
            updated = conn.execute(statement.format("%s"), (moved_at, username)).rowcount
    else:  # stored as Tortoise stores datetimes in SQLite
        with contextlib.closing(sqlite3.connect(live.data_dir / "vitascope.sqlite3", timeout=10)) as conn, conn:
            updated = conn.execute(statement.format("?"), (moved_at.isoformat(" "), username)).rowcount
    assert updated == 1


def move_notifications(client) -> list:
    return [n for n in client.notifications() if n["type"] == "move"]


def processed(admin, activity_id: str) -> dict | None:
    """The inbox item of an activity once processed (done, ignored or error), else None."""
    for state in ("done", "ignored", "error"):
        for item in admin.get("/api/v1/admin/vitascope/inbox", params={"state": state, "limit": 40}).json():
            if item["activity_id"] == activity_id:
                return item
    return None


def test_account_moves_to_another_node(node, node_b, gamma, gamma_admin):
    """alice (alpha) moves to bob (beta): carol (gamma) and dave (alpha), who followed alice, follow bob."""
    alpha, beta = node, node_b
    alice, dave, bob, carol = alpha.mastodon(), alpha.mastodon(), beta.mastodon(), gamma.mastodon()
    alice_acct, bob_acct = acct(alpha, alice.vs_username), acct(beta, bob.vs_username)
    alice_uri, bob_uri = uri(alpha, alice.vs_username), uri(beta, bob.vs_username)
    alice_on_gamma = follow(carol, alice_acct)
    alice_id = follow(dave, alice.vs_username)
    migrate = alpha.api(alice.access_token)

    # Without the alias on the new account the old one cannot move (Mastodon's missing_also_known_as).
    refused = migrate.post("/api/v1/vitascope/migration", json={"acct": "@" + bob_acct, "current_password": PASSWORD})
    assert refused.status_code == 422 and "alsoKnownAs" in refused.json()["error"], refused.text
    assert "movedTo" not in actor_doc(alpha, alice.vs_username)

    # The alias, added on the new account, is in its actor document.
    added = beta.cli("admin", "alias", bob.vs_username, "@" + alice_acct)
    assert alice_acct in added.stdout
    assert actor_doc(beta, bob.vs_username)["alsoKnownAs"] == [alice_uri]
    aliases = beta.api(bob.access_token).get("/api/v1/vitascope/aliases")
    assert aliases.json() == [{"acct": alice_acct, "uri": alice_uri}]

    # As Mastodon's settings form: the account's password, checked before anything else.
    for password, reason in ((None, "current_password is missing"), ("", "current_password is missing"),
                             ("not the password", "current_password is invalid")):
        body = {"acct": bob_acct} if password is None else {"acct": bob_acct, "current_password": password}
        refused = migrate.post("/api/v1/vitascope/migration", json=body)
        assert refused.status_code == 422 and reason in refused.json()["error"], refused.text
    assert "movedTo" not in actor_doc(alpha, alice.vs_username)

    moved = migrate.post("/api/v1/vitascope/migration", data={"acct": bob_acct, "current_password": PASSWORD})
    assert moved.status_code == 200, moved.text
    assert moved.json()["moved"]["acct"] == bob_acct and "moved" not in moved.json()["moved"]
    assert actor_doc(alpha, alice.vs_username)["movedTo"] == bob_uri

    # carol, on another node, follows bob once bob's server accepted, and follows alice no longer.
    bob_on_gamma = wait_for(lambda: carol.account_search(bob_acct), what="bob known on gamma")[0]["id"]
    wait_for(lambda: relationship(carol, bob_on_gamma)["following"], what="carol following bob")
    assert relationship(carol, alice_on_gamma)["following"] is False
    assert carol.account(alice_on_gamma)["moved"]["acct"] == bob_acct
    [notification] = move_notifications(carol)
    assert notification["account"]["acct"] == alice_acct and notification["target"]["acct"] == bob_acct
    # dave, alice's follower on her own node, was moved directly.
    bob_on_alpha = lookup(dave, bob_acct)
    wait_for(lambda: relationship(dave, bob_on_alpha)["following"], what="dave following bob")
    assert relationship(dave, alice_id)["following"] is False
    assert len(move_notifications(dave)) == 1
    bob_id = bob.account_verify_credentials()["id"]
    wait_for(lambda: {a["acct"] for a in bob.account_followers(bob_id)} == {acct(gamma, carol.vs_username),
                                                                           acct(alpha, dave.vs_username)},
             what="bob's followers")

    moves = [i for i in gamma_admin.get("/api/v1/admin/vitascope/inbox", params={"state": "done", "limit": 40}).json()
             if i["type"] == "Move" and i["actor"] == alice_uri]
    assert len(moves) == 1
    # Another migration within 30 days is refused (Mastodon's cooldown); nothing changes.
    again = migrate.post("/api/v1/vitascope/migration", json={"acct": bob_acct, "current_password": PASSWORD})
    assert again.status_code == 422 and "moved less than 30 days ago" in again.json()["error"], again.text
    # After it, moving to the same account again is still refused, for what it is.
    backdate_move(alpha, alice.vs_username, days=31)
    again = migrate.post("/api/v1/vitascope/migration", json={"acct": bob_acct, "current_password": PASSWORD})
    assert again.status_code == 422 and "already moved" in again.json()["error"], again.text


def test_a_move_is_checked_and_done_once(node_b, gamma, gamma_admin, fake):
    """Moves from a fake server: refused unless the target, fetched afresh, lists the old account in
    alsoKnownAs and has not moved on itself; accepted once; replayed or repeated, nothing changes."""
    beta = node_b
    olga = "olga" + uuid.uuid4().hex[:8]
    olga_uri, olga_acct = fake.actor_id(olga), f"{olga}@{fake.origin}"
    carol, nina = gamma.mastodon(), beta.mastodon()
    nina_uri, nina_acct = uri(beta, nina.vs_username), acct(beta, nina.vs_username)
    carol_uri = uri(gamma, carol.vs_username)

    olga_on_gamma = lookup(carol, olga_acct)
    carol.account_follow(olga_on_gamma)
    their_follow = wait_for(lambda: next((d for d in fake.received if d.get("type") == "Follow"
                                          and d.get("actor") == carol_uri), None), what="carol's Follow")
    assert fake.post(gamma, fake.activity(olga, "Accept", their_follow), olga) == 202
    wait_for(lambda: relationship(carol, olga_on_gamma)["following"], what="carol following olga")

    def outcome(doc: dict) -> dict:
        assert fake.post(gamma, doc, olga) == 202
        return wait_for(lambda: processed(gamma_admin, doc["id"]), what=f"{doc['id']} processed")

    # nina does not list olga in alsoKnownAs (yet).
    refused = outcome(fake.move(olga, nina_uri))
    assert refused["state"] == "ignored" and "alsoKnownAs" in refused["reason"]
    # Only an account can move itself.
    refused = outcome(fake.move(olga, nina_uri, obj=fake.actor_id("someone-else")))
    assert refused["state"] == "ignored" and "must move the actor" in refused["reason"]
    # A target that moved on itself.
    pavel = "pavel" + uuid.uuid4().hex[:8]
    fake.extra[pavel] = {"alsoKnownAs": [olga_uri], "movedTo": nina_uri}
    refused = outcome(fake.move(olga, fake.actor_id(pavel)))
    assert refused["state"] == "ignored" and "has itself moved" in refused["reason"]
    assert relationship(carol, olga_on_gamma)["following"] is True
    assert "moved" not in carol.account(olga_on_gamma) or carol.account(olga_on_gamma)["moved"] is None
    assert move_notifications(carol) == []

    nina_api = beta.api(nina.access_token)
    alias = nina_api.post("/api/v1/vitascope/aliases", json={"acct": "@" + olga_acct})
    assert alias.status_code == 200 and alias.json() == {"acct": olga_acct, "uri": olga_uri}, alias.text
    move = fake.move(olga, nina_uri)
    assert outcome(move)["state"] == "done"
    nina_on_gamma = lookup(carol, nina_acct)
    wait_for(lambda: relationship(carol, nina_on_gamma)["following"], what="carol following nina")
    assert relationship(carol, olga_on_gamma)["following"] is False
    assert carol.account(olga_on_gamma)["moved"]["acct"] == nina_acct
    assert len(move_notifications(carol)) == 1
    undo = wait_for(lambda: next((d for d in fake.received if d.get("type") == "Undo"
                                  and d.get("actor") == carol_uri), None), what="carol's Undo{Follow}")
    assert undo["object"]["object"] == olga_uri

    # The same Move again is refused by the inbox; a new one within 7 days is ignored (Mastodon's
    # move_in_progress), even to another account that would take olga (the refusals above held nothing).
    assert fake.post(gamma, move, olga) == 409
    again = outcome(fake.move(olga, nina_uri))
    assert again["state"] == "ignored" and "already moved" in again["reason"] and "7 days" in again["reason"]
    quinn = "quinn" + uuid.uuid4().hex[:8]
    fake.extra[quinn] = {"alsoKnownAs": [olga_uri]}
    elsewhere = outcome(fake.move(olga, fake.actor_id(quinn)))
    assert elsewhere["state"] == "ignored" and "7 days" in elsewhere["reason"], elsewhere
    assert carol.account(olga_on_gamma)["moved"]["acct"] == nina_acct
    # outcome() waited until the inbox processed each of them (a Move does its work while processed).
    assert relationship(carol, nina_on_gamma)["following"] is True
    assert relationship(carol, olga_on_gamma)["following"] is False
    assert len(move_notifications(carol)) == 1

    assert nina_api.delete("/api/v1/vitascope/aliases", json={"acct": olga_acct}).status_code == 200
    assert nina_api.get("/api/v1/vitascope/aliases").json() == []
    assert nina_api.delete("/api/v1/vitascope/aliases", json={"acct": olga_acct}).status_code == 404


def test_move_from_the_command_line(node, node_b):
    """`vitascope admin move`: refused with the reason until the new account has the alias."""
    alpha, beta = node, node_b
    erin, greta, frank = alpha.mastodon(), alpha.mastodon(), beta.mastodon()
    frank_acct = acct(beta, frank.vs_username)
    erin_id = follow(greta, erin.vs_username)

    refused = alpha.cli("admin", "move", erin.vs_username, "--to", "@" + frank_acct, check=False)
    assert refused.returncode == 1 and "alsoKnownAs" in refused.stderr
    assert beta.api(frank.access_token).post("/api/v1/vitascope/aliases",
                                             json={"acct": acct(alpha, erin.vs_username)}).status_code == 200
    henry, ida = alpha.mastodon(), alpha.mastodon()
    henry.account_block(erin_id)
    ida.account_mute(erin_id, notifications=False)
    done = alpha.cli("admin", "move", erin.vs_username, "--to", "@" + frank_acct)
    assert "1 local follower" in done.stdout
    # Blocks and mutes of the old account carry over to the new one.
    frank_for_henry, frank_for_ida = lookup(henry, frank_acct), lookup(ida, frank_acct)
    assert relationship(henry, frank_for_henry)["blocking"] is True
    assert relationship(ida, frank_for_ida)["muting"] is True
    assert relationship(ida, frank_for_ida)["muting_notifications"] is False
    assert actor_doc(alpha, erin.vs_username)["movedTo"] == uri(beta, frank.vs_username)
    assert greta.account(erin_id)["moved"]["acct"] == frank_acct
    frank_on_alpha = lookup(greta, frank_acct)
    wait_for(lambda: relationship(greta, frank_on_alpha)["following"], what="greta following frank")
    assert relationship(greta, erin_id)["following"] is False
    # The old profile page points people to the new account.
    page = requests.get(f"{alpha.url}/@{erin.vs_username}", timeout=10)
    assert page.status_code == 200 and "This account has moved to" in page.text and f"@{frank_acct}" in page.text
    assert "has moved" not in requests.get(f"{alpha.url}/@{greta.vs_username}", timeout=10).text


def test_moving_again_waits_30_days(node, node_b):
    """An account that moved may not move again for 30 days, from the API or the command line (which,
    as tootctl, cannot lift that either); afterwards the command line moves it elsewhere only with
    --force, as tootctl."""
    alpha, beta = node, node_b
    kim, lena, mona = alpha.mastodon(), beta.mastodon(), beta.mastodon()
    kim_acct = acct(alpha, kim.vs_username)
    lena_acct, mona_acct = acct(beta, lena.vs_username), acct(beta, mona.vs_username)
    for new in (lena, mona):
        assert beta.api(new.access_token).post("/api/v1/vitascope/aliases", json={"acct": kim_acct}).status_code == 200
    alpha.cli("admin", "move", kim.vs_username, "--to", "@" + lena_acct)
    assert actor_doc(alpha, kim.vs_username)["movedTo"] == uri(beta, lena.vs_username)

    migrate = alpha.api(kim.access_token)
    refused = migrate.post("/api/v1/vitascope/migration", json={"acct": mona_acct, "current_password": PASSWORD})
    assert refused.status_code == 422, refused.text
    assert "moved less than 30 days ago" in refused.json()["error"] and "may move again from" in refused.json()["error"]
    for extra in ((), ("--force",)):
        refused = alpha.cli("admin", "move", kim.vs_username, "--to", "@" + mona_acct, *extra, check=False)
        assert refused.returncode == 1 and "moved less than 30 days ago" in refused.stderr, refused.stderr
    backdate_move(alpha, kim.vs_username, days=29)
    refused = migrate.post("/api/v1/vitascope/migration", json={"acct": mona_acct, "current_password": PASSWORD})
    assert refused.status_code == 422 and "moved less than 30 days ago" in refused.json()["error"]
    assert actor_doc(alpha, kim.vs_username)["movedTo"] == uri(beta, lena.vs_username)

    backdate_move(alpha, kim.vs_username, days=31)
    refused = alpha.cli("admin", "move", kim.vs_username, "--to", "@" + mona_acct, check=False)
    assert refused.returncode == 1 and f"already moved to {lena_acct}" in refused.stderr, refused.stderr
    assert "must be forced" in refused.stderr
    done = alpha.cli("admin", "move", kim.vs_username, "--to", "@" + mona_acct, "--force")
    assert mona_acct in done.stdout
    assert actor_doc(alpha, kim.vs_username)["movedTo"] == uri(beta, mona.vs_username)
    # That move starts a new cooldown.
    refused = migrate.post("/api/v1/vitascope/migration", json={"acct": lena_acct, "current_password": PASSWORD})
    assert refused.status_code == 422 and "moved less than 30 days ago" in refused.json()["error"]
