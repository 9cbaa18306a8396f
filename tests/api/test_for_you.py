"""Issue 15 item 4: the For You ranking through the public API of a live node.

The node here runs with a short freshness half-life (7.2 s): a new video gets its freshness boost
for a few seconds, then every video's freshness fades to ~0 and only the other signals order them.
Each signal test therefore posts the video that will get the signal *first* and the control after
it: the control starts ahead (fresher, and newer wins ties) and the signalled video must overtake
it — polled with a deadline, it never happens when the signal does nothing.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import pytest

from tests.api.test_client_api_a import user_api, wait_for
from tests.api.test_provenance_trust import signed_clip

FOR_YOU = "/api/v1/vitascope/timelines/for_you"
GLOBAL = {"freshness", "likes", "comments", "remixes", "shares", "watch_time", "completion", "diversity"}


@pytest.fixture(scope="module")
def fy(nodes):
    return nodes("foryou", overrides={"for_you": {"freshness_half_life_hours": 0.002}})


def video(node, api, tmp_path, text="a clip", visibility="public", **extra):
    _raw, signed = signed_clip(node, tmp_path, name=f"{time.monotonic_ns()}.mp4")
    media = api.post("/api/v2/media", files={"file": ("clip.mp4", signed.read_bytes(), "video/mp4")})
    assert media.status_code == 200, media.text
    status = api.post("/api/v1/statuses", data={"status": text, "media_ids[]": media.json()["id"],
                                                 "visibility": visibility, **extra})
    assert status.status_code == 200, status.text
    return status.json()


def feed(api) -> list[dict]:
    """Every page of the viewer's For You, following the Link header's opaque cursor."""
    items, params = [], {"limit": 40}
    while True:
        r = api.get(FOR_YOU, params=params)
        assert r.status_code == 200, r.text
        items += r.json()
        if "next" not in r.links:
            return items
        params = {k: v[0] for k, v in parse_qs(urlparse(r.links["next"]["url"]).query).items()}


def ids(api) -> list[str]:
    return [s["id"] for s in feed(api)]


def above(api, first: dict, second: dict) -> bool:
    order = ids(api)
    return first["id"] in order and second["id"] in order and order.index(first["id"]) < order.index(second["id"])


def reasons(api, status: dict) -> dict[str, dict]:
    why = api.get(f"/api/v1/vitascope/statuses/{status['id']}/why")
    assert why.status_code == 200, why.text
    return {r["feature"]: r for r in why.json()["reasons"]}


def overtakes(viewer, signalled, control, feature):
    wait_for(lambda: above(viewer, signalled, control), timeout=90, what=f"{feature} to lift the video")
    reason = reasons(viewer, signalled)[feature]
    assert reason["weight"] > 0 and reason["value"] > 0
    assert feature not in reasons(viewer, control)


@pytest.mark.parametrize("signal", ["like", "comment", "remix", "share", "completion"])
def test_each_global_signal_lifts_a_video(fy, tmp_path, signal):
    author, other, fan, viewer = (user_api(fy) for _ in range(4))
    signalled = video(fy, author, tmp_path, f"signalled {signal}")
    control = video(fy, other, tmp_path, f"control {signal}")
    sid = signalled["id"]
    if signal == "like":
        assert fan.post(f"/api/v1/statuses/{sid}/favourite").status_code == 200
        feature = "likes"
    elif signal == "comment":
        assert fan.post("/api/v1/statuses", data={"status": "nice", "in_reply_to_id": sid}).status_code == 200
        feature = "comments"
    elif signal == "remix":
        video(fy, fan, tmp_path, "my remix", remix_of_id=sid)
        feature = "remixes"
    elif signal == "share":
        assert fan.post(f"/api/v1/vitascope/statuses/{sid}/share").json() == {}
        assert fan.post(f"/api/v1/vitascope/statuses/{sid}/share").status_code == 200  # once per viewer
        feature = "shares"
    else:
        assert fan.post(f"/api/v1/vitascope/statuses/{sid}/view",
                        json={"watched_ms": 1000, "duration_ms": 1000, "completed": True}).status_code == 200
        assert fan.post(f"/api/v1/vitascope/statuses/{control['id']}/view",
                        json={"watched_ms": 100, "duration_ms": 1000}).status_code == 200
        feature = "completion"
    overtakes(viewer, signalled, control, feature)
    if signal == "share":
        assert reasons(viewer, signalled)["shares"]["value"] == pytest.approx(0.6931, abs=1e-4)  # log(1 + 1)
    if signal == "completion":
        assert reasons(viewer, signalled)["completion"]["value"] == 0.5  # 1 of 1 viewers, over (1 + 1)
        assert reasons(viewer, control)["watch_time"]["value"] < reasons(viewer, signalled)["watch_time"]["value"]


def test_following_and_remixes_of_what_you_liked_lift_videos_for_that_viewer_only(fy, tmp_path):
    followed, liked_author, remixer, other, viewer, stranger = (user_api(fy) for _ in range(6))
    liked = video(fy, liked_author, tmp_path, "the original")
    viewer.post(f"/api/v1/statuses/{liked['id']}/favourite")
    remix = video(fy, remixer, tmp_path, "a remix of it", remix_of_id=liked["id"])
    from_followed = video(fy, followed, tmp_path, "by someone I follow")
    control = video(fy, other, tmp_path, "control")
    viewer.post(f"/api/v1/accounts/{followed.me['id']}/follow")
    overtakes(viewer, from_followed, control, "following")
    overtakes(viewer, remix, control, "remix_of_liked")
    assert "remix_of_liked" in viewer.get(f"/api/v1/vitascope/statuses/{remix['id']}/why").json()["sources"]
    assert "following" not in reasons(stranger, from_followed) and "remix_of_liked" not in reasons(stranger, remix)
    item = next(s for s in feed(viewer) if s["id"] == from_followed["id"])
    explained = item["vitascope"]["for_you"]
    assert {"feature": "following", "weight": 2.0, "value": 1.0} in explained["reasons"]
    assert explained["score"] == pytest.approx(sum(r["weight"] * r["value"] for r in explained["reasons"]), abs=1e-3)


def test_freshness_lifts_a_new_video_then_fades(fy, tmp_path):
    old_author, new_author, fan, viewer = (user_api(fy) for _ in range(4))
    older = video(fy, old_author, tmp_path, "older but liked")
    fan.post(f"/api/v1/statuses/{older['id']}/favourite")
    wait_for(lambda: reasons(viewer, older)["freshness"]["value"] < 0.5, timeout=60, what="one half-life")
    newer = video(fy, new_author, tmp_path, "brand new")
    # newer: 4 × f, older: 4 × (f / 2 or less) + log 2 — the new one leads while f > 0.35 (~11 s).
    assert above(viewer, newer, older)
    wait_for(lambda: above(viewer, older, newer), timeout=90, what="freshness to fade")
    assert reasons(viewer, newer)["freshness"]["value"] > reasons(viewer, older)["freshness"]["value"]


def test_steering_in_plain_words_french_or_english(fy, tmp_path):
    a, b, viewer = (user_api(fy) for _ in range(3))
    ocean = video(fy, a, tmp_path, "Waves on the ocean at dawn #sea")
    cars = video(fy, b, tmp_path, "Red cars racing at night")
    r = viewer.put("/api/v1/vitascope/for_you/preferences", json={"more": "l'océan, des vagues", "less": "voitures"})
    assert r.status_code == 200 and r.json()["more_words"] == ["ocean", "vague"]
    overtakes(viewer, ocean, cars, "more")
    r = viewer.put("/api/v1/vitascope/for_you/preferences", json={"more": "", "less": "CARS"})
    assert r.json() == {"more": "", "less": "CARS", "personalized": True, "guardian_allows_personalization": True,
                        "more_words": [], "less_words": ["car"]}
    assert reasons(viewer, cars)["less"] == {"feature": "less", "weight": -4.0, "value": 1.0}
    assert above(viewer, ocean, cars)
    viewer.put("/api/v1/vitascope/for_you/preferences", json={"less": ""})
    wait_for(lambda: above(viewer, cars, ocean), timeout=90, what="unsteered order (newer first on a tie)")
    assert viewer.get("/api/v1/vitascope/for_you/preferences").json()["less"] == ""
    assert viewer.put("/api/v1/vitascope/for_you/preferences", json={"more": "x" * 501}).status_code == 422
    assert viewer.put("/api/v1/vitascope/for_you/preferences", json={"personalized": "maybe"}).status_code == 422


def test_personalisation_off_gives_the_non_personal_order(fy, tmp_path):
    followed, viewer = user_api(fy), user_api(fy)
    mine = video(fy, followed, tmp_path, "followed author")
    viewer.post(f"/api/v1/accounts/{followed.me['id']}/follow")
    viewer.put("/api/v1/vitascope/for_you/preferences", json={"more": "followed"})
    assert {"following", "more"} <= set(reasons(viewer, mine))
    assert viewer.put("/api/v1/vitascope/for_you/preferences", json={"personalized": False}).json()["personalized"] is False
    anonymous = fy.api()

    def same_as_anonymous():
        page = feed(viewer)
        return [s["id"] for s in page] == ids(anonymous) and page

    page = wait_for(same_as_anonymous, timeout=60, what="the same order as a signed-out visitor")
    assert all({r["feature"] for r in s["vitascope"]["for_you"]["reasons"]} <= GLOBAL for s in page)
    assert viewer.get(f"/api/v1/vitascope/statuses/{mine['id']}/why").json()["personalized"] is False


def test_not_interested_removes_it_and_pushes_its_author_down(fy, tmp_path):
    author, viewer = user_api(fy), user_api(fy)
    first = video(fy, author, tmp_path, "first")
    second = video(fy, author, tmp_path, "second")
    assert first["id"] in ids(viewer)
    assert viewer.post(f"/api/v1/vitascope/statuses/{first['id']}/not_interested").status_code == 200
    assert first["id"] not in ids(viewer)
    assert reasons(viewer, second)["not_interested_author"] == {"feature": "not_interested_author", "weight": -3.0,
                                                                "value": 1.0}
    assert viewer.get(f"/api/v1/vitascope/statuses/{first['id']}/why").json()["candidate"] is False
    assert first["id"] in ids(fy.api())  # only for that viewer


def test_creator_diversity_breaks_runs_of_one_author(fy, tmp_path):
    x, y, viewer = user_api(fy), user_api(fy), user_api(fy)
    fans = [user_api(fy) for _ in range(4)]
    x1 = video(fy, x, tmp_path, "x one")
    x2 = video(fy, x, tmp_path, "x two")
    y1 = video(fy, y, tmp_path, "y one")
    for fan in fans:  # x one: 4 likes, x two: 3, y one: 1
        fan.post(f"/api/v1/statuses/{x1['id']}/favourite")
        if fan is not fans[-1]:
            fan.post(f"/api/v1/statuses/{x2['id']}/favourite")
    fans[0].post(f"/api/v1/statuses/{y1['id']}/favourite")
    viewer.post(f"/api/v1/accounts/{x.me['id']}/follow")
    viewer.post(f"/api/v1/accounts/{y.me['id']}/follow")

    def top_three():
        top = ids(viewer)[:3]
        scores = {s: viewer.get(f"/api/v1/vitascope/statuses/{s}/why").json()["score"] for s in (x2["id"], y1["id"])}
        return top if set(top) == {x1["id"], x2["id"], y1["id"]} and scores[x2["id"]] > scores[y1["id"]] else None

    top = wait_for(top_three, timeout=90, what="the three followed videos on top, x two scoring above y one")
    assert top == [x1["id"], y1["id"], x2["id"]]


def test_privacy_anonymous_blocks_and_mutes(fy, tmp_path):
    author, follower, stranger, muter = (user_api(fy) for _ in range(4))
    follower.post(f"/api/v1/accounts/{author.me['id']}/follow")
    private = video(fy, author, tmp_path, "followers only", visibility="private")
    unlisted = video(fy, author, tmp_path, "unlisted", visibility="unlisted")
    public = video(fy, author, tmp_path, "public")
    assert {private["id"], unlisted["id"], public["id"]} <= set(ids(follower))
    assert private["id"] not in ids(stranger) and unlisted["id"] not in ids(stranger)
    anonymous = fy.api()
    seen = ids(anonymous)
    assert public["id"] in seen and private["id"] not in seen and unlisted["id"] not in seen
    assert all(s["visibility"] == "public" for s in feed(anonymous))
    assert stranger.get(f"/api/v1/vitascope/statuses/{private['id']}/why").status_code == 404
    assert stranger.post(f"/api/v1/vitascope/statuses/{private['id']}/view",
                         json={"watched_ms": 1, "duration_ms": 1}).status_code == 404
    assert private["id"] not in [s["id"] for s in anonymous.get("/api/v1/trends/statuses", params={"limit": 40}).json()]
    muter.post(f"/api/v1/accounts/{author.me['id']}/mute")
    assert public["id"] not in ids(muter)
    author.post(f"/api/v1/accounts/{stranger.me['id']}/block")
    assert public["id"] not in ids(stranger)
    assert public["id"] not in ids(author)  # nobody's For You shows them their own videos


def test_cursor_pages_and_bad_input(fy, tmp_path):
    author, viewer = user_api(fy), user_api(fy)
    for i in range(3):
        video(fy, author, tmp_path, f"page {i}")
    everything = ids(viewer)
    paged, params = [], {"limit": 1}
    while True:
        r = viewer.get(FOR_YOU, params=params)
        paged += [s["id"] for s in r.json()]
        if "next" not in r.links:
            break
        params = {k: v[0] for k, v in parse_qs(urlparse(r.links["next"]["url"]).query).items()}
        assert params["limit"] == "1"
    assert len(paged) == len(set(paged)) and set(paged) == set(everything)
    for cursor in ("nope", "eyJhdCI6MX0", "e30"):
        r = viewer.get(FOR_YOU, params={"cursor": cursor})
        assert r.status_code == 422 and "cursor" in r.json()["error"]
    sid = everything[0]
    for body in ({}, {"watched_ms": 5}, {"watched_ms": -1, "duration_ms": 5}, {"watched_ms": "a", "duration_ms": 5},
                 {"watched_ms": 5, "duration_ms": 0}, {"watched_ms": 5, "duration_ms": 5, "completed": "perhaps"}):
        r = viewer.post(f"/api/v1/vitascope/statuses/{sid}/view", json=body)
        assert r.status_code == 422 and "error" in r.json(), body
    assert fy.api().post(f"/api/v1/vitascope/statuses/{sid}/view",
                         json={"watched_ms": 5, "duration_ms": 5}).status_code == 401
    assert viewer.post("/api/v1/vitascope/statuses/123/not_interested").status_code == 404
    reader = user_api(fy, "read")
    assert reader.get(FOR_YOU).status_code == 200
    assert reader.post(f"/api/v1/vitascope/statuses/{sid}/share").status_code == 403
    assert reader.put("/api/v1/vitascope/for_you/preferences", json={"more": "cats"}).status_code == 403
    assert fy.api().get("/api/v1/vitascope/for_you/preferences").status_code == 401


def test_weights_are_validated_config_keys(tmp_path):
    from tests.api.test_cli_and_config import run

    (tmp_path / "bad.toml").write_text('[for_you]\nmax_candidates = 0\n')
    result = run(["--config", "bad.toml", "migrate"], tmp_path)
    assert result.returncode == 2 and "for_you.max_candidates" in result.stderr
    (tmp_path / "typo.toml").write_text('[for_you]\nlikess = 2.0\n')
    result = run(["--config", "typo.toml", "migrate"], tmp_path)
    assert result.returncode == 2 and "for_you.likess" in result.stderr
    for value, message in (("lots", "expected a number"), ("nan", "finite")):
        result = run(["migrate"], tmp_path, env={"VITASCOPE_FOR_YOU_LIKES": value})
        assert result.returncode == 2 and "for_you.likes" in result.stderr and message in result.stderr


def test_a_guardian_switches_personalisation_off_and_the_daily_limit_ends_the_feed(fy, tmp_path):
    guardian, teen, author = user_api(fy), user_api(fy), user_api(fy)
    for i in range(3):
        video(fy, author, tmp_path, f"for the teen {i}")
    teen.post(f"/api/v1/accounts/{author.me['id']}/follow")
    asked = guardian.post("/api/v1/vitascope/guardian_requests", json={"teen_id": teen.me["id"]})
    assert teen.post(f"/api/v1/vitascope/guardian_requests/{asked.json()['id']}/accept").status_code == 200
    r = guardian.patch(f"/api/v1/vitascope/wards/{teen.me['id']}", json={"personalisation": False,
                                                                          "daily_feed_videos": 2})
    assert r.status_code == 200, r.text
    prefs = teen.get("/api/v1/vitascope/for_you/preferences").json()
    assert prefs["personalized"] is True and prefs["guardian_allows_personalization"] is False
    page = teen.get(FOR_YOU, params={"limit": 5})
    assert [s["vitascope"]["for_you"]["reasons"] for s in page.json()]
    assert all({r["feature"] for r in s["vitascope"]["for_you"]["reasons"]} <= GLOBAL for s in page.json())
    assert len(page.json()) == 2 and "next" not in page.links
    assert page.headers["Vitascope-Feed-End"] == "daily-limit"


def test_cursor_pages_continue_the_first_pages_ranking_less_what_the_viewer_hides_since(fy, tmp_path):
    """Later pages read the first page's ranking (for_you.snapshot_seconds) instead of ranking
    again, so a video posted meanwhile waits for the next first page; but "not interested", a mute
    and an unfollow made while scrolling take effect on the very next page. One snapshot per
    viewer: a newer first page replaces it, and the older cursor is ranked again as of its moment."""
    lead_author, author, other, third, fourth, viewer = (user_api(fy) for _ in range(6))
    fans = [user_api(fy) for _ in range(3)]
    viewer.post(f"/api/v1/accounts/{author.me['id']}/follow")
    viewer.post(f"/api/v1/accounts/{lead_author.me['id']}/follow")
    private = video(fy, author, tmp_path, "followers only", visibility="private")
    public = video(fy, other, tmp_path, "muted later")
    dismissed = video(fy, third, tmp_path, "dismissed later")
    lead = video(fy, lead_author, tmp_path, "the lead")  # newest, followed and liked: above the three
    for fan in fans:
        fan.post(f"/api/v1/statuses/{lead['id']}/favourite")

    def rest(url: str) -> list[str]:
        out = []
        while url:
            r = viewer.get(FOR_YOU, params={k: v[0] for k, v in parse_qs(urlparse(url).query).items()})
            assert r.status_code == 200, r.text
            out += [s["id"] for s in r.json()]
            url = r.links.get("next", {}).get("url")
        return out

    first = viewer.get(FOR_YOU, params={"limit": 1})
    later = first.links["next"]["url"]
    before = rest(later)
    hidden = {private["id"], public["id"], dismissed["id"]}
    assert hidden <= set(before) and first.json()[0]["id"] not in before and len(before) == len(set(before))
    newer = video(fy, fourth, tmp_path, "posted while scrolling")
    assert rest(later) == before
    assert viewer.post(f"/api/v1/vitascope/statuses/{dismissed['id']}/not_interested").status_code == 200
    assert viewer.post(f"/api/v1/accounts/{other.me['id']}/mute").status_code == 200
    assert viewer.post(f"/api/v1/accounts/{author.me['id']}/unfollow").status_code == 200
    assert rest(later) == [i for i in before if i not in hidden]
    # A newer first page shows the new video and replaces the viewer's one snapshot; the old cursor
    # still works, ranked again as of its first page's moment.
    assert newer["id"] in ids(viewer)
    assert rest(later) == [i for i in before if i not in hidden]
