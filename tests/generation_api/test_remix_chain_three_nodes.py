"""Issue 5's remix of a remix across three nodes: each hop verifies its parent before remixing,
every receiving node verifies the whole chain, and `vitascope verify` prints it."""

from __future__ import annotations

import json

import pytest

from provenance.c2pa import verify_video
from tests.federation.test_two_nodes import acct, follow, in_home
from tests.support.downloads import download, node_cas
from tests.support.generation import make_video
from tests.support.waiting import wait_for


@pytest.fixture(scope="module")
def three_nodes(nodes, tiny_models):
    trio = [nodes("chain-a"), nodes("chain-b"), nodes("chain-c")]
    workers = [n.start_worker(models=tiny_models) for n in trio]
    yield trio
    for worker in workers:
        worker.stop()


def test_remix_of_a_remix_verifies_at_every_hop(three_nodes, tmp_path):
    a, b, c = three_nodes
    alice, bob, carol = a.mastodon(), b.mastodon(), c.mastodon()
    follow(bob, acct(a, alice.vs_username))
    follow(carol, acct(b, bob.vs_username))

    original = make_video(a, alice, "a paper boat on a river", duration=1)
    first = alice.status_post("original", media_ids=[original["media_attachment"]["id"]])
    on_b = wait_for(lambda: in_home(bob, first["uri"]), timeout=60, what="the original on beta")
    assert on_b["media_attachments"][0]["provenance"]["verified"]

    remix = make_video(b, bob, "a paper boat on a river, in the rain", duration=1, remix_of_id=on_b["id"])
    second = bob.status_post("rainy remix", media_ids=[remix["media_attachment"]["id"]])
    on_c = wait_for(lambda: in_home(carol, second["uri"]), timeout=60, what="the remix on gamma")
    prov = on_c["media_attachments"][0]["provenance"]
    # Gamma never saw alpha, yet verifies alpha's ancestor: it pinned the CA of every node the chain names.
    assert prov["verified"] and prov["node"] == b.domain
    assert [hop["node"] for hop in prov["remix_chain"]] == [a.domain]

    remix2 = make_video(c, carol, "a paper boat in the rain, at dusk", duration=1, remix_of_id=on_c["id"])
    chain = remix2["media_attachment"]["provenance"]["remix_chain"]
    assert [hop["node"] for hop in chain] == [b.domain, a.domain]
    assert all(hop["verified"] for hop in chain)
    third = carol.status_post("dusk remix of the remix", media_ids=[remix2["media_attachment"]["id"]])
    assert third["vitascope"]["remix_of_id"] == on_c["id"]

    # The file verifies with the three nodes' published CAs, and only with all of them.
    path = download(third["media_attachments"][0]["url"], tmp_path / "third.mp4")
    verdict = verify_video(path, node_cas(a) + node_cas(b) + node_cas(c))
    assert verdict.ok and len(verdict.chain) == 2
    assert not verify_video(path, node_cas(b) + node_cas(c)).ok

    # `vitascope verify` on gamma prints the verdict and the whole chain.
    printed = c.cli("verify", str(path))
    assert printed.returncode == 0
    for domain in (a.domain, b.domain, c.domain):
        assert domain in printed.stdout
    as_json = json.loads(c.cli("verify", "--json", str(path)).stdout)
    assert [hop["node"] for hop in as_json["remix_chain"]] == [b.domain, a.domain]

    # Bob, author of the middle hop, is notified on beta.
    wait_for(lambda: any(n["type"] == "remix" for n in bob.notifications()), timeout=60, what="remix notification on beta")
