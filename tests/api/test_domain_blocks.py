"""Federation moderation: domain blocks and account actions through Mastodon's admin API (real
Mastodon.py clients) and the CLI, between live nodes of their own (a block must not leak into the
session's shared nodes). Raw HTTP only where a status code or a header is the point.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import tomllib
import uuid

import pytest
import pytest_asyncio
import requests
import tomli_w
from aiohttp import web
from aiohttp.test_utils import TestServer
from mastodon import MastodonAPIError, MastodonIllegalArgumentError

from federation.fetcher import BlockedHost, SafeFetcher
from node.activitypub.blocked_domains import covers, names
from node.config import ConfigError, load_config
from tests.federation.test_inbox_attacks import eventually_public, http, post  # noqa: F401
from tests.federation.test_provenance_ingest import VideoPeer, sign_as
from tests.support.peers import AS
from tests.support.media import make_mp4
from tests.support.waiting import wait_for

ADMIN_SCOPES = ("read", "write", "follow", "admin:read", "admin:write")
AP = {"Accept": "application/activity+json"}
INBOX_STATES = ("pending", "processing", "done", "ignored", "error")


def marker(text: str = "post") -> str:
    return f"{text} {uuid.uuid4().hex[:12]}"


def acct(node, client) -> str:
    return f"{client.vs_username}@{node.domain}"


def actor_uri(node, client) -> str:
    return f"{node.url}/users/{client.vs_username}"


def follow(client, node, other) -> str:
    """``client`` follows ``other`` (a user of ``node``) and waits for the Accept; returns its id here."""
    account_id = client.account_lookup(acct(node, other))["id"]
    client.account_follow(account_id)
    wait_for(lambda: client.account_relationships(account_id)[0]["following"], what="Accept")
    return account_id


def has(statuses, uri: str) -> bool:
    return any(s["uri"] == uri for s in statuses)


def inbox_items(admin, node, actor: str) -> list[dict]:
    """Every stored inbox item from ``actor``, whatever its state (admin inbox API)."""
    api = node.api(admin.access_token)
    items = []
    for state in INBOX_STATES:
        response = api.get("/api/v1/admin/vitascope/inbox", params={"state": state, "limit": 40})
        assert response.status_code == 200, response.text
        items += [i for i in response.json() if i["actor"] == actor]
    return items


def signed_looking_post(node, key_id: str) -> requests.Response:
    """An inbox POST whose signature names ``key_id`` (the signature itself is junk)."""
    body = {"id": f"{key_id.split('#')[0]}/likes/{uuid.uuid4().hex}", "type": "Like",
            "actor": key_id.split("#")[0], "object": f"{node.url}/users/nobody/statuses/1"}
    signature = f'keyId="{key_id}",algorithm="rsa-sha256",headers="(request-target) host date",signature="AAAA"'
    return requests.post(f"{node.url}/inbox", data=json.dumps(body), timeout=30,
                         headers={"Content-Type": "application/activity+json", "Signature": signature})


@pytest.fixture(scope="module")
def home(nodes):
    """Shows its domain blocks, with their comments, to anyone (the default shows them to nobody)."""
    return nodes("mod-home", overrides={"moderation": {"show_domain_blocks": "all",
                                                        "show_domain_blocks_rationale": "all"}})


@pytest.fixture(scope="module")
def peer(nodes):
    return nodes("mod-peer")


@pytest.fixture(scope="module")
def third(nodes):
    return nodes("mod-third")


@pytest.fixture(scope="module")
def admin(home):
    return home.admin_mastodon(ADMIN_SCOPES)


# --------------------------------------------------------------------------- pure pieces


def test_a_block_covers_subdomains_and_ports_but_not_lookalikes():
    assert names("a.b.example.com:8443")[:3] == ["a.b.example.com:8443", "a.b.example.com", "b.example.com"]
    assert covers("example.com", "video.example.com") and covers("example.com", "example.com:8443")
    assert not covers("example.com", "badexample.com") and not covers("example.com", "example.com.evil")
    assert covers("127.0.0.1:8080", "127.0.0.1:8080") and not covers("127.0.0.1:8080", "127.0.0.1:80800")
    assert not covers("0.0.1", "127.0.0.1:80")  # an address has no parent domains


async def test_the_fetcher_refuses_blocked_hosts_on_every_hop():
    async def doc(request: web.Request) -> web.Response:
        return web.json_response({"id": "x"})

    async def away(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://localhost:{request.url.port}/doc")

    app = web.Application()
    app.router.add_get("/doc", doc)
    app.router.add_get("/away", away)
    async with TestServer(app, host="127.0.0.1") as server:
        blocked = f"localhost:{server.port}"
        async with SafeFetcher(allow_private=True, allow_http=True, user_agent="test",
                               host_policy=lambda host: host != blocked) as fetcher:
            assert await fetcher.get_json(f"http://127.0.0.1:{server.port}/doc", signed=False) == {"id": "x"}
            with pytest.raises(BlockedHost):
                await fetcher.get_json(f"http://{blocked}/doc", signed=False)
            with pytest.raises(BlockedHost):  # a redirect to a blocked host
                await fetcher.get_json(f"http://127.0.0.1:{server.port}/away", signed=False)
            with pytest.raises(BlockedHost):
                await fetcher.post(f"http://{blocked}/inbox", b"{}", {})


class CountingVideoPeer(VideoPeer):
    """A fake Vitascope node that counts the downloads of its videos."""

    def __init__(self, directory) -> None:
        super().__init__(directory)
        self.downloads = 0

    async def media(self, request: web.Request) -> web.Response:
        self.downloads += 1
        return await super().media(request)


@pytest_asyncio.fixture(scope="module")
async def video_peer(tmp_path_factory):
    server = CountingVideoPeer(tmp_path_factory.mktemp("video-peer"))
    await server.start()
    yield server
    await server.runner.cleanup()


# --------------------------------------------------------------------------- the admin API


def test_domain_block_api_shapes_and_bad_input(home, admin):
    domain = f"spam-{uuid.uuid4().hex[:8]}.example"
    created = admin.admin_create_domain_block(domain, severity="suspend", reject_media=True,
                                              private_comment="for us", public_comment="spam farm", obfuscate=True)
    assert created["domain"] == domain and created["severity"] == "suspend" and created["reject_media"] is True
    assert created["reject_reports"] is False and created["obfuscate"] is True and created["created_at"]
    assert created["private_comment"] == "for us" and created["public_comment"] == "spam farm"
    block_id = created["id"]
    assert admin.admin_domain_blocks(id=block_id)["domain"] == domain
    assert domain in [b["domain"] for b in admin.admin_domain_blocks()]

    api = home.api(admin.access_token)
    before = api.get("/api/v1/admin/domain_blocks").json()
    # A duplicate, a subdomain of a blocked domain, an unknown severity, a bad domain: 422, nothing changes.
    for body in ({"domain": domain}, {"domain": f"www.{domain.upper()}"}):
        duplicate = api.post("/api/v1/admin/domain_blocks", data=body)
        assert duplicate.status_code == 422
        assert duplicate.json()["existing_domain_block"]["id"] == str(block_id)
    for body in ({"domain": "fine.example", "severity": "obliterate"}, {"domain": "http://x.example/"},
                 {"domain": ""}, {"domain": home.domain}, {"domain": "fine.example", "reject_media": "perhaps"}):
        refused = api.post("/api/v1/admin/domain_blocks", data=body)
        assert refused.status_code == 422, body
        assert refused.json()["error"]
    assert api.put(f"/api/v1/admin/domain_blocks/{block_id}", data={"severity": "obliterate"}).status_code == 422
    assert api.get("/api/v1/admin/domain_blocks").json() == before
    assert api.get("/api/v1/admin/domain_blocks/12345").status_code == 404
    assert api.delete("/api/v1/admin/domain_blocks/12345").status_code == 404

    # The public list: obfuscated, with the digest of the real name, silence before suspend.
    silenced = admin.admin_create_domain_block(f"loud-{uuid.uuid4().hex[:8]}.example", severity="silence")
    noop = admin.admin_create_domain_block(f"media-{uuid.uuid4().hex[:8]}.example", severity="noop",
                                           reject_media=True)
    public = requests.get(f"{home.url}/api/v1/instance/domain_blocks").json()
    listed = {b["digest"]: b for b in public}
    ours = listed[hashlib.sha256(domain.encode()).hexdigest()]
    assert ours["domain"] != domain and "*" in ours["domain"] and len(ours["domain"]) == len(domain)
    assert ours["severity"] == "suspend" and ours["comment"] == "spam farm"
    assert listed[hashlib.sha256(silenced["domain"].encode()).hexdigest()]["domain"] == silenced["domain"]
    assert hashlib.sha256(noop["domain"].encode()).hexdigest() not in listed
    severities = [b["severity"] for b in public]
    assert severities == sorted(severities, key=lambda s: s == "suspend")

    updated = admin.admin_update_domain_block(block_id, severity="silence", public_comment="calmer now")
    assert updated["severity"] == "silence" and updated["public_comment"] == "calmer now"
    assert updated["reject_media"] is True and updated["domain"] == domain  # untouched fields stay
    for block in (block_id, silenced["id"], noop["id"]):
        admin.admin_delete_domain_block(block)
    assert domain not in [b["domain"] for b in admin.admin_domain_blocks()]
    with pytest.raises(MastodonAPIError):
        admin.admin_domain_blocks(id=block_id)


def test_moderation_is_for_admins_only(home, admin):
    name, password = home.create_user()
    member = home.mastodon(name, password, scopes=ADMIN_SCOPES)
    victim = home.mastodon()
    victim_id = victim.me()["id"]
    with pytest.raises(MastodonAPIError) as refused:
        member.admin_create_domain_block("members-cannot.example", severity="suspend")
    assert refused.value.args[1] == 403
    api = home.api(member.access_token)
    for method, path in (("GET", "/api/v1/admin/domain_blocks"), ("POST", f"/api/v1/admin/accounts/{victim_id}/action"),
                         ("POST", f"/api/v1/admin/accounts/{victim_id}/unsuspend"),
                         ("GET", f"/api/v1/admin/accounts/{victim_id}")):
        assert api.request(method, path, data={"type": "suspend"}).status_code == 403, path
    # An admin whose token lacks the admin scopes, and nobody at all.
    admin_name = admin.me()["username"]
    plain = home.api(home.token(admin_name, scopes="read write"))
    assert plain.post("/api/v1/admin/domain_blocks", data={"domain": "x.example"}).status_code == 403
    assert home.api().get("/api/v1/admin/domain_blocks").status_code == 401
    assert "members-cannot.example" not in [b["domain"] for b in admin.admin_domain_blocks()]
    assert admin.admin_account(victim_id)["suspended"] is False
    # Admins are not moderated through the API; unknown types and remote-only mistakes are 422.
    assert home.api(admin.access_token).post(f"/api/v1/admin/accounts/{admin.me()['id']}/action",
                                             data={"type": "suspend"}).status_code == 403
    bogus = home.api(admin.access_token).post(f"/api/v1/admin/accounts/{victim_id}/action", data={"type": "obliterate"})
    assert bogus.status_code == 422 and "type" in bogus.json()["error"]
    assert admin.admin_account(victim_id)["suspended"] is False


def _reconfigure(live, **moderation) -> None:
    """Restart ``live`` with other [moderation] settings (same database and Redis)."""
    config = tomllib.loads(live.config_path.read_text())
    config.setdefault("moderation", {}).update(moderation)
    live.config_path.write_text(tomli_w.dumps(config))
    live.stop()
    live.start()


def test_who_sees_the_public_list_of_blocks(node, nodes):
    """moderation.show_domain_blocks and show_domain_blocks_rationale, as Mastodon's settings: anyone
    not allowed gets a bare 404; a comment not to be shown is null."""
    path = "/api/v1/instance/domain_blocks"
    default = requests.get(node.url + path)  # the shared node keeps the defaults: disabled
    assert default.status_code == 404 and default.content == b""
    assert node.api(node.token(node.create_user()[0])).get(path).status_code == 404
    with pytest.raises(ConfigError, match="moderation.show_domain_blocks: must be disabled, users or all"):
        load_config(overrides={"moderation": {"show_domain_blocks": "everyone"}})

    live = nodes("mod-visibility", overrides={"moderation": {"show_domain_blocks": "users",
                                                              "show_domain_blocks_rationale": "users"}})
    name, password = live.create_user(admin=True)
    live.mastodon(name, password, scopes=ADMIN_SCOPES).admin_create_domain_block(
        "spam.example", severity="suspend", public_comment="spam wave")
    member = live.api(live.token(live.create_user()[0]))
    anonymous = requests.get(live.url + path)
    assert anonymous.status_code == 404 and anonymous.content == b""
    assert live.api("not-a-token").get(path).status_code == 401
    shown = member.get(path)
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "private, no-store"
    assert [(b["domain"], b["comment"]) for b in shown.json()] == [("spam.example", "spam wave")]

    _reconfigure(live, show_domain_blocks="all")  # the rationale still for users only
    anonymous = requests.get(live.url + path)
    assert anonymous.status_code == 200 and anonymous.headers["Cache-Control"] == "private, no-store"
    assert [(b["domain"], b["severity"], b["comment"]) for b in anonymous.json()] == [
        ("spam.example", "suspend", None)]
    assert member.get(path).json()[0]["comment"] == "spam wave"

    _reconfigure(live, show_domain_blocks_rationale="all")
    anonymous = requests.get(live.url + path)
    assert anonymous.headers["Cache-Control"] == "public, max-age=180"
    assert anonymous.json()[0]["comment"] == "spam wave"

    _reconfigure(live, show_domain_blocks="disabled")
    assert member.get(path).status_code == 404


# --------------------------------------------------------------------------- suspending a server


def test_suspended_domain_is_cut_off_and_lifting_lets_it_back(home, peer, admin):
    alice = home.mastodon()  # on home
    bob = peer.mastodon()    # on peer
    bob_here = follow(alice, peer, bob)
    follow(bob, home, alice)
    earlier = bob.status_post(marker("before the block"))
    earlier_here = wait_for(lambda: next((s["id"] for s in alice.timeline_home() if s["uri"] == earlier["uri"]), None),
                            what="bob's post in alice's home")
    first, second = alice.status_post(marker("first")), alice.status_post(marker("second"))
    wait_for(lambda: has(bob.timeline_home(), second["uri"]), what="alice's posts on peer")
    on_peer = {s["uri"]: s["id"] for s in bob.timeline_home()}
    alice.status_favourite(earlier_here)
    alice.status_bookmark(earlier_here)
    assert peer.domain in requests.get(f"{home.url}/api/v1/instance/peers").json()

    received = inbox_items(admin, home, actor_uri(peer, bob))  # his Follow and nothing else
    block = admin.admin_create_domain_block(peer.domain, severity="suspend")
    try:
        # What we had from there is hidden, the account is suspended, follows both ways are gone.
        assert not has(alice.timeline_home(), earlier["uri"])
        assert not has(alice.timeline_public(remote=True, limit=40), earlier["uri"])
        assert home.api(alice.access_token).get(f"/api/v1/statuses/{earlier_here}").status_code == 404
        assert alice.favourites() == [] and alice.bookmarks() == []
        assert peer.domain not in requests.get(f"{home.url}/api/v1/instance/peers").json()
        assert admin.admin_account(bob_here)["suspended"] is True
        me = alice.me()["id"]
        assert alice.account_following(me) == [] and alice.account_followers(me) == []

        # Their server still thinks bob follows alice and sends his post: refused before anything is verified.
        refused_post = bob.status_post(marker(f"during the block @{acct(home, alice)}"))
        bob.status_favourite(on_peer[first["uri"]])
        refusal = f"{peer.domain} is suspended by this server"
        wait_for(lambda: home.log_path.read_text().count(refusal) >= 2, what="refused inbox POSTs")
        probe = signed_looking_post(home, f"{peer.url}/users/{bob.vs_username}#main-key")
        assert probe.status_code == 403 and "suspended" in probe.json()["error"]
        # Both refused (logged above) before anything was stored.
        assert inbox_items(admin, home, actor_uri(peer, bob)) == received  # nothing stored
        assert not has(alice.timeline_home(), refused_post["uri"])
        assert not any(n["type"] in ("mention", "favourite") for n in alice.notifications())
        # Nothing goes out to it either: a mention of bob does not reach peer (checked below, once a
        # later mention has arrived).
        unheard = alice.status_post(f"@{acct(peer, bob)} can you hear me? {marker()}")
    finally:
        admin.admin_delete_domain_block(block["id"])

    # Lifted: the account is no longer suspended and new activities come in again.
    assert admin.admin_account(bob_here)["suspended"] is False
    assert has(alice.timeline_public(remote=True, limit=40), earlier["uri"])
    assert [s["uri"] for s in alice.favourites()] == [s["uri"] for s in alice.bookmarks()] == [earlier["uri"]]
    assert peer.domain in requests.get(f"{home.url}/api/v1/instance/peers").json()
    wait_for(lambda: signed_looking_post(home, f"{peer.url}/users/{bob.vs_username}#main-key").status_code == 401,
             what="the running node reloading its blocks")
    bob.status_favourite(on_peer[second["uri"]])
    wait_for(lambda: any(n["type"] == "favourite" for n in alice.notifications()), what="the Like after the block")
    heard = alice.status_post(f"@{acct(peer, bob)} and now? {marker()}")
    mentions = wait_for(lambda: [n["status"]["uri"] for n in bob.notifications() if n["type"] == "mention"],
                        what="the mention on peer")
    # The later mention arrived, and the one sent during the block (sent first, had it gone) did not.
    assert mentions == [heard["uri"]] and unheard["uri"] not in mentions


def test_cli_domain_blocks_reach_the_running_node(home):
    key_id = "http://127.0.0.1:9/users/spammer#main-key"  # port 9: nothing answers there
    assert signed_looking_post(home, key_id).status_code == 401  # tried, and the key cannot be had
    added = home.cli("admin", "domain-block", "add", "127.0.0.1:9", "--severity", "suspend", "--reject-media")
    assert "blocked 127.0.0.1:9: suspend, reject media" in added.stdout
    wait_for(lambda: signed_looking_post(home, key_id).status_code == 403, what="the block in the running node")
    listed = json.loads(home.cli("admin", "domain-block", "list", "--json").stdout)
    assert [(b["domain"], b["severity"], b["reject_media"]) for b in listed if b["domain"] == "127.0.0.1:9"] == [
        ("127.0.0.1:9", "suspend", True)]
    again = home.cli("admin", "domain-block", "add", "127.0.0.1:9", check=False)
    assert again.returncode == 1 and "already imposed limits on 127.0.0.1:9" in again.stderr
    assert home.cli("admin", "domain-block", "add", "bad domain!", check=False).returncode == 1
    home.cli("admin", "domain-block", "remove", "127.0.0.1:9")
    wait_for(lambda: signed_looking_post(home, key_id).status_code == 401, what="the block lifted")
    missing = home.cli("admin", "domain-block", "remove", "127.0.0.1:9", check=False)
    assert missing.returncode == 1 and "no domain block" in missing.stderr


# --------------------------------------------------------------------------- silencing a server


def test_silenced_domain_reaches_followers_only(home, third, admin):
    follower, stranger = home.mastodon(), home.mastodon()
    carol = third.mastodon()
    follow(follower, third, carol)
    loud = carol.status_post(marker("loud"))
    wait_for(lambda: has(follower.timeline_public(remote=True, limit=40), loud["uri"]), what="carol in the public timeline")

    block = admin.admin_create_domain_block(third.domain, severity="silence")
    try:
        carol_here = follower.account_lookup(acct(third, carol))["id"]
        assert admin.admin_account(carol_here)["silenced"] is True
        # Mastodon lists no domain under a block of any severity among its peers.
        assert third.domain not in requests.get(f"{home.url}/api/v1/instance/peers").json()
        assert not has(follower.timeline_public(remote=True, limit=40), loud["uri"])
        quiet = carol.status_post(f"@{acct(home, stranger)} {marker('quiet')}")
        wait_for(lambda: has(follower.timeline_home(), quiet["uri"]), what="the silenced post in a follower's home")
        assert not has(follower.timeline_public(remote=True, limit=40), quiet["uri"])
        assert not has(stranger.timeline_home(), quiet["uri"])
        assert not any(n["type"] == "mention" for n in stranger.notifications())
    finally:
        admin.admin_delete_domain_block(block["id"])
    assert admin.admin_account(carol_here)["silenced"] is False
    assert has(follower.timeline_public(remote=True, limit=40), quiet["uri"])


# --------------------------------------------------------------------------- account actions


def test_suspending_a_local_account(home, admin):
    name, password = home.create_user()
    user = home.mastodon(name, password)
    user_id = user.me()["id"]
    post = user.status_post(text := marker("soon hidden"))
    assert has(admin.timeline_public(local=True, limit=40), post["uri"])
    assert text in requests.get(f"{home.url}/@{name}").text

    admin.admin_account_moderate(user_id, "suspend", text="spam")
    assert admin.admin_account(user_id)["suspended"] is True
    with pytest.raises(MastodonAPIError) as refused:
        user.status_post("still here?")
    assert refused.value.args[1] == 403 and "suspended" in str(refused.value)
    token = home.api(user.access_token).get("/api/v1/accounts/verify_credentials")
    assert token.status_code == 403 and token.json()["error"] == "Your account is suspended"
    cid, secret = home.register_app("read write")
    login = requests.post(f"{home.url}/oauth/token", data={"grant_type": "password", "client_id": cid,
                                                           "client_secret": secret, "username": name,
                                                           "password": password, "scope": "read write"})
    assert login.status_code == 403 and login.json()["error_description"] == "Your account is suspended."
    with pytest.raises(MastodonIllegalArgumentError):
        home.mastodon(name, password)
    actor = requests.get(f"{home.url}/users/{name}", headers=AP)  # still served, as Mastodon does
    assert actor.status_code == 200 and actor.json()["suspended"] is True
    assert requests.get(post["uri"], headers=AP).status_code == 404
    for outside in (actor.json()["outbox"], actor.json()["followers"]):
        assert requests.get(outside, headers=AP).status_code == 403
    page = requests.get(f"{home.url}/@{name}")  # its web pages: a notice, no posts
    assert page.status_code == 403 and "suspended" in page.text and text not in page.text
    assert requests.get(post["url"]).status_code == 404
    assert not has(admin.timeline_public(local=True, limit=40), post["uri"])
    assert home.api(admin.access_token).get(f"/api/v1/statuses/{post['id']}").status_code == 404

    restored = admin.admin_account_unsuspend(user_id)
    assert restored["suspended"] is False
    assert user.me()["id"] == user_id and has(admin.timeline_public(local=True, limit=40), post["uri"])
    assert "suspended" not in requests.get(f"{home.url}/users/{name}", headers=AP).json()
    assert requests.get(post["url"]).status_code == 200 and requests.get(f"{home.url}/@{name}").status_code == 200


def test_silence_sensitive_and_disable_local_accounts(home, admin):
    loud, flagged, locked_out = home.mastodon(), home.mastodon(), home.mastodon()
    post = loud.status_post(marker("public"))
    admin.admin_account_moderate(loud.me()["id"], "silence")
    assert not has(admin.timeline_public(local=True, limit=40), post["uri"])
    assert admin.admin_account(loud.me()["id"])["silenced"] is True
    assert admin.admin_account_unsilence(loud.me()["id"])["silenced"] is False
    assert has(admin.timeline_public(local=True, limit=40), post["uri"])

    video = flagged.status_post(marker("borderline"))
    admin.admin_account_moderate(flagged.me()["id"], "sensitive")
    assert admin.status(video["id"])["sensitive"] is True  # to everyone else
    assert flagged.status(video["id"])["sensitive"] is False  # but not to its author
    assert admin.admin_account(flagged.me()["id"])["sensitized"] is True
    assert admin.admin_account_unsensitive(flagged.me()["id"])["sensitized"] is False
    assert admin.status(video["id"])["sensitive"] is False

    locked_id = locked_out.me()["id"]
    admin.admin_account_moderate(locked_id, "disable")
    refused = home.api(locked_out.access_token).get("/api/v1/accounts/verify_credentials")
    assert refused.status_code == 403 and refused.json()["error"] == "Your login is currently disabled"
    assert admin.admin_account(locked_id)["disabled"] is True
    assert admin.admin_account_enable(locked_id)["disabled"] is False
    assert locked_out.me()["id"] == locked_id


def test_suspending_a_remote_account_ignores_its_activities(home, third, admin):
    alice = home.mastodon()
    rex = third.mastodon()
    follow(rex, home, alice)
    liked, later = alice.status_post(marker("liked")), alice.status_post(marker("later"))
    wait_for(lambda: has(rex.timeline_home(), later["uri"]), what="alice's posts on third")
    on_third = {s["uri"]: s["id"] for s in rex.timeline_home()}
    rex.status_favourite(on_third[liked["uri"]])
    wait_for(lambda: any(n["type"] == "favourite" for n in alice.notifications()), what="the first Like")
    rex_here = alice.account_lookup(acct(third, rex))["id"]

    disable = home.api(admin.access_token).post(f"/api/v1/admin/accounts/{rex_here}/action", data={"type": "disable"})
    assert disable.status_code == 422  # local accounts only
    admin.admin_account_moderate(rex_here, "suspend")
    assert admin.admin_account(rex_here)["suspended"] is True
    assert alice.account_followers(alice.me()["id"]) == []
    # Their server is told (Reject{Follow}): rex no longer follows alice there.
    alice_on_third = rex.account_lookup(acct(home, alice))["id"]
    wait_for(lambda: not rex.account_relationships(alice_on_third)[0]["following"], what="the Reject on third")

    rex.status_favourite(on_third[later["uri"]])
    ignored = wait_for(lambda: [i for i in inbox_items(admin, home, actor_uri(third, rex))
                                if i["type"] == "Like" and i["state"] == "ignored"], what="the ignored Like")
    assert ignored[0]["reason"] == "actor is suspended by this server"
    assert not any(n["type"] == "favourite" for n in alice.notifications())  # hidden while suspended
    assert admin.admin_account_unsuspend(rex_here)["suspended"] is False
    assert sum(n["type"] == "favourite" for n in alice.notifications()) == 1  # the first Like only


# --------------------------------------------------------------------------- rejecting media and reports


async def _ignored(http, home, admin, actor: str, kind: str) -> dict:
    """The inbox item of ``kind`` from ``actor`` once it is ignored (polled without blocking the loop
    the fake peer runs on)."""
    headers = {"Authorization": f"Bearer {admin.access_token}"}
    for _ in range(200):
        async with http.get(home.url + "/api/v1/admin/vitascope/inbox", params={"state": "ignored", "limit": 40},
                            headers=headers) as response:
            found = [i for i in await response.json() if i["actor"] == actor and i["type"] == kind]
        if found:
            return found[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no ignored {kind} from {actor}")


async def test_rejected_media_are_never_downloaded_and_rejected_reports_ignored(home, admin, video_peer, http,
                                                                                tmp_path):
    headers = {"Authorization": f"Bearer {admin.access_token}"}
    async with http.post(home.url + "/api/v1/admin/domain_blocks", headers=headers, data={
            "domain": video_peer.origin, "severity": "noop", "reject_media": "true", "reject_reports": "true"}) as r:
        assert r.status == 200
        block = await r.json()
    clip = sign_as(video_peer.identity, video_peer.origin, make_mp4(tmp_path / "raw.mp4"), tmp_path / "signed.mp4")
    vince = video_peer.actor_id("vince")
    status, _ = await post(http, home, video_peer.video_post("vince", marker("clip"), clip), signer="vince",
                           fake=video_peer)
    assert status == 202
    refused = await _ignored(http, home, admin, vince, "Create")
    assert refused["reason"].endswith(f"media from {video_peer.origin} are rejected by this server")
    assert video_peer.downloads == 0

    target, _ = home.create_user()
    flag = {"@context": AS, "id": f"{vince}/flags/{uuid.uuid4().hex}", "type": "Flag", "actor": vince,
            "object": [f"{home.url}/users/{target}"], "content": "a report we do not want"}
    assert (await post(http, home, flag, signer="vince", fake=video_peer))[0] == 202
    ignored = await _ignored(http, home, admin, vince, "Flag")
    assert ignored["reason"] == f"reports from {video_peer.origin} are rejected by this server"
    async with http.get(home.url + "/api/v1/admin/reports", headers=headers) as response:
        assert "a report we do not want" not in await response.text()

    async with http.delete(f"{home.url}/api/v1/admin/domain_blocks/{block['id']}", headers=headers) as response:
        assert response.status == 200
    status, _ = await post(http, home, video_peer.video_post("vince", later := marker("clip"), clip), signer="vince",
                           fake=video_peer)
    await eventually_public(http, home, later)
    assert video_peer.downloads == 1
