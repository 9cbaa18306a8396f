"""Strikes: every admin action on an account is kept (Mastodon's AccountWarning) and told to a local
account as a `moderation_warning` notification (Mastodon 4.3's shape); users read their own, admins
everyone's, through the Vitascope extension. Real Mastodon.py clients; raw HTTP where a status code
or a parameter Mastodon.py does not send is the point.
"""

from __future__ import annotations

import uuid

import pytest

OWN = "/api/v1/vitascope/warnings"
ALL = "/api/v1/admin/vitascope/warnings"


def marker(text: str) -> str:
    return f"{text} {uuid.uuid4().hex[:12]}"


def warnings_of(client) -> list[dict]:
    return [n for n in client.notifications() if n["type"] == "moderation_warning"]


@pytest.fixture(scope="module")
def admin(node):
    return node.admin_mastodon()


def test_an_action_is_a_strike_the_user_is_told_of(node, admin):
    user = node.mastodon()
    user_id = str(user.me()["id"])
    admin.admin_account_moderate(user_id, "sensitive", text="Please mark your clips.")

    [note] = warnings_of(user)
    strike = note["moderation_warning"]
    assert str(note["account"]["id"]) == user_id  # the recipient itself, as Mastodon
    assert strike["action"] == "sensitive" and strike["text"] == "Please mark your clips."
    assert strike["status_ids"] is None and strike["appeal"] is None and strike["created_at"]
    assert str(strike["target_account"]["id"]) == user_id
    assert user.notifications(id=note["id"])["moderation_warning"] == strike

    # The same strike in the user's own list, and in the admins' one with who acted.
    own = node.api(user.access_token).get(OWN)
    assert own.status_code == 200 and own.json() == [strike]
    assert node.api(user.access_token).get(f"{OWN}/{strike['id']}").json() == strike
    listed = node.api(admin.access_token).get(ALL, params={"account_id": user_id}).json()
    assert [w["id"] for w in listed] == [strike["id"]]
    assert str(listed[0]["account"]["id"]) == admin.vs_id and listed[0]["report_id"] is None
    assert {k: v for k, v in listed[0].items() if k not in ("account", "report_id")} == strike


def test_a_strike_from_a_report_carries_its_posts_and_resolves_it(node, admin):
    reporter, target = node.mastodon(), node.mastodon()
    target_id = str(target.me()["id"])
    post = target.status_post(marker("over the line"))
    report = reporter.report(target_id, status_ids=[post["id"]], comment="rude")
    admin.admin_account_moderate(target_id, report_id=report["id"], text="This post broke the rules.")

    [note] = warnings_of(target)
    strike = note["moderation_warning"]
    assert strike["action"] == "none" and strike["status_ids"] == [str(post["id"])]
    assert admin.admin_report(report["id"])["action_taken"] is True
    listed = node.api(admin.access_token).get(ALL, params={"account_id": target_id}).json()
    assert listed[0]["report_id"] == str(report["id"])
    assert warnings_of(reporter) == []


def test_without_notification_and_on_remote_accounts(node, node_b, admin):
    api = node.api(admin.access_token)
    quiet = node.mastodon()
    quiet_id = str(quiet.me()["id"])
    done = api.post(f"/api/v1/admin/accounts/{quiet_id}/action",
                    data={"type": "silence", "text": "shh", "send_email_notification": "false"})
    assert done.status_code == 200 and done.json() == {}
    assert warnings_of(quiet) == []  # kept, not told
    assert [(w["action"], w["text"]) for w in api.get(ALL, params={"account_id": quiet_id}).json()] == [
        ("silence", "shh")]
    assert [w["action"] for w in node.api(quiet.access_token).get(OWN).json()] == ["silence"]

    name, _ = node_b.create_user()
    far_id = str(admin.account_lookup(f"{name}@{node_b.domain}")["id"])
    admin.admin_account_moderate(far_id, "silence", text="loud")
    [strike] = api.get(ALL, params={"account_id": far_id}).json()
    assert strike["action"] == "silence" and strike["target_account"]["acct"] == f"{name}@{node_b.domain}"


def test_refused_actions_leave_no_strike(node, admin):
    api = node.api(admin.access_token)
    user = node.mastodon()
    user_id = str(user.me()["id"])
    for data, status in (({"type": "obliterate"}, 422), ({"type": "none", "warning_preset_id": "1"}, 404),
                         ({"type": "none", "report_id": "123456789"}, 404),
                         ({"type": "none", "text": "x" * 5001}, 422)):
        assert api.post(f"/api/v1/admin/accounts/{user_id}/action", data=data).status_code == status, data
    assert api.get(ALL, params={"account_id": user_id}).json() == []
    assert warnings_of(user) == [] and node.api(user.access_token).get(OWN).json() == []


def test_a_suspended_user_reads_the_strike_once_back(node, admin):
    name, password = node.create_user()
    user = node.mastodon(name, password)
    user_id = str(user.me()["id"])
    admin.admin_account_moderate(user_id, "suspend", text="Spam.")
    assert node.api(user.access_token).get(OWN).status_code == 403  # no token works while suspended
    admin.admin_account_unsuspend(user_id)
    assert [(n["moderation_warning"]["action"], n["moderation_warning"]["text"]) for n in warnings_of(user)] == [
        ("suspend", "Spam.")]


def test_users_see_only_their_own_strikes(node, admin):
    first, second = node.mastodon(), node.mastodon()
    for client, text in ((first, "one"), (first, "two"), (second, "other")):
        admin.admin_account_moderate(client.me()["id"], text=text)
    api = node.api(first.access_token)
    own = api.get(OWN)
    assert [w["text"] for w in own.json()] == ["two", "one"]  # newest first
    paged = api.get(OWN, params={"limit": 1})
    assert [w["text"] for w in paged.json()] == ["two"] and "max_id=" in paged.links["next"]["url"]
    others = node.api(second.access_token).get(OWN).json()
    assert [w["text"] for w in others] == ["other"]
    assert api.get(f"{OWN}/{others[0]['id']}").status_code == 404
    assert api.get(f"{OWN}/nonsense").status_code == 404
    assert node.api(node.token(first.vs_username, scopes="write")).get(OWN).status_code == 403
    assert node.api().get(OWN).status_code == 401
    assert api.get(ALL).status_code == 403  # not an admin
