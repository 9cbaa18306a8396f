"""Suspensions across servers, as Mastodon federates them: a suspended local account's actor says
`suspended` (toot namespace) and an Update of it reaches its followers' servers, which hide the
account until another Update says otherwise; our own suspension of a remote account outlasts what
its server says. Live nodes driven through Mastodon.py; a fake server where a raw activity is the point.
"""

from __future__ import annotations

import uuid

import pytest
import requests
from mastodon import MastodonNotFoundError

from tests.api.test_admin_moderation import Peer, inbox_item
from tests.federation.test_two_nodes import acct, follow, in_home, relationship
from tests.support.waiting import wait_for

ADMIN_SCOPES = ("read", "write", "follow", "admin:read", "admin:write")
AP = {"Accept": "application/activity+json"}


def marker(text: str) -> str:
    return f"{text} {uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def admins(node, node_b):
    return node.admin_mastodon(ADMIN_SCOPES), node_b.admin_mastodon(ADMIN_SCOPES)


def test_a_local_suspension_reaches_the_followers_servers(node, node_b, admins):
    admin_a, admin_b = admins
    alice, bob = node.mastodon(), node_b.mastodon()
    alice.account_update_credentials(display_name="Alice Liddell", note="down the rabbit hole")
    alice_id = alice.me()["id"]
    alice_on_b = follow(bob, acct(node, alice.vs_username))
    post = alice.status_post(marker("before"))
    wait_for(lambda: in_home(bob, post["uri"]), what="alice's post on beta")

    admin_a.admin_account_moderate(alice_id, "suspend", text="spam")
    # Her actor is still served, saying so, without her profile (Mastodon's ActorSerializer).
    actor = requests.get(f"{node.url}/users/{alice.vs_username}", headers=AP).json()
    assert actor["suspended"] is True and actor["name"] == alice.vs_username and actor["summary"] == ""
    assert actor["attachment"] == [] and actor["publicKey"]["owner"] == actor["id"]
    assert any(isinstance(c, dict) and c.get("suspended") == "toot:suspended" for c in actor["@context"])
    for collection in ("outbox", "followers", "following", "featured"):
        assert requests.get(actor[collection], headers=AP).status_code == 403, collection

    # The Update reached beta: she is suspended there (by her server), her post is hidden.
    wait_for(lambda: admin_b.admin_account(alice_on_b)["suspended"], what="the suspension on beta")
    assert in_home(bob, post["uri"]) is None
    with pytest.raises(MastodonNotFoundError):
        bob.account(alice_on_b)
    assert admin_b.admin_account(alice_on_b)["account"]["display_name"] == alice.vs_username
    assert relationship(bob, alice_on_b)["following"] is True  # follows stay, for when she is back

    admin_a.admin_account_unsuspend(alice_id)
    assert "suspended" not in requests.get(f"{node.url}/users/{alice.vs_username}", headers=AP).json()
    assert requests.get(actor["outbox"], headers=AP).json()["totalItems"] == 1
    wait_for(lambda: not admin_b.admin_account(alice_on_b)["suspended"], what="the unsuspension on beta")
    assert in_home(bob, post["uri"]) is not None
    assert bob.account(alice_on_b)["display_name"] == "Alice Liddell"

    # Beta's own suspension of her is beta's: her server's Updates change her profile, not that.
    admin_b.admin_account_moderate(alice_on_b, "suspend")
    alice.account_update_credentials(display_name="Alice, renamed")
    wait_for(lambda: admin_b.admin_account(alice_on_b)["account"]["display_name"] == "Alice, renamed",
             what="the profile Update on beta")
    assert admin_b.admin_account(alice_on_b)["suspended"] is True
    admin_b.admin_account_unsuspend(alice_on_b)
    assert in_home(bob, post["uri"]) is not None


@pytest.fixture(scope="module")
def peer():
    server = Peer()
    yield server
    server.close()


def test_an_actor_its_server_suspended(node, admins, peer):
    admin_a, _ = admins
    api = node.api(admin_a.access_token)

    def processed(activity_id: str, state: str = "done") -> dict:
        return wait_for(lambda: inbox_item(api, activity_id, state), what=f"{activity_id} {state}")

    def sam() -> dict:
        [found] = admin_a.admin_accounts_v2(by_domain=peer.domain, username="sam")
        return found

    processed(peer.post(node, "sam", "Update", {**peer.actor("sam", display_name="Sam"), "suspended": True}))
    assert sam()["suspended"] is True
    lookup = node.api().get("/api/v1/accounts/lookup", params={"acct": f"sam@{peer.domain}"})
    assert lookup.status_code == 404
    liked = processed(peer.post(node, "sam", "Like", peer.publish("sam", "mine")), "ignored")
    assert liked["reason"] == "actor is suspended by its server"

    # Its server lifts it: an Update (allowed from a suspended actor, as Mastodon) says so no more.
    processed(peer.post(node, "sam", "Update", peer.actor("sam", display_name="Sam again")))
    assert sam()["suspended"] is False and sam()["account"]["display_name"] == "Sam again"

    # Ours stays whatever its server says.
    admin_a.admin_account_moderate(sam()["id"], "suspend")
    processed(peer.post(node, "sam", "Update", {**peer.actor("sam"), "suspended": False}))
    assert sam()["suspended"] is True
    admin_a.admin_account_unsuspend(sam()["id"])


def test_a_suspended_account_gains_no_followers(node, admins, peer):
    admin_a, _ = admins
    api = node.api(admin_a.access_token)
    lena = node.mastodon()
    lena_id = lena.me()["id"]
    admin_a.admin_account_moderate(lena_id, "suspend")
    follow_id = peer.post(node, "tom", "Follow", f"{node.url}/users/{lena.vs_username}")
    refused = wait_for(lambda: inbox_item(api, follow_id, "ignored"), what="the refused Follow")
    assert refused["reason"] == "the account is suspended by this server"
    admin_a.admin_account_unsuspend(lena_id)
    assert lena.account_followers(lena_id) == []


def test_unsuspending_a_remote_account_fetches_it_again(node, admins, peer):
    """As Mastodon's UnsuspendAccountService: lifting our suspension of a remote account fetches its actor
    again, so what changed on its server while we ignored it (its name, a suspension of its own) shows."""
    admin_a, _ = admins
    api = node.api(admin_a.access_token)
    update = peer.post(node, "uma", "Update", peer.actor("uma", display_name="Uma"))
    wait_for(lambda: inbox_item(api, update, "done"), what="uma's Update")
    [uma] = admin_a.admin_accounts_v2(by_domain=peer.domain, username="uma")
    assert uma["account"]["display_name"] == "Uma"

    admin_a.admin_account_moderate(uma["id"], "suspend")
    peer.documents["/users/uma"] = peer.actor("uma", display_name="Uma, renamed")  # never sent to us
    admin_a.admin_account_unsuspend(uma["id"])
    after = admin_a.admin_account(uma["id"])
    assert after["suspended"] is False and after["account"]["display_name"] == "Uma, renamed"
    lookup = node.api().get("/api/v1/accounts/lookup", params={"acct": f"uma@{peer.domain}"})
    assert lookup.status_code == 200 and lookup.json()["display_name"] == "Uma, renamed"

    # Her server suspended her while we had: lifting ours leaves hers.
    admin_a.admin_account_moderate(uma["id"], "suspend")
    peer.documents["/users/uma"] = {**peer.actor("uma"), "suspended": True}
    admin_a.admin_account_unsuspend(uma["id"])
    assert admin_a.admin_account(uma["id"])["suspended"] is True
    assert node.api().get("/api/v1/accounts/lookup", params={"acct": f"uma@{peer.domain}"}).status_code == 404
