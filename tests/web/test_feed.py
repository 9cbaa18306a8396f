"""The feed in a browser: one video at a time that plays by itself, moved through with keys and the wheel;
likes and comments made in the page that another client (Mastodon.py) then sees."""

from __future__ import annotations

import pytest

from tests.web.conftest import post_video

ACTIVE_PLAYING = """() => {
  const slides = [...document.querySelectorAll('.slide')];
  const top = document.querySelector('.feed').scrollTop;
  const shown = slides.find(s => Math.abs(s.offsetTop - top) < 4);
  const v = shown && shown.querySelector('video');
  return v && !v.paused && v.currentTime > 0 && v.readyState >= 2 ? shown.dataset.index : null;
}"""


@pytest.fixture(scope="module")
def feed_videos(web_node):
    """Four public videos by one author, newest first in the feed."""
    author = web_node.mastodon()
    posted = [post_video(web_node, author, f"scene number {n}", f"clip {n} of the feed") for n in range(4)]
    author.vs_posted = posted
    return author


def playing_index(page) -> int:
    return int(page.wait_for_function(ACTIVE_PLAYING, timeout=30_000).json_value())


def test_swiping_through_videos_that_play_by_themselves(web_node, feed_videos, browser, screenshot):
    page = browser()
    page.goto(web_node.url + "/")
    assert playing_index(page) == 0  # autoplay (muted) without any gesture
    first = page.locator(".slide video").first
    assert first.evaluate("v => v.muted && v.loop")
    screenshot(page, "feed")

    page.keyboard.press("ArrowDown")
    page.wait_for_function(f"() => ({ACTIVE_PLAYING})() === '1'", timeout=30_000)
    assert first.evaluate("v => v.paused")  # only the video on screen plays
    # The next videos are preloaded, those further on are not fetched yet.
    preloads = page.locator(".slide video").evaluate_all("vs => vs.map(v => v.preload)")
    assert preloads[:4] == ["auto", "auto", "auto", "auto"]

    page.mouse.move(200, 400)
    page.mouse.wheel(0, 844)
    page.wait_for_function(f"() => ({ACTIVE_PLAYING})() === '2'", timeout=30_000)
    page.keyboard.press("ArrowUp")
    page.wait_for_function(f"() => ({ACTIVE_PLAYING})() === '1'", timeout=30_000)

    # The first tap turns the sound on; `m` mutes again.
    page.locator(".slide").nth(1).locator(".player").tap()
    page.wait_for_function("() => !document.querySelectorAll('.slide video')[1].muted")
    page.keyboard.press("m")
    page.wait_for_function("() => document.querySelectorAll('.slide video')[1].muted")

    # The AI mark comes from the video's verified provenance.
    assert f"verified by {web_node.domain}" in page.locator(".slide").nth(1).locator(".provenance").inner_text()
    assert page.errors == []


def test_like_and_comment_that_another_client_sees(web_node, feed_videos, browser, screenshot):
    viewer, _ = web_node.create_user()
    page = browser(token=web_node.token(viewer))
    page.goto(web_node.url + "/")
    playing_index(page)
    newest = feed_videos.vs_posted[-1]
    slide = page.locator(".slide").filter(has=page.locator(".caption", has_text="clip 3 of the feed"))
    slide.scroll_into_view_if_needed()

    slide.get_by_role("button", name="Like").click()
    slide.locator(".liked").wait_for()
    slide.get_by_role("button", name="Comments").click()
    sheet = page.get_by_role("dialog", name="Comments")
    sheet.get_by_label("Add a comment").fill("what a storm")
    sheet.get_by_role("button", name="Send").click()
    sheet.locator(".comment-list li").filter(has_text="what a storm").wait_for()
    screenshot(page, "comments")

    # Another client (Mastodon.py, the author's) sees both.
    assert feed_videos.status(newest["id"])["favourites_count"] == 1
    replies = feed_videos.status_context(newest["id"])["descendants"]
    assert [(r["account"]["acct"], r["content"]) for r in replies] == [(viewer, "<p>what a storm</p>")]
    favourited = feed_videos.status_favourited_by(newest["id"])
    assert [a["acct"] for a in favourited] == [viewer]
    assert page.errors == []


def test_a_teens_feed_ends_calmly_at_the_guardians_daily_limit(web_node, feed_videos, browser, screenshot):
    guardian, teen = web_node.mastodon(), web_node.mastodon()
    guardian_api, teen_api = web_node.api(guardian.access_token), web_node.api(teen.access_token)
    teen_id = teen.me()["id"]
    request = guardian_api.post("/api/v1/vitascope/guardian_requests", json={"teen_id": teen_id})
    assert teen_api.post(f"/api/v1/vitascope/guardian_requests/{request.json()['id']}/accept").status_code == 200
    limited = guardian_api.patch(f"/api/v1/vitascope/wards/{teen_id}", json={"daily_feed_videos": 2})
    assert limited.status_code == 200, limited.text

    page = browser(token=teen.access_token)
    page.goto(web_node.url + "/")
    end = page.get_by_role("heading", name="That’s all for today")
    end.wait_for()
    assert page.locator(".slide video").count() == 2
    page.keyboard.press("ArrowDown")
    page.wait_for_function(f"() => ({ACTIVE_PLAYING})() === '1'", timeout=30_000)
    page.keyboard.press("ArrowDown")
    page.wait_for_function("() => Math.abs(document.querySelector('.day-end').offsetTop - document.querySelector('.feed').scrollTop) < 4")
    screenshot(page, "daily-limit")
    assert page.errors == []
