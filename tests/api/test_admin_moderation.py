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
from tests.federation.conftest import wait_for
from tests.support.servers import free_port

REPORT_SCOPES = ("read", "write", "admin:read:reports", "admin:write:reports")
AS = "https://www.w3.org/ns/activitystreams"


def marker(text: str) -> str:
    return f"{text} {uuid.uuid4().hex[:12]}"


def ids(items) -> list[str]:
    return [str(i["id"]) for i in items]


@pytest.fixture(scope="module")
def admin(node):
    """An admin of alpha, with a Mastodon.py client limited to the report scopes."""
    name, password = node.create_user(admin=True)
    client = node.mastodon(name, password, scopes=REPORT_SCOPES)
    client.vs_id = str(client.me()["id"])
    return client


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
    assert any(n["type"] == "admin.report" for n in admin.notifications())

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
                         ("GET", "/api/v1/vitascope/admin/inbox")):
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
    """A tiny fediverse server in a thread: actor documents whose keys the test holds, and signed POSTs."""

    def __init__(self) -> None:
        self.port = free_port()
        self.keys: dict[str, str] = {}
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.removeprefix("/users/")
                doc = peer.actor(name) if self.path.startswith("/users/") and name in peer.keys else None
                body = json.dumps(doc).encode() if doc else b"{}"
                self.send_response(200 if doc else 404)
                self.send_header("Content-Type", "application/activity+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def actor_id(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/users/{name}"

    def actor(self, name: str, username: str | None = None) -> dict:
        actor_id = self.actor_id(name)
        pem = self.keys.setdefault(name, generate_rsa_private_pem())
        return {"@context": [AS, "https://w3id.org/security/v1"], "id": actor_id, "type": "Person",
                "preferredUsername": username or name, "inbox": actor_id + "/inbox",
                "publicKey": {"id": actor_id + "#main-key", "owner": actor_id, "publicKeyPem": public_pem(pem)}}

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

    def rename(self, node, name: str, username: str) -> str:
        return self.post(node, name, "Update", self.actor(name, username))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def peer():
    server = Peer()
    yield server
    server.close()


def test_inbox_errors_are_listed_and_retried(node, peer):
    name, _ = node.create_user(admin=True)
    api = node.api(node.token(name, scopes="read admin:read"))

    def item(activity_id: str, state: str):
        listed = api.get("/api/v1/vitascope/admin/inbox", params={"state": state, "limit": 40})
        assert listed.status_code == 200
        return next((i for i in listed.json() if i["activity_id"] == activity_id), None)

    # Ignored: a Like of a post we do not have. Error: two actors of that peer take mallory's name,
    # which the database refuses (one account per name and host).
    like = peer.post(node, "mallory", "Like", f"{peer.actor_id('mallory')}/notes/unknown")
    ignored = wait_for(lambda: item(like, "ignored"), what="the ignored Like")
    assert ignored["reason"] == "unknown post" and ignored["type"] == "Like"
    eve_update, zoe_update = peer.rename(node, "eve", "mallory"), peer.rename(node, "zoe", "mallory")
    eve = wait_for(lambda: item(eve_update, "error"), what="eve's failed Update")
    zoe = wait_for(lambda: item(zoe_update, "error"), what="zoe's failed Update")
    assert eve["reason"].startswith("IntegrityError") and eve["attempts"] == 1
    assert eve["actor"] == peer.actor_id("eve") and eve["type"] == "Update" and eve["received_at"]

    # Without a state the API and the CLI list what needs attention: errors and ignored items.
    default = ids(api.get("/api/v1/vitascope/admin/inbox").json())
    assert {ignored["id"], eve["id"], zoe["id"]} <= set(default)
    table = node.cli("admin", "inbox").stdout
    eve_line = next(line for line in table.splitlines() if line.startswith(eve["id"]))
    assert "Update" in eve_line and "error" in eve_line and peer.actor_id("eve") in eve_line
    assert "IntegrityError" in eve_line
    assert "unknown post" in next(line for line in table.splitlines() if line.startswith(ignored["id"]))
    listed = json.loads(node.cli("admin", "inbox", "--state", "error", "--json", "--limit", "10").stdout)
    assert eve in listed and zoe in listed and all(i["state"] == "error" for i in listed)
    assert api.get("/api/v1/vitascope/admin/inbox", params={"state": "nonsense"}).status_code == 422

    # mallory gives the name up; then eve's Update can be applied.
    freed = peer.rename(node, "mallory", "mallory-old")
    freed_item = wait_for(lambda: item(freed, "done"), what="mallory's rename")
    retried = node.cli("admin", "inbox", "retry", eve["id"])
    assert "1 inbox item back to pending" in retried.stdout
    done = wait_for(lambda: item(eve_update, "done"), what="eve's Update after the retry")
    assert done["attempts"] == 2 and done["reason"] is None
    renamed = node.api().get("/api/v1/accounts/lookup", params={"acct": f"mallory@127.0.0.1:{peer.port}"})
    assert renamed.status_code == 200 and renamed.json()["uri"] == peer.actor_id("eve")

    # --all-errors sends zoe's back too; the name is eve's now, so it fails again, with its reason.
    assert "back to pending" in node.cli("admin", "inbox", "retry", "--all-errors").stdout
    again = wait_for(lambda: (i := item(zoe_update, "error")) and i["attempts"] == 2 and i,
                     what="zoe's Update failing again")
    assert again["reason"].startswith("IntegrityError")

    # Only error or ignored items go back; nothing changes when one of the ids cannot.
    refused = node.cli("admin", "inbox", "retry", freed_item["id"], zoe["id"], check=False)
    assert refused.returncode == 1 and "is done" in refused.stderr
    assert item(zoe_update, "error")["attempts"] == 2
    missing = node.cli("admin", "inbox", "retry", "123", check=False)
    assert missing.returncode == 1 and "no such inbox item" in missing.stderr
