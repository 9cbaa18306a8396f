"""Settings screens on top of the node's own APIs: parental controls (docs/parental-controls.md)."""

from __future__ import annotations


def test_a_guardian_links_a_teen_and_sets_the_controls_in_the_browser(web_node, browser, screenshot):
    guardian, teen = web_node.mastodon(), web_node.mastodon()
    teen_acct, teen_id = teen.me()["acct"], teen.me()["id"]

    # The guardian asks from its settings…
    guardian_page = browser(token=guardian.access_token)
    guardian_page.goto(web_node.url + "/#/settings")
    guardian_page.get_by_label("Be the guardian of (username)").fill(teen_acct)
    guardian_page.get_by_role("button", name="Send the request").click()
    guardian_page.locator(".request").filter(has_text=f"Waiting for an answer from @{teen_acct}").wait_for()

    # …the teen accepts in French from its own, and then sees its strict defaults.
    teen_page = browser(token=teen.access_token, locale="fr-FR")
    teen_page.goto(web_node.url + "/#/settings")
    teen_page.locator(".request").filter(has_text="Veut devenir votre responsable").get_by_role(
        "button", name="Accepter").click()
    teen_page.get_by_text(f"Votre responsable : @{guardian.me()['acct']}").wait_for()
    assert "Personne" in teen_page.locator(".controls").inner_text()  # cameo: nobody by default

    # The guardian's form for the teen changes what the node enforces.
    guardian_page.reload()
    form = guardian_page.get_by_role("form", name=f"Controls of @{teen_acct}")
    form.get_by_label("Feed videos per day (empty: no limit)").fill("5")
    form.get_by_label("Direct messages from").select_option("nobody")
    form.get_by_role("button", name="Save").click()
    form.get_by_role("status").wait_for()
    screenshot(guardian_page, "parental-controls")
    controls = web_node.api(guardian.access_token).get(f"/api/v1/vitascope/wards/{teen_id}").json()["controls"]
    assert (controls["daily_feed_videos"], controls["direct_messages"], controls["personalisation"]) == (5, "nobody", False)
    own = web_node.api(teen.access_token).get("/api/v1/vitascope/parental_controls").json()
    assert own["controls"]["daily_feed_videos"] == 5
    assert guardian_page.errors == [] and teen_page.errors == []
