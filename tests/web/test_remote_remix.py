"""Remixing a video from another node in the browser: the viewer on node A finds B's video in the Following feed,
remixes it with the tiny model and posts; A's post is a remix of B's video and B's node hears of it."""

from __future__ import annotations

import pytest

from tests.federation.test_two_nodes import acct, follow, in_home
from tests.support.generation import post_video
from tests.support.waiting import wait_for


@pytest.fixture(scope="module")
def remote_node(nodes, tiny_models):
    """A second node with its own worker, where the remixed video is made."""
    node = nodes("web-remote")
    worker = node.start_worker(models=tiny_models)
    yield node
    worker.stop()


def test_remixing_a_remote_video(web_node, remote_node, browser):
    author, viewer = remote_node.mastodon(), web_node.mastodon()
    follow(viewer, acct(remote_node, author.vs_username))
    source = post_video(remote_node, author, "a lighthouse in fog", "foghorn morning")
    seen = wait_for(lambda: in_home(viewer, source["uri"]), timeout=60, what="the remote video on node A")

    page = browser(token=viewer.access_token)
    page.goto(f"{web_node.url}/#/")
    page.get_by_role("tab", name="Following").click()
    slide = page.locator(f".slide[data-id='{seen['id']}']")
    slide.locator(".caption").filter(has_text="foghorn morning").wait_for()
    slide.get_by_role("link", name="Remix").click()
    page.wait_for_url(f"**/#/create?remix={seen['id']}")
    page.locator(".remixing").filter(has_text=f"@{acct(remote_node, author.vs_username)}").wait_for()
    page.get_by_label("Prompt").fill("the same lighthouse at dusk")
    page.get_by_label("Duration (seconds)").fill("1")
    page.get_by_role("button", name="Generate").click()
    page.wait_for_selector(".job-state[data-state=done]", timeout=120_000)
    page.get_by_label("Caption").fill("dusk light")
    page.get_by_role("button", name="Post").click()
    page.wait_for_url("**/#/s/*")
    remix_id = page.url.rsplit("/", 1)[1]
    assert page.errors == []

    # On A: the post is a remix of B's video, and its signed chain names B's manifest.
    remix = viewer.status(remix_id)
    assert remix["vitascope"]["remix_of_id"] == seen["id"]
    [media] = remix["media_attachments"]
    assert media["provenance"]["verified"]
    [ingredient] = media["provenance"]["remix_chain"]
    assert ingredient["node"] == remote_node.domain
    assert ingredient["manifest_id"] == seen["media_attachments"][0]["provenance"]["manifest_id"]

    # On B: the author is notified of the remix from A, and the video counts it.
    note = wait_for(lambda: next((n for n in author.notifications() if n["type"] == "remix"), None), timeout=60,
                    what="the remix notification on node B")
    assert note["account"]["acct"] == acct(web_node, viewer.vs_username)
    assert note["status"]["uri"] == remix["uri"]
    wait_for(lambda: author.status(source["id"])["vitascope"]["remixes_count"] == 1, what="the remix count on node B")
