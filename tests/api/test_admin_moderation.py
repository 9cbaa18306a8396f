"""Moderation: reports through the Mastodon admin API (filed locally, and forwarded as a Flag from
one live node to another), and received activities that failed or were ignored (CLI and API).

Clients are real Mastodon.py clients; raw HTTP only where a status code is the point.
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from mastodon import MastodonAPIError

from federation.signatures import sign_cavage
from provenance.keys import generate_rsa_private_pem, public_pem
from tests.support.servers import free_port
from tests.support.waiting import wait_for

REPORT_SCOPES = ("read", "write", "admin:read:reports", "admin:write:reports")
AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = AS + "#Public"
INBOX = "/api/v1/admin/vitascope/inbox"


def marker(text: str) -> str:
    return f"{text} {uuid.uuid4().hex[:12]}"


def ids(items) -> list[str]:
    return [str(i["id"]) for i in items]


@pytest.fixture(scope="module")
def admin(node):
    """An admin of alpha, with a Mastodon.py client limited to the report scopes."""
    return node.admin_mastodon(REPORT_SCOPES)


@pytest.fixture(scope="module")
def local_report(node):
    """A report filed on alpha about an alpha account: (reporter, target, report)."""
    reporter, target = node.mastodon(), node.mastodon()
    post = target.status_post(marker("rude"))
    report = reporter.report(target.me()["id"], status_ids=[post["id"]], comment="rude", forward=True)
    return reporter, target, report


def test_forwarded_report_reaches_the_target_server(node, node_b, admin):
    target = node.mastodon()
    post = target.status_post(marker("offending"))
    target_id = str(target.me()["id"])
    reporter = node_b.mastodon()
    target_on_b = reporter.account_lookup(f"{target.vs_username}@{node.domain}")
    post_on_b = reporter.search_v2(post["uri"], resolve=True)["statuses"][0]

    filed = reporter.report(target_on_b["id"], status_ids=[post_on_b["id"]], comment="spam from over there",
                            forward=True, category="spam")
    assert filed["forwarded"] is True and filed["action_taken"] is False
    assert filed["category"] == "spam" and filed["comment"] == "spam from over there"
    assert [str(i) for i in filed["status_ids"]] == [str(post_on_b["id"])]
    assert str(filed["target_account"]["id"]) == str(target_on_b["id"])

    # beta keeps the report for its own admins too, by its user, marked forwarded.
    b_admin_name, b_password = node_b.create_user(admin=True)
    b_admin = node_b.mastodon(b_admin_name, b_password, scopes=REPORT_SCOPES)
    on_b = b_admin.admin_report(filed["id"])
    assert on_b["account"]["username"] == reporter.vs_username and on_b["account"]["domain"] is None
    assert on_b["target_account"]["domain"] == node.domain and on_b["forwarded"] is True

    # alpha received a Flag from beta's instance actor (the reporter stays anonymous there).
    report = wait_for(lambda: next(iter(admin.admin_reports(target_account_id=target_id)), None),
                      what="the Flag on alpha")
    assert report["comment"] == "spam from over there" and report["forwarded"] is False
    assert report["account"]["domain"] == node_b.domain
    assert report["account"]["username"] != reporter.vs_username
    assert report["account"]["account"]["url"] == f"{node_b.url}/"  # beta's instance actor
    assert str(report["target_account"]["id"]) == target_id and report["target_account"]["domain"] is None
    assert report["target_account"]["account"]["acct"] == target.vs_username
    assert report["target_account"]["approved"] is True and report["target_account"]["role"]["id"] == "-99"
    assert ids(report["statuses"]) == [str(post["id"])]
    assert report["assigned_account"] is None and report["action_taken_by_account"] is None
    wait_for(lambda: any(n["type"] == "admin.report" for n in admin.notifications()), what="the notification")

    rid = report["id"]
    assigned = admin.admin_report_assign(rid)
    assert str(assigned["assigned_account"]["id"]) == admin.vs_id
    assert assigned["assigned_account"]["role"]["name"] == "Admin"
    assert admin.admin_report_unassign(rid)["assigned_account"] is None

    resolved = admin.admin_report_resolve(rid)
    assert resolved["action_taken"] is True and resolved["action_taken_at"]
    assert str(resolved["action_taken_by_account"]["id"]) == admin.vs_id
    assert str(rid) not in ids(admin.admin_reports())  # unresolved by default
    assert str(rid) in ids(admin.admin_reports(resolved=True))
    assert str(rid) in ids(admin.admin_reports(resolved=True, unresolved=True))
    assert admin.admin_report(rid)["action_taken"] is True

    reopened = admin.admin_report_reopen(rid)
    assert reopened["action_taken"] is False and reopened["action_taken_by_account"] is None
    assert str(rid) in ids(admin.admin_reports())


def test_local_report_stays_local_and_filters_work(node, admin, local_report):
    reporter, target, filed = local_report
    assert filed["forwarded"] is False  # forward only applies to remote accounts
    reporter_id, target_id = str(reporter.me()["id"]), str(target.me()["id"])
    report = admin.admin_report(filed["id"])
    assert str(report["account"]["id"]) == reporter_id and report["account"]["email"].endswith("@example.com")
    assert str(report["target_account"]["id"]) == target_id and report["comment"] == "rude"

    assert ids(admin.admin_reports(account_id=reporter_id)) == [str(filed["id"])]
    assert ids(admin.admin_reports(target_account_id=target_id)) == [str(filed["id"])]
    assert admin.admin_reports(account_id=target_id) == []


def test_report_list_pages_with_link_headers(node, admin):
    reporter, target = node.mastodon(), node.mastodon()
    filed = [str(reporter.report(target.me()["id"], comment=f"#{n}")["id"]) for n in range(3)]
    api = node.api(admin.access_token)
    first = api.get("/api/v1/admin/reports", params={"account_id": reporter.me()["id"], "limit": 2})
    assert first.status_code == 200 and ids(first.json()) == filed[::-1][:2]
    rest = requests.get(first.links["next"]["url"], headers=api.session.headers)
    assert ids(rest.json()) == filed[:1]
    newer = requests.get(rest.links["prev"]["url"], headers=api.session.headers)
    assert ids(newer.json()) == filed[::-1][:2]


def test_reports_are_for_admins_only(node, admin, local_report):
    _, _, filed = local_report
    name, password = node.create_user()
    member = node.mastodon(name, password, scopes=REPORT_SCOPES)
    with pytest.raises(MastodonAPIError) as refused:
        member.admin_reports()
    assert refused.value.args[1] == 403
    api = node.api(node.token(name, scopes="read write admin:read admin:write"))
    for method, path in (("GET", "/api/v1/admin/reports"), ("GET", f"/api/v1/admin/reports/{filed['id']}"),
                         ("POST", f"/api/v1/admin/reports/{filed['id']}/resolve"),
                         ("POST", f"/api/v1/admin/reports/{filed['id']}/assign_to_self"),
                         ("GET", INBOX)):
        assert api.request(method, path).status_code == 403, path
    assert admin.admin_report(filed["id"])["action_taken"] is False  # the refused resolve changed nothing

    # An admin whose token lacks the admin scopes is refused as well.
    plain = node.api(node.token(admin.vs_username, scopes="read write"))
    assert plain.get("/api/v1/admin/reports").status_code == 403
    assert node.api(admin.access_token).get("/api/v1/admin/reports/123456789").status_code == 404
    assert node.api().get("/api/v1/admin/reports").status_code == 401


def test_report_validation(node):
    reporter, target, stranger = node.mastodon(), node.mastodon(), node.mastodon()
    target_id = target.me()["id"]
    strangers_post = stranger.status_post(marker("not the target's"))
    private_post = target.status_post(marker("followers only"), visibility="private")
    api = node.api(node.token(reporter.vs_username))
    cases = [
        ({}, 422),
        ({"account_id": "999999999"}, 404),
        ({"account_id": reporter.me()["id"]}, 422),
        ({"account_id": target_id, "category": "nonsense"}, 422),
        ({"account_id": target_id, "comment": "x" * 1001}, 422),
        ({"account_id": target_id, "status_ids[]": [strangers_post["id"]]}, 404),
        ({"account_id": target_id, "status_ids[]": [private_post["id"]]}, 404),
        ({"account_id": target_id, "rule_ids[]": ["1"]}, 422),
    ]
    for data, status in cases:
        assert api.post("/api/v1/reports", data=data).status_code == status, data
    assert node.api(node.token(reporter.vs_username, scopes="read")).post(
        "/api/v1/reports", data={"account_id": target_id}).status_code == 403
    ok = api.post("/api/v1/reports", json={"account_id": str(target_id), "category": "legal", "forward": True})
    assert ok.status_code == 200 and ok.json()["category"] == "legal" and ok.json()["rule_ids"] == []


# --------------------------------------------------------------------------- inbox items


class Peer:
    """A tiny fediverse server in a thread: actors whose keys the test holds, posts they publish, and
    signed POSTs. A path in ``unavailable`` answers 503, as a server having a bad moment does."""

    def __init__(self) -> None:
        self.port = free_port()
        self.keys: dict[str, str] = {}
        self.documents: dict[str, dict] = {}  # by path
        self.unavailable: set[str] = set()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.removeprefix("/users/")
                doc = peer.documents.get(self.path) or (
                    peer.actor(name) if self.path.startswith("/users/") and name in peer.keys else None)
                status = 503 if self.path in peer.unavailable else 200 if doc else 404
                body = json.dumps(doc).encode() if status == 200 else b"{}"
                self.send_response(status)
                self.send_header("Content-Type", "application/activity+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.port}"

    def actor_id(self, name: str) -> str:
        return f"http://{self.domain}/users/{name}"

    def actor(self, name: str, username: str | None = None, display_name: str | None = None) -> dict:
        actor_id = self.actor_id(name)
        pem = self.keys.setdefault(name, generate_rsa_private_pem())
        doc = {"@context": [AS, "https://w3id.org/security/v1"], "id": actor_id, "type": "Person",
               "preferredUsername": username or name, "inbox": actor_id + "/inbox",
               "publicKey": {"id": actor_id + "#main-key", "owner": actor_id, "publicKeyPem": public_pem(pem)}}
        return {**doc, "name": display_name} if display_name else doc

    def publish(self, name: str, text: str) -> str:
        """A public post by `name`, served from now on; returns its id."""
        self.actor(name)  # makes the key, so the author is served too
        path = f"/users/{name}/statuses/{uuid.uuid4().hex}"
        note_id = f"http://{self.domain}{path}"
        self.documents[path] = {"@context": AS, "id": note_id, "type": "Note", "attributedTo": self.actor_id(name),
                                "content": f"<p>{text}</p>", "to": [PUBLIC], "cc": [],
                                "published": "2025-06-01T12:00:00Z"}
        return note_id

    def post(self, node, name: str, kind: str, obj) -> str:
        """Deliver a signed activity by `name` to the node's shared inbox; returns the activity id."""
        self.actor(name)  # makes the key
        activity_id = f"{self.actor_id(name)}/activities/{uuid.uuid4().hex}"
        doc = {"@context": AS, "id": activity_id, "type": kind, "actor": self.actor_id(name), "object": obj}
        body = json.dumps(doc).encode()
        headers = {"Content-Type": "application/activity+json"}
        headers.update(sign_cavage("POST", node.url + "/inbox", headers, body, self.actor_id(name) + "#main-key",
                                   self.keys[name]))
        response = requests.post(node.url + "/inbox", data=body, headers=headers, timeout=30)
        assert response.status_code == 202, response.text
        return activity_id

    def update_profile(self, node, name: str, username: str | None = None, display_name: str | None = None) -> str:
        """Update{Person}: `name` sends its actor with another preferredUsername and/or display name."""
        return self.post(node, name, "Update", self.actor(name, username, display_name))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def peer():
    server = Peer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def other_peer():
    server = Peer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def inbox_node(nodes):
    """A node of its own: the failures provoked here must stay out of the shared node's log, which
    tests/federation/test_pasture.py reads for failed inbox items."""
    return nodes("inboxes")


def admin_api(node):
    name, _ = node.create_user(admin=True)
    return node.api(node.token(name, scopes="read admin:read"))


def inbox_item(api, activity_id: str, state: str) -> dict | None:
    """The item of that activity, if it is in that state now."""
    listed = api.get(INBOX, params={"state": state, "limit": 40})
    assert listed.status_code == 200
    return next((i for i in listed.json() if i["activity_id"] == activity_id), None)


def test_inbox_items_are_listed_and_retried(inbox_node, peer, other_peer):
    node, api = inbox_node, admin_api(inbox_node)

    def item(activity_id: str, state: str):
        return inbox_item(api, activity_id, state)

    # Ignored: mallory likes a post of alice's (same server) that this node has not seen yet.
    post = peer.publish("alice", "first light")
    like = peer.post(node, "mallory", "Like", post)
    ignored = wait_for(lambda: item(like, "ignored"), what="the ignored Like")
    assert ignored["reason"] == "unknown post" and ignored["type"] == "Like" and ignored["attempts"] == 1
    assert ignored["actor"] == peer.actor_id("mallory") and ignored["received_at"]

    # Error: mallory passes on, by id, bob's post from another server, which cannot serve bob's actor
    # just now; without its author the post cannot be stored.
    relayed = other_peer.publish("bob", "from elsewhere")
    other_peer.unavailable.add("/users/bob")
    create = peer.post(node, "mallory", "Create", relayed)
    failed = wait_for(lambda: item(create, "error"), what="the failed Create")
    assert failed["reason"].startswith(f"ResolveError: {other_peer.actor_id('bob')}") and "503" in failed["reason"]
    assert failed["attempts"] == 1 and failed["type"] == "Create" and failed["actor"] == peer.actor_id("mallory")

    # Without a state the API and the CLI list what needs attention: errors and ignored items.
    assert {ignored["id"], failed["id"]} <= set(ids(api.get(INBOX).json()))
    table = node.cli("admin", "inbox").stdout.splitlines()
    like_line = next(line for line in table if line.startswith(ignored["id"]))
    assert "Like" in like_line and "ignored" in like_line and "unknown post" in like_line
    create_line = next(line for line in table if line.startswith(failed["id"]))
    assert "Create" in create_line and " error " in create_line and peer.actor_id("mallory") in create_line
    assert "ResolveError" in create_line
    assert json.loads(node.cli("admin", "inbox", "--state", "error", "--json", "--limit", "10").stdout) == [failed]
    listed = json.loads(node.cli("admin", "inbox", "--state", "ignored", "--json").stdout)
    assert ignored in listed and all(i["state"] == "ignored" for i in listed)
    assert api.get(INBOX, params={"state": "nonsense"}).status_code == 422

    # Someone here looks alice's post up; now that it is known, the retried Like applies.
    reader = node.mastodon()
    found = reader.search_v2(post, resolve=True)["statuses"]
    assert [s["uri"] for s in found] == [post] and found[0]["favourites_count"] == 0
    assert "1 inbox item back to pending" in node.cli("admin", "inbox", "retry", ignored["id"]).stdout
    liked = wait_for(lambda: item(like, "done"), what="the Like after the retry")
    assert liked["attempts"] == 2 and liked["reason"] is None
    assert reader.status(found[0]["id"])["favourites_count"] == 1

    # --all-errors sends the Create back while bob's server still fails: an error again, one more attempt.
    assert "1 inbox item back to pending" in node.cli("admin", "inbox", "retry", "--all-errors").stdout
    again = wait_for(lambda: (i := item(create, "error")) and i["attempts"] == 2 and i,
                     what="the Create failing again")
    assert again["reason"].startswith("ResolveError")

    # Only error or ignored items go back; nothing changes when one of the ids cannot.
    refused = node.cli("admin", "inbox", "retry", liked["id"], failed["id"], check=False)
    assert refused.returncode == 1 and "is done" in refused.stderr
    assert item(create, "error")["attempts"] == 2
    missing = node.cli("admin", "inbox", "retry", "123", check=False)
    assert missing.returncode == 1 and "no such inbox item" in missing.stderr

    # bob's server is back: the retried Create stores bob's post, and nothing is left in error.
    other_peer.unavailable.clear()
    node.cli("admin", "inbox", "retry", failed["id"])
    stored = wait_for(lambda: item(create, "done"), what="the Create after bob's server came back")
    assert stored["attempts"] == 3 and stored["reason"] is None
    bob = reader.account_lookup(f"bob@{other_peer.domain}")
    assert [s["uri"] for s in reader.account_statuses(bob["id"])] == [relayed]
    assert node.cli("admin", "inbox", "--state", "error").stdout.startswith("no inbox items in error")
    assert "0 inbox items back to pending" in node.cli("admin", "inbox", "retry", "--all-errors").stdout


def test_rename_to_a_name_taken_on_that_server_keeps_the_old_name(node, peer):
    """One account per name and server: a remote actor renaming itself to a name another actor of its
    server holds (in any case) keeps its name; the rest of the Update applies, and a free name is taken."""
    api = admin_api(node)

    def applied(activity_id: str) -> None:
        processed = wait_for(lambda: next(filter(None, (inbox_item(api, activity_id, state)
                                                         for state in ("done", "error", "ignored"))), None),
                             what=f"{activity_id} processed")
        assert processed["state"] == "done", processed

    def lookup(username: str):
        found = node.api().get("/api/v1/accounts/lookup", params={"acct": f"{username}@{peer.domain}"})
        return found.json() if found.status_code == 200 else None

    applied(peer.update_profile(node, "zoe", display_name="Zoe"))
    applied(peer.update_profile(node, "eve", display_name="Eve"))
    zoe = lookup("zoe")
    assert zoe["uri"] == peer.actor_id("zoe") and zoe["display_name"] == "Zoe"

    applied(peer.update_profile(node, "eve", username="zoe", display_name="Eve who would be Zoe"))
    applied(peer.update_profile(node, "eve", username="ZOE", display_name="Eve, shouting"))
    eve = lookup("eve")
    assert eve["uri"] == peer.actor_id("eve") and eve["display_name"] == "Eve, shouting"
    assert lookup("zoe") == zoe  # untouched

    applied(peer.update_profile(node, "eve", username="evelyn"))
    assert lookup("evelyn")["uri"] == peer.actor_id("eve") and lookup("eve") is None
