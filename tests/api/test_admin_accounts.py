"""Listing accounts through Mastodon's admin API, v1 and v2, with real Mastodon.py clients (raw HTTP
where a status code, a header or a filter Mastodon.py does not send is the point).

Every test names its accounts with a fresh prefix, so the other users of the shared node stay out.
"""

from __future__ import annotations

import uuid

import pytest
import requests
from mastodon import MastodonAPIError

ADMIN_SCOPES = ("read", "write", "admin:read", "admin:write")


def ids(items) -> list[str]:
    return [str(i["id"]) for i in items]


@pytest.fixture(scope="module")
def admin(node):
    return node.admin_mastodon(ADMIN_SCOPES)


@pytest.fixture(scope="module")
def crowd(node, node_b, admin):
    """Accounts of one prefix, oldest first: plain, silenced, sensitized, disabled, suspended, an
    admin, and (known here as a remote account) one of beta's."""
    prefix = "acc" + uuid.uuid4().hex[:6]
    found = {"prefix": prefix}
    for role in ("plain", "silenced", "sensitized", "disabled", "suspended", "boss"):
        name, password = node.create_user(f"{prefix}_{role}", admin=role == "boss")
        client = node.mastodon(name, password)
        found[role] = str(client.me()["id"])
        if role == "plain":
            client.account_update_credentials(display_name="Zebra Crossing")
    for role, action in (("silenced", "silence"), ("sensitized", "sensitive"), ("disabled", "disable"),
                         ("suspended", "suspend")):
        admin.admin_account_moderate(found[role], action)
    node_b.create_user(f"{prefix}_far")
    found["far"] = str(admin.account_lookup(f"{prefix}_far@{node_b.domain}")["id"])
    return found


def test_v2_filters(node, node_b, admin, crowd):
    prefix = crowd["prefix"]
    local = ["boss", "suspended", "disabled", "sensitized", "silenced", "plain"]  # newest first

    def listed(**filters) -> list[str]:
        return ids(admin.admin_accounts_v2(username=prefix, **filters))

    # No origin or status: every account, local and remote.
    assert listed() == [crowd["far"]] + [crowd[r] for r in local]
    assert listed(origin="local") == [crowd[r] for r in local]
    assert listed(origin="remote") == [crowd["far"]]
    assert listed(status="active") == [crowd["far"]] + [crowd[r] for r in local if r != "suspended"]
    assert listed(status="suspended") == [crowd["suspended"]]
    assert listed(status="silenced") == [crowd["silenced"]]
    assert listed(status="disabled") == [crowd["disabled"]]
    assert listed(status="pending") == []
    assert listed(permissions="staff") == [crowd["boss"]]
    assert ids(admin.admin_accounts_v2(by_domain=node_b.domain, username=prefix)) == [crowd["far"]]
    assert ids(admin.admin_accounts_v2(display_name="zebra")) == [crowd["plain"]]
    assert ids(admin.admin_accounts_v2(email=f"{prefix.upper()}_PL")) == [crowd["plain"]]
    assert listed(ip="127.0.0.1") == []  # no sign-in addresses are recorded
    # username matches from the start only, and `_` is a character, not a wildcard.
    assert ids(admin.admin_accounts_v2(username=prefix[1:])) == []
    assert ids(admin.admin_accounts_v2(username=f"{prefix}_s")) == [crowd["suspended"], crowd["sensitized"],
                                                                   crowd["silenced"]]
    api = node.api(admin.access_token)
    sensitized = api.get("/api/v2/admin/accounts", params={"status": "sensitized", "username": prefix})
    assert ids(sensitized.json()) == [crowd["sensitized"]]

    # Each item is the account as GET /api/v1/admin/accounts/:id shows it.
    item = admin.admin_accounts_v2(username=f"{prefix}_silenced")[0]
    assert (api.get(f"/api/v1/admin/accounts/{crowd['silenced']}").json()
            == api.get("/api/v2/admin/accounts", params={"username": f"{prefix}_silenced"}).json()[0])
    assert item["silenced"] is True and item["suspended"] is False and item["domain"] is None
    assert item["email"] == f"{prefix}_silenced@example.com" and item["account"]["acct"] == f"{prefix}_silenced"
    far = admin.admin_accounts_v2(origin="remote", username=prefix)[0]
    assert far["domain"] == node_b.domain and far["email"] is None and far["role"] is None
    assert far["account"]["acct"] == f"{prefix}_far@{node_b.domain}"


def test_v1_filters(node_b, admin, crowd):
    prefix = crowd["prefix"]
    # Active local accounts unless the flags say otherwise (Mastodon's v1 defaults).
    assert ids(admin.admin_accounts_v1(username=prefix)) == [
        crowd[r] for r in ("boss", "disabled", "sensitized", "silenced", "plain")]
    assert ids(admin.admin_accounts_v1(username=prefix, status="suspended")) == [crowd["suspended"]]
    assert ids(admin.admin_accounts_v1(username=prefix, status="disabled")) == [crowd["disabled"]]
    assert ids(admin.admin_accounts_v1(username=prefix, status="silenced")) == [crowd["silenced"]]
    assert ids(admin.admin_accounts_v1(username=prefix, remote=True)) == [crowd["far"]]
    assert ids(admin.admin_accounts_v1(username=prefix, remote=True, by_domain=node_b.domain)) == [crowd["far"]]
    assert ids(admin.admin_accounts_v1(username=prefix, staff_only=True)) == [crowd["boss"]]
    assert ids(admin.admin_accounts_v1(display_name="Zebra")) == [crowd["plain"]]
    assert ids(admin.admin_accounts_v1(email=f"{prefix}_silenced@")) == [crowd["silenced"]]


def test_pages_with_link_headers(node, admin, crowd):
    api = node.api(admin.access_token)
    everyone = ids(api.get("/api/v2/admin/accounts", params={"username": crowd["prefix"]}).json())
    first = api.get("/api/v2/admin/accounts", params={"username": crowd["prefix"], "limit": 3})
    assert first.status_code == 200 and ids(first.json()) == everyone[:3]
    assert f"username={crowd['prefix']}" in first.links["next"]["url"]
    rest = requests.get(first.links["next"]["url"], headers=api.session.headers)
    assert ids(rest.json()) == everyone[3:6]
    newer = requests.get(rest.links["prev"]["url"], headers=api.session.headers)
    assert ids(newer.json()) == everyone[:3]
    v1 = api.get("/api/v1/admin/accounts", params={"username": crowd["prefix"], "limit": 2})
    assert len(v1.json()) == 2 and "max_id=" in v1.links["next"]["url"]


def test_bad_filters_and_who_may_list(node, admin, crowd):
    api = node.api(admin.access_token)
    for params, message in (({"origin": "elsewhere"}, "Unknown origin: elsewhere"),
                            ({"status": "asleep"}, "Unknown status: asleep"),
                            ({"permissions": "everything"}, "Unknown permissions: everything")):
        refused = api.get("/api/v2/admin/accounts", params=params)
        assert refused.status_code == 400 and refused.json()["error"] == message
    for params in ({"remote": "perhaps"}, {"suspended": "maybe"}, {"limit": "lots"}):
        refused = api.get("/api/v1/admin/accounts", params=params)
        assert refused.status_code == 422 and refused.json()["error"], params
    assert api.get("/api/v1/admin/accounts/123456789").status_code == 404

    name, password = node.create_user()
    member = node.mastodon(name, password, scopes=ADMIN_SCOPES)
    with pytest.raises(MastodonAPIError) as refused:
        member.admin_accounts_v2()
    assert refused.value.args[1] == 403
    assert node.api(member.access_token).get("/api/v1/admin/accounts").status_code == 403
    plain = node.api(node.token(admin.me()["username"], scopes="read write"))  # an admin without admin scopes
    assert plain.get("/api/v2/admin/accounts").status_code == 403
    reader = node.api(node.token(admin.me()["username"], scopes="admin:read:accounts"))
    assert reader.get("/api/v2/admin/accounts", params={"username": crowd["prefix"]}).status_code == 200
    assert node.api().get("/api/v2/admin/accounts").status_code == 401
