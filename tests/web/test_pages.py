"""The app's shell and its other screens: strict CSP, live notifications, French, profile grid and search."""

from __future__ import annotations

import requests


def test_every_web_page_has_a_strict_csp_and_the_app_is_served_offline(web_node):
    alice = web_node.mastodon()
    post = alice.status_post("a page")
    for path in ("/", f"/@{alice.vs_username}", f"/@{alice.vs_username}/{post['id']}", "/@nobody_here"):
        csp = requests.get(web_node.url + path).headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "script-src 'self'" in csp, (path, csp)
    shell = requests.get(web_node.url + "/").text
    assert 'src="/static/app/app.js?v=' in shell and "<script>" not in shell and "http" not in shell
    bundle = requests.get(web_node.url + "/static/app/app.js")
    assert bundle.status_code == 200 and "javascript" in bundle.headers["Content-Type"]


def test_notifications_arrive_live_in_french(web_node, browser, screenshot):
    username, _ = web_node.create_user()
    fan = web_node.mastodon()
    page = browser(token=web_node.token(username), locale="fr-FR")
    page.goto(web_node.url + "/#/notifications")
    page.get_by_role("heading", name="Notifications").wait_for()
    page.get_by_text("Pas encore de notification.").wait_for()
    fan.account_follow(fan.account_lookup(username)["id"])
    page.locator(".notifications li").filter(has_text=f"@{fan.vs_username} vous suit").wait_for()
    screenshot(page, "notifications-fr")
    page.goto(web_node.url + "/#/")
    page.get_by_role("tab", name="Pour toi").wait_for()

    # The switch in settings overrides the browser's language.
    page.goto(web_node.url + "/#/settings")
    page.get_by_label("Langue").select_option("en")
    page.get_by_role("link", name="Notifications").wait_for()
    page.get_by_role("button", name="Log out").wait_for()
    assert page.errors == []


def test_search_finds_a_profile_with_its_counts(web_node, browser):
    alice = web_node.mastodon()
    alice.account_update_credentials(display_name="Searchable Alice")
    page = browser()
    page.goto(web_node.url + "/#/search")
    page.get_by_label("Search").fill(alice.vs_username)
    page.get_by_label("Search").press("Enter")
    page.get_by_role("link", name=f"Searchable Alice @{alice.vs_username}").click()
    page.get_by_role("heading", name="Searchable Alice").wait_for()
    assert page.locator(".counts").inner_text().split() == ["Videos", "0", "Followers", "0", "Following", "0"]
    assert page.errors == []
