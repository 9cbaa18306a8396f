"""What a node refuses to generate, and how much: validation, prompt policy, quotas, credits, fair share.

No worker runs on this node, so accepted jobs simply wait in the queue."""

from __future__ import annotations

import re

import pytest
import redis

from tests.support.generation import generate

FREE_PER_DAY = 2


@pytest.fixture(scope="module")
def policy_node(nodes):
    return nodes("genpolicy", overrides={
        "generation": {"free_per_day": FREE_PER_DAY, "max_active_per_user": 3, "peak_mode": True},
        "moderation": {"prompt_blocklist": ["gore", "bad phrase"]}})


@pytest.fixture(scope="module")
def admin(policy_node):
    name, _ = policy_node.create_user(admin=True)
    return policy_node.api(policy_node.token(name, scopes="read write admin:read admin:write"))


def user_api(node):
    name, _ = node.create_user()
    return name, node.api(node.token(name))


def refused(api, **params) -> str:
    r = api.post("/api/v1/vitascope/generations", json={"duration": 1, **params})
    assert r.status_code == 422, r.text
    return r.json()["error"]


def test_duration_and_aspect_are_validated(policy_node):
    _, api = user_api(policy_node)
    assert "at most 10 seconds" in refused(api, prompt="a long take", duration=10.5)
    assert "positive" in refused(api, prompt="no time", duration=0)
    assert "aspect must be one of 9:16, 1:1, 16:9" in refused(api, prompt="wide", aspect="4:3")
    assert "prompt" in refused(api, prompt="   ")
    job = generate(api, prompt="exactly ten seconds", duration=10, aspect="16:9")
    assert job["duration"] == 10.0 and job["aspect"] == "16:9" and job["state"] == "queued"


def test_blocklisted_opted_out_and_person_prompts_are_refused_with_the_reason(policy_node, admin):
    name, api = user_api(policy_node)
    other, _ = policy_node.create_user()
    assert "blocked term 'gore'" in refused(api, prompt="Lots of GORE, please")
    assert "blocked term 'bad phrase'" in refused(api, prompt="a bad   phrase here")
    assert generate(api, prompt="a goretex jacket in the rain")["state"] == "queued"  # whole words only

    policy_node.cli("admin", "optout", "add", "Acme Studios", "Zorbo the Clown", "Zorboland")
    assert "Acme Studios opted out" in refused(api, prompt="zorbo-the-clown juggling on a beach")
    r = admin.post("/api/v1/admin/vitascope/copyright_opt_outs",
                   json={"holder": "Wave Records", "terms": ["Surf Kings"]})
    assert r.status_code == 200, r.text
    assert "Wave Records opted out" in refused(api, prompt="SURF KINGS live")
    admin.delete(f"/api/v1/admin/vitascope/copyright_opt_outs/{r.json()['id']}").raise_for_status()
    assert generate(api, prompt="surf kings live")["state"] == "queued"
    assert "Wave Records" not in policy_node.cli("admin", "optout", "list").stdout

    assert f"names @{other}, a real person, and no consent grant allows it" in refused(api, prompt=f"@{other} dancing")

    refusals = admin.get("/api/v1/admin/vitascope/prompt_refusals").json()
    mine = [(r["rule"], r["prompt"]) for r in refusals if r["account"]["acct"] == name]
    assert ("opt_out", "zorbo-the-clown juggling on a beach") in mine
    assert ("blocklist", "Lots of GORE, please") in mine and ("person", f"@{other} dancing") in mine
    assert "zorbo-the-clown" in policy_node.cli("admin", "prompt-refusals").stdout


def test_admin_endpoints_need_an_admin(policy_node):
    name, _ = policy_node.create_user()
    api = policy_node.api(policy_node.token(name, scopes="read write admin:read admin:write"))
    assert api.get("/api/v1/admin/vitascope/prompt_refusals").status_code == 403
    r = api.post("/api/v1/admin/vitascope/copyright_opt_outs", json={"holder": "X", "terms": ["y"]})
    assert r.status_code == 403


def test_daily_quota_then_credits_then_429_with_the_reset_time(policy_node):
    name, api = user_api(policy_node)
    first = generate(api, prompt="one")
    cancelled = api.delete(f"/api/v1/vitascope/generations/{first['id']}").json()
    assert cancelled["state"] == "cancelled"  # still waiting: taken off the queue at once
    second = generate(api, prompt="two")  # cancelled jobs still count: this is the second free one of the day

    r = api.post("/api/v1/vitascope/generations", json={"prompt": "three"})
    assert r.status_code == 429
    assert re.search(r"resets at \d{4}-\d\d-\d\d 00:00 UTC", r.json()["error"]), r.json()
    assert 0 < int(r.headers["Retry-After"]) <= 86400
    quota = api.get("/api/v1/vitascope/quota").json()
    assert quota["free_used_today"] == FREE_PER_DAY and quota["free_left_today"] == 0 and quota["credits"] == 0

    assert "now has 1 generation credit" in policy_node.cli("admin", "grant-credits", name, "1").stdout
    paid = generate(api, prompt="three, paid")
    assert paid["charge"] == "credit" and paid["priority"] is True  # peak mode: credit jobs go first
    assert api.post("/api/v1/vitascope/generations", json={"prompt": "four"}).status_code == 429
    assert api.get("/api/v1/vitascope/quota").json()["credits"] == 0

    # In peak mode the credit job sits ahead of free jobs queued before it.
    client = redis.Redis.from_url(policy_node.redis_url)
    try:
        assert client.zscore("vitascope:gen", paid["id"]) < client.zscore("vitascope:gen", second["id"])
        assert client.zscore("vitascope:gen", first["id"]) is None  # the cancelled one left the queue
    finally:
        client.close()


def test_fair_share_limits_jobs_in_flight_per_user(policy_node, admin):
    name, api = user_api(policy_node)
    account_id = api.get("/api/v1/accounts/verify_credentials").json()["id"]
    granted = admin.post(f"/api/v1/admin/vitascope/accounts/{account_id}/credits", json={"amount": 5}).json()
    assert granted["credits"] == 5
    for prompt in ("a", "b", "c"):
        generate(api, prompt=f"take {prompt}")
    r = api.post("/api/v1/vitascope/generations", json={"prompt": "take d"})
    assert r.status_code == 429 and "already have 3 generations" in r.json()["error"]
    assert api.get("/api/v1/vitascope/quota").json()["credits"] == 4  # the refused job cost nothing
    listed = api.get("/api/v1/vitascope/generations").json()
    assert [j["prompt"] for j in listed] == ["take c", "take b", "take a"]
    assert [j["charge"] for j in listed] == ["credit", "free", "free"]
