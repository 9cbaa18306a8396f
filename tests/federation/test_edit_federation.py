"""An edit on one node reaches the other as Update{Note}, with its history, through Mastodon.py."""

from __future__ import annotations

import pytest
import requests

from tests.api.test_provenance_trust import signed_clip
from tests.federation.test_two_nodes import AP, acct, follow, in_home, marker
from tests.support.waiting import wait_for


@pytest.fixture(scope="module")
def editor_and_reader(node, node_b):
    """alice on alpha, followed by bob on beta."""
    alice = node.mastodon()
    bob = node_b.mastodon()
    follow(bob, acct(node, alice.vs_username))
    return alice, bob


def test_edit_reaches_followers_with_history(node, node_b, editor_and_reader):
    alice, bob = editor_and_reader
    status = alice.status_post(marker("before the edit #old"))
    on_b = wait_for(lambda: in_home(bob, status["uri"]), what="post on beta")
    assert on_b["edited_at"] is None

    new_text = marker("after the edit #new")
    edited = alice.status_update(status["id"], new_text, spoiler_text="spoilers")
    note = requests.get(status["uri"], headers=AP).json()
    assert note["updated"] and new_text.split()[-1] in note["content"] and note["summary"] == "spoilers"

    def edited_on_b():
        s = bob.status(on_b["id"])
        return s if s["edited_at"] else None

    seen = wait_for(edited_on_b, what="edit on beta")
    assert new_text.split()[-1] in seen["content"] and "before" not in seen["content"]
    assert seen["spoiler_text"] == "spoilers" and seen["sensitive"] is True
    assert [t["name"] for t in seen["tags"]] == ["new"]
    # The wire carries whole seconds.
    assert seen["edited_at"] == edited["edited_at"].replace(microsecond=0)
    history = bob.status_history(on_b["id"])
    assert [h["content"] for h in history] == [on_b["content"], seen["content"]]
    assert [h["spoiler_text"] for h in history] == ["", "spoilers"]
    assert {h["account"]["acct"] for h in history} == {acct(node, alice.vs_username)}
    assert bob.status_source(on_b["id"])["text"] == seen["content"]  # remote posts have no source


def test_removing_the_video_reaches_the_other_node(node, node_b, editor_and_reader, tmp_path):
    alice, bob = editor_and_reader
    _, clip = signed_clip(node, tmp_path)
    media = alice.media_post(str(clip), mime_type="video/mp4")
    status = alice.status_post(marker("clip to trim"), media_ids=[media["id"]])
    on_b = wait_for(lambda: in_home(bob, status["uri"]), what="video post on beta")
    [video_on_b] = on_b["media_attachments"]

    alice.status_update(status["id"], marker("words only now"))
    seen = wait_for(lambda: (s := bob.status(on_b["id"]))["edited_at"] and s, what="edit on beta")
    assert seen["media_attachments"] == []
    history = bob.status_history(on_b["id"])
    assert [[m["id"] for m in h["media_attachments"]] for h in history] == [[video_on_b["id"]], []]
