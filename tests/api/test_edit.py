"""Editing posts through a real Mastodon.py client: PUT /api/v1/statuses/:id, /history, /source."""

from __future__ import annotations

import uuid

import pytest
from mastodon import MastodonAPIError, MastodonNotFoundError

from tests.api.test_provenance_trust import signed_clip
from tests.support.streams import Listener, wait_subscribed
from tests.support.waiting import wait_for


def marker(text: str) -> str:
    return f"{text} {uuid.uuid4().hex[:10]}"


def status_code(exc: pytest.ExceptionInfo) -> int:
    return exc.value.args[1]


def test_edit_keeps_history_and_source(node):
    client = node.mastodon()
    first = marker("first draft #before")
    status = client.status_post(first, language="en")
    assert status["edited_at"] is None
    assert [e["content"] for e in client.status_history(status["id"])] == [status["content"]]

    second = marker("second take #after")
    edited = client.status_update(status["id"], second, spoiler_text="a warning")
    assert second.split()[-1] in edited["content"] and "first" not in edited["content"]
    assert edited["spoiler_text"] == "a warning" and edited["sensitive"] is True
    assert [t["name"] for t in edited["tags"]] == ["after"]
    assert edited["edited_at"] is not None and edited["language"] == "en"
    assert edited["id"] == status["id"] and edited["uri"] == status["uri"]
    shown = client.status(status["id"])
    assert shown["content"] == edited["content"] and shown["edited_at"] == edited["edited_at"]

    source = client.status_source(status["id"])
    assert source == {"id": status["id"], "text": second, "spoiler_text": "a warning"}

    third = marker("third")
    client.status_update(status["id"], third)
    history = client.status_history(status["id"])
    assert [third.split()[-1] in history[2]["content"], second.split()[-1] in history[1]["content"]] == [True, True]
    assert history[0]["content"] == status["content"]
    assert [h["spoiler_text"] for h in history] == ["", "a warning", ""]
    assert [h["sensitive"] for h in history] == [False, True, False]
    assert history[0]["created_at"] == status["created_at"]
    assert history[0]["created_at"] < history[1]["created_at"] <= history[2]["created_at"]
    assert {h["account"]["id"] for h in history} == {status["account"]["id"]}
    assert all(h["media_attachments"] == [] and h["emojis"] == [] for h in history)
    assert client.status_source(status["id"])["text"] == third


def test_an_edit_that_changes_nothing_records_nothing(node):
    client = node.mastodon()
    text = marker("unchanged")
    status = client.status_post(text)
    same = client.status_update(status["id"], text)
    assert same["edited_at"] is None
    assert len(client.status_history(status["id"])) == 1


def test_video_post_keeps_or_removes_its_media(node, tmp_path):
    client = node.mastodon()
    _, clip = signed_clip(node, tmp_path)
    media = client.media_post(str(clip), mime_type="video/mp4", description="a cat surfing")
    status = client.status_post(marker("my clip"), media_ids=[media["id"]])

    # Mastodon.py fills media_ids from media_attributes (given both, it fails on its own).
    kept = client.status_update(status["id"], marker("my clip, retitled"), media_attributes=[
        client.generate_media_edit_attributes(media["id"], description="a cat on a wave")])
    [attachment] = kept["media_attachments"]
    assert attachment["id"] == media["id"] and attachment["description"] == "a cat on a wave"
    assert attachment["provenance"]["verified"] is True and attachment["provenance"]["ai_generated"] is True
    assert attachment["provenance"]["manifest_id"] == media["provenance"]["manifest_id"]

    api = node.api(client.access_token)
    thumbnail = api.put(f"/api/v1/statuses/{status['id']}", json={
        "status": "x", "media_ids": [media["id"]], "media_attributes": [{"id": media["id"], "thumbnail": "data:,"}]})
    assert thumbnail.status_code == 422 and "thumbnail" in thumbnail.json()["error"]
    assert len(client.status_history(status["id"])) == 2

    removed = client.status_update(status["id"], marker("now only words"))  # media_ids left out, as Mastodon
    assert removed["media_attachments"] == []
    history = client.status_history(status["id"])
    assert ([[m["description"] for m in h["media_attachments"]] for h in history]
            == [["a cat surfing"], ["a cat on a wave"], []])
    assert history[0]["media_attachments"][0]["id"] == media["id"]

    # A video that left the post can be attached again (it is still the author's verified upload).
    back = client.status_update(status["id"], marker("clip is back"), media_ids=[media["id"]])
    assert [m["id"] for m in back["media_attachments"]] == [media["id"]]


def test_only_the_author_can_edit(node):
    alice, bob = node.mastodon(), node.mastodon()
    status = alice.status_post(marker("mine"))
    with pytest.raises(MastodonNotFoundError):
        bob.status_update(status["id"], "hijacked")
    assert alice.status(status["id"])["content"] == status["content"]
    assert alice.status(status["id"])["edited_at"] is None
    # Reading the history and source is for whoever can see the post, as on Mastodon.
    assert len(bob.status_history(status["id"])) == 1
    assert bob.status_source(status["id"])["text"] == alice.status_source(status["id"])["text"]
    hidden = alice.status_post(marker("only for followers"), visibility="private")
    for call in (lambda: bob.status_history(hidden["id"]), lambda: bob.status_source(hidden["id"]),
                 lambda: bob.status_update(hidden["id"], "x")):
        with pytest.raises(MastodonNotFoundError):
            call()
    with pytest.raises(MastodonNotFoundError):
        alice.status_update("99999999999", "no such post")


def test_bad_edits_change_nothing(node, tmp_path):
    alice, bob = node.mastodon(), node.mastodon()
    status = alice.status_post(marker("stable"))
    _, clip = signed_clip(node, tmp_path)
    bobs_media = bob.media_post(str(clip), mime_type="video/mp4")

    def refused(call, fragment: str) -> None:
        with pytest.raises(MastodonAPIError) as exc:
            call()
        assert status_code(exc) == 422 and fragment in str(exc.value)

    refused(lambda: alice.status_update(status["id"], "   "), "blank")
    refused(lambda: alice.status_update(status["id"], "with a ghost", media_ids=["987654321987"]), "not found")
    refused(lambda: alice.status_update(status["id"], "with bob's clip", media_ids=[bobs_media["id"]]), "not found")
    refused(lambda: alice.status_update(status["id"], "x" * 600), "too long")
    api = node.api(alice.access_token)
    poll = api.put(f"/api/v1/statuses/{status['id']}",
                   json={"status": "now a poll", "poll": {"options": ["a", "b"], "expires_in": 3600}})
    assert poll.status_code == 422 and "poll" in poll.json()["error"]
    malformed = api.put(f"/api/v1/statuses/{status['id']}", json={"status": "x", "media_ids": [],
                                                                  "media_attributes": "nope"})
    assert malformed.status_code == 422

    after = alice.status(status["id"])
    assert after["content"] == status["content"] and after["edited_at"] is None
    assert len(alice.status_history(status["id"])) == 1
    assert bob.media(bobs_media["id"]) is not None  # still unattached: bob can post it
    assert bob.status_post("bob's own", media_ids=[bobs_media["id"]])["media_attachments"][0]["id"] == bobs_media["id"]


def test_edit_is_streamed_as_status_update(node):
    alice = node.mastodon()
    follower = node.mastodon()
    follower.account_follow(alice.account_verify_credentials()["id"])
    status = alice.status_post(marker("live"))
    home, public = Listener(), Listener()
    handles = [follower.stream_user(home, run_async=True), follower.stream_public(public, run_async=True)]
    try:
        wait_subscribed(home, public)
        new_text = marker("live, edited")
        alice.status_update(status["id"], new_text)
        for events in (home, public):
            [event] = wait_for(lambda: [s for s in events.status_updates if s["id"] == status["id"]],
                               what="the edit on the stream")
            assert new_text.split()[-1] in event["content"] and event["edited_at"] is not None
    finally:
        for handle in handles:
            handle.close()
