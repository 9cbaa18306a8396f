"""Two live nodes federating, driven only through each node's Mastodon API (Mastodon.py).

`node` (alpha) and `node_b` (beta) are the session's shared nodes; every test makes its own users.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests
from mastodon import MastodonNotFoundError

from tests.support.streams import Listener, wait_subscribed
from tests.support.waiting import wait_for

AP = {"Accept": "application/activity+json"}


def marker(text: str = "post") -> str:
    return f"{text} {uuid.uuid4().hex[:12]}"


def remote_id(client, acct: str) -> str:
    return client.account_lookup(acct)["id"]


def relationship(client, account_id):
    return client.account_relationships(account_id)[0]


def follow(client, acct: str) -> str:
    """Follow a remote account and wait until the remote server accepted."""
    account_id = remote_id(client, acct)
    client.account_follow(account_id)
    wait_for(lambda: relationship(client, account_id)["following"], what=f"Accept from {acct}")
    return account_id


def in_home(client, uri: str):
    return next((s for s in client.timeline_home(limit=40) if s["uri"] == uri), None)


def acct(node, username: str) -> str:
    return f"{username}@{node.domain}"


@pytest.fixture(scope="module")
def pair(node, node_b):
    """alice on alpha, followed by bob on beta."""
    alice = node.mastodon()
    bob = node_b.mastodon()
    alice_on_b = follow(bob, acct(node, alice.vs_username))
    return alice, bob, alice_on_b


def test_discovery_documents(node):
    username, _ = node.create_user()
    jrd = requests.get(f"{node.url}/.well-known/webfinger", params={"resource": f"acct:{username}@{node.domain}"})
    assert jrd.status_code == 200 and jrd.headers["Content-Type"].startswith("application/jrd+json")
    self_link = next(link for link in jrd.json()["links"] if link["rel"] == "self")
    assert self_link == {"rel": "self", "type": "application/activity+json", "href": f"{node.url}/users/{username}"}
    assert any(link["rel"] == "http://webfinger.net/rel/profile-page" for link in jrd.json()["links"])
    assert requests.get(f"{node.url}/.well-known/webfinger", params={"resource": "not a resource"}).status_code == 400
    assert requests.get(f"{node.url}/.well-known/webfinger", params={"resource": "acct:x@"}).status_code == 400
    assert requests.get(f"{node.url}/.well-known/webfinger",
                        params={"resource": f"acct:nobody_here@{node.domain}"}).status_code == 404
    assert "lrdd" in requests.get(f"{node.url}/.well-known/host-meta").text
    links = requests.get(f"{node.url}/.well-known/nodeinfo").json()["links"]
    info = requests.get(links[0]["href"]).json()
    assert info["version"] == "2.1" and info["software"]["name"] == "vitascope"
    assert info["protocols"] == ["activitypub"] and info["usage"]["users"]["total"] >= 1

    actor = requests.get(f"{node.url}/users/{username}", headers=AP)
    assert actor.headers["Content-Type"].startswith("application/activity+json")
    doc = actor.json()
    assert doc["type"] == "Person" and doc["preferredUsername"] == username
    for key in ("inbox", "outbox", "followers", "following", "featured"):
        assert doc[key].startswith(doc["id"] + "/")
    assert doc["endpoints"]["sharedInbox"] == f"{node.url}/inbox"
    assert doc["publicKey"]["owner"] == doc["id"] and "BEGIN PUBLIC KEY" in doc["publicKey"]["publicKeyPem"]
    [method] = doc["assertionMethod"]
    assert method["type"] == "Multikey" and method["id"] == doc["id"] + "#ed25519-key"
    assert method["publicKeyMultibase"].startswith("z6Mk") and method["controller"] == doc["id"]
    assert doc["manuallyApprovesFollowers"] is False
    assert any(i["href"] == "https://datatracker.ietf.org/doc/html/rfc9421" for i in doc["implements"])
    # Browsers are sent to the profile page.
    page = requests.get(f"{node.url}/users/{username}", allow_redirects=False)
    assert page.status_code == 302 and page.headers["Location"].endswith(f"/@{username}")

    instance = requests.get(f"{node.url}/actor", headers=AP).json()
    assert instance["type"] == "Application" and instance["publicKey"]["id"] == f"{node.url}/actor#main-key"
    vocabulary = requests.get(f"{node.url}/ns").json()
    assert {"vitascope:remixOf", "vitascope:aiGenerated"} <= {t["@id"] for t in vocabulary["@graph"]}


def test_remote_follow_is_accepted_and_collections_page(node, node_b, pair):
    alice, bob, alice_on_b = pair
    assert relationship(bob, alice_on_b)["following"] is True
    me = alice.account_verify_credentials()
    follower = wait_for(lambda: alice.account_followers(me["id"]), what="follower on alpha")
    assert follower[0]["acct"] == acct(node_b, bob.vs_username)
    wait_for(lambda: any(n["type"] == "follow" for n in alice.notifications()), what="the notification")

    followers = requests.get(f"{node.url}/users/{alice.vs_username}/followers", headers=AP).json()
    assert followers["type"] == "OrderedCollection" and followers["totalItems"] == 1
    page = requests.get(followers["first"], headers=AP).json()
    assert page["type"] == "OrderedCollectionPage"
    assert page["orderedItems"] == [f"{node_b.url}/users/{bob.vs_username}"]
    following = requests.get(f"{node_b.url}/users/{bob.vs_username}/following?page=true", headers=AP).json()
    assert following["orderedItems"] == [f"{node.url}/users/{alice.vs_username}"]


def test_search_resolves_remote_accounts(node, node_b):
    carol, _ = node.create_user()
    bob = node_b.mastodon()
    found = bob.search_v2(f"@{carol}@{node.domain}", resolve=True)["accounts"]
    assert [a["acct"] for a in found] == [f"{carol}@{node.domain}"]
    by_url = bob.search_v2(f"{node.url}/users/{carol}", resolve=True)["accounts"]
    assert by_url[0]["acct"] == f"{carol}@{node.domain}"
    with pytest.raises(MastodonNotFoundError):
        bob.account_lookup(f"nobody_{uuid.uuid4().hex[:6]}@{node.domain}")


def test_locked_account_authorizes_and_rejects(node, node_b):
    dana = node.mastodon()
    dana.account_update_credentials(locked=True)
    bob, erin = node_b.mastodon(), node_b.mastodon()
    dana_on_b = remote_id(bob, acct(node, dana.vs_username))
    bob.account_follow(dana_on_b)
    erin.account_follow(remote_id(erin, acct(node, dana.vs_username)))
    requests_ = wait_for(lambda: len(dana.follow_requests()) == 2 and dana.follow_requests(), what="follow requests")
    assert relationship(bob, dana_on_b)["requested"] is True and relationship(bob, dana_on_b)["following"] is False
    by_name = {r["username"]: r["id"] for r in requests_}
    dana.follow_request_authorize(by_name[bob.vs_username])
    dana.follow_request_reject(by_name[erin.vs_username])
    wait_for(lambda: relationship(bob, dana_on_b)["following"], what="Accept after authorize")
    erin_view = remote_id(erin, acct(node, dana.vs_username))
    wait_for(lambda: not relationship(erin, erin_view)["requested"], what="Reject")
    assert relationship(erin, erin_view)["following"] is False


def test_post_reaches_remote_home_timeline(node, node_b, pair):
    alice, bob, _ = pair
    text = marker("hello #federation")
    status = alice.status_post(text)
    seen = wait_for(lambda: in_home(bob, status["uri"]), what="post on beta")
    assert text.split()[-1] in seen["content"] and seen["account"]["acct"] == acct(node, alice.vs_username)
    assert [t["name"] for t in seen["tags"]] == ["federation"]
    note = requests.get(status["uri"], headers=AP).json()
    assert note["type"] == "Note" and note["attributedTo"].endswith(f"/users/{alice.vs_username}")
    create = requests.get(status["uri"] + "/activity", headers=AP).json()
    assert create["type"] == "Create" and create["object"]["id"] == status["uri"]


def test_remote_post_is_streamed_to_followers_and_public(node, node_b, pair):
    """Processing a remote post streams it live to whoever listens (and only renders it for them)."""
    alice, bob, _ = pair
    user_events, remote_events = Listener(), Listener()
    handles = [bob.stream_user(user_events, run_async=True),
               bob.stream_public(remote_events, run_async=True, remote=True)]
    try:
        wait_subscribed(user_events, remote_events)
        status = alice.status_post(marker("live from alpha"))
        for events in (user_events, remote_events):
            streamed = wait_for(lambda: next((s for s in events.updates if s["uri"] == status["uri"]), None),
                                what="streamed remote post")
            assert streamed["account"]["acct"] == acct(node, alice.vs_username)
            assert streamed["content"] == in_home(bob, status["uri"])["content"]
    finally:
        for handle in handles:
            handle.close()


def _signed_ai_video(node, tmp_path: Path) -> Path:
    """A real MP4 signed with alpha's own C2PA identity, as its generation worker would."""
    from provenance.c2pa import VitascopeClaim, prompt_digest, sign_video
    from provenance.certificates import NodeIdentity
    from tests.support.media import make_mp4

    identity = NodeIdentity.load_or_create(node.directory / "data" / "identity", node.domain)
    source = make_mp4(tmp_path / "clip.mp4", seconds=1.0)
    claim = VitascopeClaim(model_name="tiny-test", model_version="0", weights_digest=None, test_model=True,
                           node=node.domain, job_id="federation-test", prompt_digest=prompt_digest("a test clip"))
    signed = tmp_path / "signed.mp4"
    sign_video(source, signed, identity, claim)
    return signed


def test_video_post_arrives_with_its_document(node, node_b, pair, tmp_path):
    alice, bob, _ = pair
    media = alice.media_post(str(_signed_ai_video(node, tmp_path)), mime_type="video/mp4")
    status = alice.status_post(marker("my clip"), media_ids=[media["id"]])
    note = requests.get(status["uri"], headers=AP).json()
    [document] = note["attachment"]
    assert document["type"] == "Document" and document["mediaType"] == "video/mp4"
    assert document["digestMultibase"].startswith("z") and document["duration"].startswith("PT")
    assert document["width"] == 64 and document["height"] == 112 and document["icon"]["url"]
    assert document["blurhash"]
    seen = wait_for(lambda: in_home(bob, status["uri"]), what="video post on beta")
    [attachment] = seen["media_attachments"]
    assert attachment["type"] == "video"
    # Beta fetched the file, checked it against digestMultibase and serves its own copy.
    assert attachment["url"].startswith(node_b.url + "/media/")
    assert attachment["meta"]["original"]["width"] == 64
    with requests.get(attachment["url"]) as fetched:
        assert fetched.status_code == 200 and fetched.content == requests.get(document["url"]).content


def test_like_comment_share_and_their_undo(node, node_b, pair):
    alice, bob, _ = pair
    status = alice.status_post(marker("react to me"))
    on_b = wait_for(lambda: in_home(bob, status["uri"]), what="post on beta")

    def counts():
        s = alice.status(status["id"])
        return s["favourites_count"], s["reblogs_count"], s["replies_count"]

    bob.status_favourite(on_b["id"])
    wait_for(lambda: counts()[0] == 1, what="remote like")
    wait_for(lambda: any(n["type"] == "favourite" and n["status"]["id"] == status["id"] for n in alice.notifications()), what="the notification")
    bob.status_unfavourite(on_b["id"])
    wait_for(lambda: counts()[0] == 0, what="undo of the like")

    bob.status_reblog(on_b["id"])
    wait_for(lambda: counts()[1] == 1, what="remote share")
    wait_for(lambda: any(n["type"] == "reblog" for n in alice.notifications()), what="the notification")
    bob.status_unreblog(on_b["id"])
    wait_for(lambda: counts()[1] == 0, what="undo of the share")

    comment = bob.status_post(marker("nice one"), in_reply_to_id=on_b["id"])
    wait_for(lambda: counts()[2] == 1, what="remote comment")
    [reply] = alice.status_context(status["id"])["descendants"]
    assert reply["uri"] == comment["uri"] and reply["in_reply_to_id"] == status["id"]
    wait_for(lambda: any(n["type"] == "mention" and n["status"]["uri"] == comment["uri"] for n in alice.notifications()), what="the notification")
    bob.status_delete(comment["id"])
    wait_for(lambda: counts()[2] == 0, what="deleted comment")
    assert alice.status_context(status["id"])["descendants"] == []


def test_delete_removes_the_post_everywhere(node, node_b, pair):
    alice, bob, _ = pair
    status = alice.status_post(marker("soon gone"))
    on_b = wait_for(lambda: in_home(bob, status["uri"]), what="post on beta")
    alice.status_delete(status["id"])
    wait_for(lambda: in_home(bob, status["uri"]) is None, what="delete on beta")
    with pytest.raises(MastodonNotFoundError):
        bob.status(on_b["id"])
    gone = requests.get(status["uri"], headers=AP)
    assert gone.status_code == 410 and gone.json()["type"] == "Tombstone"


def test_block_and_unblock(node, node_b):
    fred = node.mastodon()
    gina, hal = node_b.mastodon(), node_b.mastodon()
    fred_on_b = follow(gina, acct(node, fred.vs_username))
    follow(hal, acct(node, fred.vs_username))  # so fred's posts still reach beta: the witness below
    gina_on_a = remote_id(fred, acct(node_b, gina.vs_username))
    fred.account_block(gina_on_a)
    wait_for(lambda: relationship(gina, fred_on_b)["blocked_by"], what="Block on beta")
    assert relationship(gina, fred_on_b)["following"] is False
    hidden = fred.status_post(marker("not for gina"))
    wait_for(lambda: in_home(hal, hidden["uri"]), what="the post on beta, in hal's home")
    assert in_home(gina, hidden["uri"]) is None
    fred.account_unblock(gina_on_a)
    wait_for(lambda: not relationship(gina, fred_on_b)["blocked_by"], what="Undo Block on beta")


def test_actor_deletion_removes_their_content(node, node_b):
    hank = node.mastodon()
    ivy = node_b.mastodon()
    hank_on_b = follow(ivy, acct(node, hank.vs_username))
    status = hank.status_post(marker("last words"))
    wait_for(lambda: in_home(ivy, status["uri"]), what="post on beta")
    node.cli("delete-account", hank.vs_username)
    wait_for(lambda: in_home(ivy, status["uri"]) is None, what="actor deletion on beta")
    assert relationship(ivy, hank_on_b)["following"] is False
    assert requests.get(f"{node.url}/users/{hank.vs_username}", headers=AP).status_code == 410
