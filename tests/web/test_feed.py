"""The feed in a browser: one video at a time that plays by itself, moved through with keys and the wheel;
likes and comments made in the page that another client (Mastodon.py) then sees."""

from __future__ import annotations

import re
import time

import pytest

from tests.support.generation import post_video

ACTIVE_PLAYING = """() => {
  const feed = document.querySelector('.feed');  // none while the app is still signing in
  if (!feed) return null;
  const slides = [...document.querySelectorAll('.slide')];
  const top = feed.scrollTop;
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


def _poll(fetch, until, timeout: float = 30):
    """`fetch()` again until `until(result)` holds (or fail with the last result at the deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        result = fetch()
        if until(result) or time.monotonic() > deadline:
            assert until(result), result
            return result
        time.sleep(0.1)


def test_the_feed_feeds_the_ranking_back(web_node, feed_videos, browser):
    """The player reports watch time, "why" shows the ranking's reasons, "not interested" removes the video
    (from the page and from the node's ranking), and the steering words set in settings reach the node."""
    viewer, _ = web_node.create_user()
    token = web_node.token(viewer)
    api = web_node.api(token)
    page = browser(token=token)
    page.goto(web_node.url + "/")
    assert playing_index(page) == 0
    slides = page.locator(".slide")
    watched_id = slides.nth(0).get_attribute("data-id")

    def watch_time(status_id) -> float:
        response = api.get(f"/api/v1/vitascope/statuses/{status_id}/why")
        assert response.status_code == 200, response.text
        return {r["feature"]: r["value"] for r in response.json()["reasons"]}.get("watch_time", 0.0)

    # Leaving the first video reports how long it played: the node's watch time for it grows.
    before = watch_time(watched_id)
    page.keyboard.press("ArrowDown")
    page.wait_for_function(f"() => ({ACTIVE_PLAYING})() === '1'", timeout=30_000)
    _poll(lambda: watch_time(watched_id), lambda after: after > before)

    # "Why am I seeing this?" shows where the video came from and its strongest features.
    current = slides.nth(1)
    current.get_by_role("button", name="Why am I seeing this?").click()
    why = page.get_by_role("dialog", name="Why am I seeing this?")
    why.get_by_text("A recent public video on this node and the servers it follows.").wait_for()
    # Each feature is said in words, with its share of the score.
    reasons = why.locator(".reasons li").evaluate_all("lis => lis.map(li => [li.dataset.feature, li.innerText])")
    assert reasons and all(re.fullmatch(r"[A-Z][^_:]+ [+-]?\d+\.\d\d", text) and feature not in text
                           for feature, text in reasons), reasons
    assert dict(reasons).get("freshness", "Posted recently").startswith("Posted recently"), reasons
    why.get_by_role("button", name="Close").click()

    # "Not interested" takes the video out of the page and out of the viewer's ranking.
    dismissed_id = current.get_attribute("data-id")
    current.get_by_role("button", name="Not interested").click()
    page.locator(f'.slide[data-id="{dismissed_id}"]').wait_for(state="detached")
    _poll(lambda: api.get(f"/api/v1/vitascope/statuses/{dismissed_id}/why").json(), lambda w: not w["candidate"])
    ranked = api.get("/api/v1/vitascope/timelines/for_you", params={"limit": 40}).json()
    assert dismissed_id not in [s["id"] for s in ranked] and watched_id in [s["id"] for s in ranked]

    # Steering words typed in settings are the ones the ranking reads.
    page.goto(web_node.url + "/#/settings")
    page.get_by_label("More of").fill("storms and sunsets")
    page.get_by_label("Less of").fill("cats")
    page.locator(".feed-prefs").get_by_role("button", name="Save").click()
    page.locator(".feed-prefs").get_by_role("status").wait_for()
    prefs = api.get("/api/v1/vitascope/for_you/preferences").json()
    assert (prefs["more"], prefs["less"], prefs["personalized"]) == ("storms and sunsets", "cats", True)
    assert (prefs["more_words"], prefs["less_words"]) == (["storm", "sunset"], ["cat"])
    assert page.errors == []


def test_a_finger_swipes_to_the_next_video_and_why_speaks_french(web_node, feed_videos, browser):
    """Touch: a finger swiping up moves to the next video, which plays (the swipe is not taken for the tap that
    turns the sound on); the "why" sheet names the ranking's features in the viewer's language."""
    page = browser(locale="fr-FR")
    page.goto(web_node.url + "/")
    assert playing_index(page) == 0
    touch = page.context.new_cdp_session(page)

    def swipe(from_y: int, to_y: int) -> None:
        points = [from_y + (to_y - from_y) * step // 8 for step in range(9)]
        touch.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": 200, "y": points[0]}]})
        for y in points[1:]:
            touch.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": 200, "y": y}]})
        touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})

    swipe(650, 150)
    page.wait_for_function(f"() => ({ACTIVE_PLAYING})() === '1'", timeout=30_000)
    swipe(650, 150)
    page.wait_for_function(f"() => ({ACTIVE_PLAYING})() === '2'", timeout=30_000)
    swipe(150, 650)
    page.wait_for_function(f"() => ({ACTIVE_PLAYING})() === '1'", timeout=30_000)
    assert page.locator(".slide video").nth(1).evaluate("v => v.muted")  # swipes are not the first tap

    page.locator(".slide").nth(1).get_by_role("button", name="Pourquoi je vois ça ?").click()
    why = page.get_by_role("dialog", name="Pourquoi je vois ça ?")
    why.get_by_text("Une vidéo publique récente de ce nœud et des serveurs qu’il suit.").wait_for()
    reasons = dict(why.locator(".reasons li").evaluate_all("lis => lis.map(li => [li.dataset.feature, li.innerText])"))
    assert reasons and reasons.get("freshness", "Publiée récemment").startswith("Publiée récemment"), reasons
    assert page.errors == []
