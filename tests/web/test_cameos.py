"""The cameo screens in settings (docs/cameos.md), in a real browser: a person records their cameo with the
camera (Chromium's fake capture device films a drawn face speaking), a moderator approves it, the owner sets
its policy, approves another user's request and revokes that user."""

from __future__ import annotations

import re

import requests

from tests.support.captures import fake_camera, make_capture
from tests.support.waiting import wait_for


def test_a_person_records_a_cameo_sets_its_policy_approves_a_request_and_revokes(web_node, browser, screenshot, tmp_path):
    owner, creator, stranger = web_node.mastodon(), web_node.mastodon(), web_node.mastodon()
    owner_api, creator_api = web_node.api(owner.access_token), web_node.api(creator.access_token)
    handle = f"{owner.me()['acct']}_cam"
    page = browser(token=owner.access_token, args=tuple(fake_camera(tmp_path)))
    page.goto(web_node.url + "/#/settings")

    # Create: kind, name, handle, the challenge phrase, then a 4 s recording from the camera.
    form = page.get_by_role("form", name="New cameo")
    form.get_by_label("Name").fill("Me on camera")
    form.get_by_label("Handle (@ tag, letters, digits, _)").fill(handle)
    form.get_by_role("button", name="Get my phrase").click()
    phrase = form.locator(".phrase strong").inner_text()
    assert len(phrase.split()) == 4
    form.get_by_role("button", name="Open the camera").click()
    form.get_by_role("button", name="Record").click()
    form.get_by_role("timer").filter(has_text=re.compile(r"● [4-9] / 10 s")).wait_for(timeout=30_000)
    form.get_by_role("button", name="Stop").click()
    form.get_by_role("status").filter(has_text="Recorded:").wait_for()
    form.locator(".phrase").scroll_into_view_if_needed()
    screenshot(page, "cameo-record")
    form.get_by_role("button", name="Create the cameo").click()

    # The worker checks the capture; a person's capture waits for a moderator to hear the phrase.
    card = page.get_by_role("article", name=f"Cameo @{handle}")
    state = card.locator(".cameo-state")
    state.filter(has_text=re.compile("Waiting for a moderator|Rejected")).wait_for(timeout=180_000)
    [cameo] = owner_api.get("/api/v1/vitascope/cameos").json()
    assert cameo["state"] == "needs_review", cameo
    admin = web_node.api(web_node.admin_mastodon().access_token)
    queued = admin.get("/api/v1/admin/vitascope/cameos").json()
    assert [c["challenge_phrase"] for c in queued if c["id"] == cameo["id"]] == [phrase]
    assert admin.post(f"/api/v1/admin/vitascope/cameos/{cameo['id']}/approve").status_code == 200
    page.reload()
    state.filter(has_text="Verified").wait_for()

    # Policy: approve each video, a restriction, a person never allowed, an end date.
    policy = card.get_by_role("form", name=f"Who may use it @{handle}")
    policy.get_by_label("Policy").select_option("approve")
    policy.get_by_label("Restrictions").fill("never in political content")
    policy.get_by_label("Never allowed: add someone").fill(f"@{stranger.me()['acct']}")
    policy.get_by_role("button", name="Add: Never allowed").click()
    policy.locator(".people li").filter(has_text=f"@{stranger.me()['acct']}").wait_for()
    policy.get_by_label("Permission ends (empty: never)").fill("2030-01-01T12:00")
    policy.get_by_role("button", name="Save").click()
    policy.get_by_role("status").wait_for()
    saved = owner_api.get(f"/api/v1/vitascope/cameos/{cameo['id']}").json()
    assert (saved["policy"], saved["restrictions"], saved["deny"], saved["expires_at"][:10]) == (
        "approve", "never in political content", [str(stranger.me()["id"])], "2030-01-01")

    # Another user tags the cameo from the create page (autocomplete offers it, marked as asking its owner);
    # the video waits for the owner, who approves it from the page.
    creating = browser(token=creator.access_token)
    creating.goto(web_node.url + "/#/create")
    creating.get_by_label("Prompt").fill("a surfer: @" + handle[:5])
    creating.get_by_label("Cameos you may tag").get_by_role("button", name=f"@{handle}").filter(
        has_text="asks its owner").click()
    assert creating.get_by_label("Prompt").input_value() == f"a surfer: @{handle} "
    creating.get_by_label("Prompt").press_sequentially("riding a wave")
    creating.get_by_label("Duration (seconds)").fill("1")
    creating.get_by_role("button", name="Generate").click()
    creating.locator(".job-state").filter(has_text="Waiting for the cameo owner").wait_for()
    [job] = creator_api.get("/api/v1/vitascope/generations").json()
    assert (job["state"], job["prompt"]) == ("awaiting_consent", f"a surfer: @{handle} riding a wave"), job
    page.reload()
    request = page.get_by_role("region", name="Requests to approve").locator(".request")
    request.filter(has_text=f"@{creator.me()['acct']} wants to use @{handle}").wait_for()
    request.get_by_role("button", name="Approve").click()
    request.wait_for(state="detached")
    assert creator_api.get(f"/api/v1/vitascope/generations/{job['id']}").json()["state"] != "awaiting_consent"
    uses = page.get_by_role("region", name=f"Videos of me @{handle}")
    use = uses.locator(".use").filter(has_text=f"@{creator.me()['acct']}")
    use.locator(".use-state").filter(has_text="allowed").wait_for()
    card.locator("h3").first.scroll_into_view_if_needed()
    screenshot(page, "cameos")

    # Revoke that person: the grant's URL answers 410 and they join the never-allowed list.
    [granted] = owner_api.get(f"/api/v1/vitascope/cameos/{cameo['id']}/uses").json()
    assert requests.get(granted["grant_url"], timeout=30).status_code == 200
    use.get_by_role("button", name=f"Revoke @{creator.me()['acct']}").click()
    use.locator(".use-state").filter(has_text="revoked").wait_for()
    assert requests.get(granted["grant_url"], timeout=30).status_code == 410
    assert str(creator.me()["id"]) in owner_api.get(f"/api/v1/vitascope/cameos/{cameo['id']}").json()["deny"]

    # Take the video down: the creator's generation ends (or its finished draft loses its video).
    use.get_by_role("button", name="Take down").click()
    def withdrawn() -> bool:
        ended = creator_api.get(f"/api/v1/vitascope/generations/{job['id']}").json()
        return ended["state"] in ("failed", "cancelled") or "withdrew" in (ended.get("error") or "")

    wait_for(withdrawn, timeout=60, what="the creator's generation to be withdrawn")

    # Revoke everyone: the policy falls back to "only me"; then delete the cameo (asked twice).
    card.get_by_role("button", name="Revoke everyone").click()
    card.get_by_role("status").filter(has_text="Uses revoked: 0").wait_for()
    card.get_by_label("Policy").filter(has=page.locator("option:checked", has_text="Only me")).wait_for()
    assert owner_api.get(f"/api/v1/vitascope/cameos/{cameo['id']}").json()["policy"] == "only_me"
    card.get_by_role("button", name="Delete the cameo").click()
    card.get_by_role("button", name="Yes, delete").click()
    card.wait_for(state="detached")
    assert owner_api.get("/api/v1/vitascope/cameos").json() == []
    assert requests.get(granted["grant_url"], timeout=30).status_code == 410
    assert page.errors == [] and creating.errors == []


def test_a_teen_cannot_pick_everyone(web_node, browser, tmp_path):
    """A teen's policy form greys "Everyone" out and says why (the node refuses it anyway)."""
    guardian, teen = web_node.mastodon(), web_node.mastodon()
    guardian_api, teen_api = web_node.api(guardian.access_token), web_node.api(teen.access_token)
    asked = guardian_api.post("/api/v1/vitascope/guardian_requests", json={"teen_id": str(teen.me()["id"])})
    assert teen_api.post(f"/api/v1/vitascope/guardian_requests/{asked.json()['id']}/accept").status_code == 200
    path = make_capture(tmp_path / "pet.mp4", faces=0, audio="noise")
    with open(path, "rb") as fh:
        r = teen_api.post("/api/v1/vitascope/cameos", files={"recording": ("pet.mp4", fh, "video/mp4")},
                          data={"kind": "character", "name": "Biscuit", "handle": f"{teen.me()['acct']}_pet"})
    assert r.status_code == 202, r.text

    page = browser(token=teen.access_token, locale="fr-FR")
    page.goto(web_node.url + "/#/settings")
    card = page.get_by_role("article", name=f"Caméo @{teen.me()['acct']}_pet")
    card.locator(".cameo-state").filter(has_text="Vérifié").wait_for(timeout=120_000)
    assert card.locator("option[value=everyone]").is_disabled()
    card.get_by_text("Les comptes ados ne peuvent pas ouvrir leur caméo à tout le monde.").wait_for()
    refused = teen_api.patch(f"/api/v1/vitascope/cameos/{r.json()['id']}", json={"policy": "everyone"})
    assert refused.status_code == 422 and "teen" in refused.json()["error"]
    assert page.errors == []
