"""Issue 16 (part A) through the JavaScript clients apps are built on: masto.js (grouped
notifications, scheduled statuses, the start-up calls) and megalodon (detection, then the same calls).

The pinned packages (tests/js/package.json and its lock file) are installed by tests/run.sh
(`npm ci`); the flows are small scripts in tests/js that print what they saw as JSON."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

JS = Path(__file__).resolve().parents[1] / "js"


def run_js(script: str, payload: dict) -> dict:
    if not (JS / "node_modules" / "masto").is_dir():
        pytest.fail("the JavaScript clients are not installed: run tests/run.sh (or `npm ci` in tests/js)")
    result = subprocess.run(["node", str(JS / script), json.dumps(payload)], cwd=JS, capture_output=True, text=True,
                            timeout=180)
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout.strip().splitlines()[-1])


def token_and_id(node) -> tuple[str, str]:
    username, password = node.create_user()
    token = node.token(username, password)
    return token, node.api(token).get("/api/v1/accounts/verify_credentials").json()["id"]


def test_masto_js_grouped_notifications_scheduled_statuses_and_startup_calls(node):
    author, _ = token_and_id(node)
    fans = [token_and_id(node) for _ in range(2)]
    _, other = token_and_id(node)
    out = run_js("masto_flows.mjs", {"url": node.url, "author": author, "fans": [t for t, _ in fans], "other": other})
    assert len(out["groups"]) == 1
    group = out["groups"][0]
    assert group["type"] == "favourite" and group["count"] == 2 and set(group["samples"]) == {i for _, i in fans}
    assert set(out["accounts"]) == {i for _, i in fans} == set(out["groupAccounts"])
    # partial_avatars: the latest fan in full, the other as PartialAccountWithAvatar
    assert out["partial"]["accounts"] == [fans[1][1]]
    assert [a["id"] for a in out["partial"]["partialAccounts"]] == [fans[0][1]]
    assert set(out["partial"]["partialAccounts"][0]) == {"id", "acct", "url", "avatar", "avatarStatic", "locked", "bot"}
    assert out["one"] == 2 and out["unread"] == 1
    assert out["policy"]["forNotFollowers"] == "filter" and out["policy"]["summary"]["pendingRequestsCount"] == 0
    assert out["requests"] == []
    assert out["scheduled"]["text"] == "later, by masto.js" and out["scheduledList"] == [out["scheduled"]["id"]]
    assert out["rescheduled"] > out["scheduled"]["scheduledAt"] and out["scheduledAfterCancel"] == 0
    assert out["trendStatuses"] and out["trendTags"] and out["trendLinks"] == [] and out["suggestions"]
    assert out["directory"] >= 4 and out["extended"] == ["content", "updatedAt"]
    assert out["familiar"] == [{"id": other, "accounts": []}]
    assert out["featuredTags"] == [] and out["lists"] == [] and out["identityProofs"] == []
    assert out["translate"]["status"] == 404 and "not available" in out["translate"]["message"]


def test_megalodon_detects_a_mastodon_api_and_uses_it(node):
    token, _ = token_and_id(node)
    _, other = token_and_id(node)
    friend, friend_id = token_and_id(node)
    acct = node.api(token).get("/api/v1/accounts/verify_credentials").json()["acct"]
    out = run_js("megalodon_flows.mjs", {"url": node.url, "token": token, "other": other, "friend": friend,
                                         "friendId": friend_id, "ownerAcct": acct})
    assert out["sns"] == "mastodon"
    assert out["instance"] == node.domain
    assert out["scheduledList"] == [out["scheduledId"]] and out["scheduledOne"] == "later, by megalodon"
    assert out["scheduledAfterCancel"] == 0
    assert out["trends"] and out["suggestions"] and out["directory"] >= 2
    assert out["accountLists"] == [] and out["identityProofs"] == []
    assert out["members"] == [friend_id] and out["lists"] == ["megalodon"] and out["inList"] is True
    assert out["hiddenAtHome"] is False and out["warned"]
    home = node.api(token).get("/api/v1/timelines/home").json()
    assert [[r["filter"]["title"], r["filter"]["filter_action"]] for s in home if s["id"] == out["warned"]
            for r in s["filtered"]] == [["careful", "warn"]]
    assert out["filters"] == [["careful", False], ["secret", True]]
    assert out["conversations"] == [{"unread": True, "accounts": [friend_id]}]
    assert out["marker"] is not None
    assert out["notifications"] == [["follow", friend_id], ["mention", friend_id]]  # newest first
