"""Generated videos across two nodes: a follower on another node sees the post, and a remix of a
remote video verifies its parent, links it, and notifies its author on the parent's node."""

from __future__ import annotations

import pytest

from provenance.c2pa import verify_video
from tests.federation.test_two_nodes import acct, follow, in_home
from tests.support.downloads import download, node_cas
from tests.support.generation import make_video
from tests.support.waiting import wait_for


@pytest.fixture(scope="module")
def two_nodes(nodes, tiny_models):
    a, b = nodes("genfed-a"), nodes("genfed-b")
    workers = [a.start_worker(models=tiny_models), b.start_worker(models=tiny_models)]
    yield a, b
    for worker in workers:
        worker.stop()


def test_a_generated_video_reaches_a_follower_on_another_node_and_is_remixed_there(two_nodes, tmp_path):
    a, b = two_nodes
    alice, bob = a.mastodon(), b.mastodon()
    follow(bob, acct(a, alice.vs_username))

    job = make_video(a, alice, "a heron taking off", duration=2)
    status = alice.status_post("made on alpha", media_ids=[job["media_attachment"]["id"]])
    seen = wait_for(lambda: in_home(bob, status["uri"]), timeout=60, what="the video post on beta")
    [attachment] = seen["media_attachments"]
    assert attachment["provenance"]["verified"] and attachment["provenance"]["test_model"]
    assert attachment["provenance"]["node"] == a.domain
    verdict = verify_video(download(attachment["url"], tmp_path / "on-beta.mp4"), node_cas(a))
    assert verdict.ok and verdict.claim["job_id"] == job["id"]

    remix_job = make_video(b, bob, "a heron taking off, at night", duration=1, remix_of_id=seen["id"])
    assert remix_job["remix_of_uri"] == status["uri"]
    chain = remix_job["media_attachment"]["provenance"]["remix_chain"]
    assert [(c["manifest_id"], c["node"]) for c in chain] == [(verdict.manifest_id, a.domain)]
    remix = bob.status_post("night version", media_ids=[remix_job["media_attachment"]["id"]])
    assert remix["vitascope"]["remix_of_id"] == seen["id"]

    # Alpha hears of it: its author is notified, and its post counts the remix.
    note = wait_for(lambda: next((n for n in alice.notifications() if n["type"] == "remix"), None), timeout=60,
                    what="the remix notification on alpha")
    assert note["account"]["acct"] == acct(b, bob.vs_username)
    assert wait_for(lambda: alice.status(status["id"])["vitascope"]["remixes_count"] == 1, what="remix count")
    [remix_media] = note["status"]["media_attachments"]
    assert remix_media["provenance"]["verified"] and len(remix_media["provenance"]["remix_chain"]) == 1
    remix_file = download(remix_media["url"], tmp_path / "remix-on-alpha.mp4")
    remix_verdict = verify_video(remix_file, node_cas(a) + node_cas(b))
    assert remix_verdict.ok and [c["manifest_id"] for c in remix_verdict.chain] == [verdict.manifest_id]
