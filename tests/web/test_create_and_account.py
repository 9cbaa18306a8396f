"""Generating from the create page (live progress to done, then posting into the feed), and signing up,
logging out and logging in through the node's own OAuth pages."""

from __future__ import annotations

import requests

from tests.support.generation import post_video

# Every state and progress value the page shows, as the page renders it.
RECORD_PROGRESS = """() => {
  window.seen = [];
  new MutationObserver(() => {
    const state = document.querySelector('.job-state'), bar = document.querySelector('.job progress');
    if (state && bar) window.seen.push([state.dataset.state, bar.value, bar.max]);
  }).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
}"""


def test_generate_with_live_progress_then_post_into_the_feed(web_node, browser, screenshot):
    username, _ = web_node.create_user()
    page = browser(token=web_node.token(username))
    page.goto(web_node.url + "/#/create")
    page.locator(".quota").wait_for()
    quota_before = page.locator(".quota strong").first.inner_text()
    page.get_by_label("Prompt").fill("a paper boat on a rainy street")
    page.get_by_label("Duration (seconds)").fill("2")
    page.evaluate(RECORD_PROGRESS)
    page.get_by_role("button", name="Generate").click()
    page.wait_for_selector(".job-state[data-state=done]", timeout=120_000)
    seen = page.evaluate("window.seen")
    states = [state for state, _, _ in seen]
    assert states[0] in ("queued", "running") and states[-1] == "done", seen
    assert seen[-1][1] == seen[-1][2] > 0  # the bar ends full
    assert any(state != "done" and value < maximum for state, value, maximum in seen), seen
    page.locator(".create .preview").wait_for()
    page.wait_for_function("() => document.querySelector('.quota strong').textContent !== %r" % quota_before)
    screenshot(page, "create")

    page.get_by_label("Caption").fill("boats in the rain")
    page.get_by_role("button", name="Post").click()
    page.wait_for_url("**/#/s/*")
    page.locator(".status-page .caption").filter(has_text="boats in the rain").wait_for()
    screenshot(page, "video")

    # For You never ranks one's own videos: the author finds it under Following, a visitor in For You.
    page.goto(web_node.url + "/#/")
    page.get_by_role("tab", name="Following").click()
    page.locator(".slide .caption").filter(has_text="boats in the rain").first.wait_for()
    visitor = browser()
    visitor.goto(web_node.url + "/#/")
    visitor.locator(".slide .caption").filter(has_text="boats in the rain").first.wait_for()
    assert page.errors == [] and visitor.errors == []


def test_refusal_is_shown_with_its_reason(web_node, browser):
    username, _ = web_node.create_user()
    page = browser(token=web_node.token(username))
    page.goto(web_node.url + "/#/create")
    page.get_by_label("Prompt").fill("too long")
    page.get_by_label("Duration (seconds)").evaluate("input => input.removeAttribute('max')")
    page.get_by_label("Duration (seconds)").fill("30")
    page.get_by_role("button", name="Generate").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text().startswith("Refused: ") and "duration" in alert.inner_text().lower()


def test_sign_up_log_out_and_log_in(web_node, browser, screenshot):
    page = browser()
    page.goto(web_node.url + "/#/login")
    page.get_by_label("Username").fill("browserfan")
    page.get_by_label("E-mail").fill("browserfan@example.com")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_label("I accept the rules of this node").check()
    screenshot(page, "sign-up")
    page.get_by_role("button", name="Sign up").click()
    page.get_by_role("link", name="Profile").wait_for()
    token = page.evaluate("localStorage.getItem('vitascope.token')")
    me = requests.get(web_node.url + "/api/v1/accounts/verify_credentials", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == "browserfan"

    # Log out revokes the token on the server.
    page.goto(web_node.url + "/#/settings")
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("link", name="Log in").wait_for()
    assert requests.get(web_node.url + "/api/v1/accounts/verify_credentials",
                        headers={"Authorization": f"Bearer {token}"}).status_code == 401

    # Log in: the authorization code flow with PKCE through the node's own authorize page.
    page.get_by_role("link", name="Log in").click()
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/oauth/authorize**")
    page.get_by_label("Username or e-mail").fill("browserfan")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Log in and authorize").click()
    page.get_by_role("link", name="Profile").wait_for()
    assert "code=" not in page.url
    page.get_by_role("link", name="Profile").click()
    page.get_by_role("heading", name="browserfan").wait_for()
    assert page.errors == []


def test_remix_from_a_profile_video(web_node, browser, screenshot):
    author = web_node.mastodon()
    source = post_video(web_node, author, "a red kite over hills", "kites at noon")
    username, _ = web_node.create_user()
    page = browser(token=web_node.token(username))
    page.goto(f"{web_node.url}/#/@{author.vs_username}")
    page.locator(".counts").filter(has_text="Videos").wait_for()
    screenshot(page, "profile")
    page.get_by_role("img", name="a red kite over hills").click()  # the published prompt is the text alternative
    page.wait_for_url(f"**/#/s/{source['id']}")
    page.get_by_role("link", name="Remix").click()
    page.locator(".remixing").filter(has_text=f"@{author.vs_username}").wait_for()
    page.get_by_label("Prompt").fill("the same kite at night")
    page.get_by_label("Duration (seconds)").fill("2")
    page.get_by_role("button", name="Generate").click()
    page.wait_for_selector(".job-state[data-state=done]", timeout=120_000)
    page.get_by_label("Caption").fill("night kites")
    page.get_by_role("button", name="Post").click()
    page.wait_for_url("**/#/s/*")
    remix_id = page.url.rsplit("/", 1)[1]
    assert author.status(remix_id)["vitascope"]["remix_of_id"] == str(source["id"])
    page.locator(".provenance a").filter(has_text="Remix of").click()
    page.wait_for_url(f"**/#/s/{source['id']}")
    assert page.errors == []
