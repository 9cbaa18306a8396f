"""Parental controls (issue 15, item 5) through the public API and Mastodon.py against live nodes:
teen accounts, guardian links, and limits the server enforces for every client."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from mastodon import MastodonAPIError

from tests.support.waiting import wait_for

STRICT = {"personalisation": False, "daily_feed_videos": 60, "direct_messages": "mutuals", "cameo": "nobody",
          "generations_per_day": 3, "timezone": "UTC"}


def sign_up(node, date_of_birth: str | None = None) -> tuple[requests.Response, str]:
    """A sign-up through POST /api/v1/accounts, as a Mastodon app sends it (with Mastodon 4.4's
    `date_of_birth` when given)."""
    node.create_user()  # makes sure node._app_token exists
    username = "u" + uuid.uuid4().hex[:10]
    data = {"username": username, "password": "correct horse battery", "agreement": "true",
            "email": f"{username}@example.com"}
    if date_of_birth is not None:
        data["date_of_birth"] = date_of_birth
    r = requests.post(node.url + "/api/v1/accounts", data=data,
                      headers={"Authorization": f"Bearer {node._app_token}"})
    return r, username


def years_ago(years: int, days: int = 0) -> str:
    today = date.today()
    return (today.replace(year=today.year - years, day=min(today.day, 28)) - timedelta(days=days)).isoformat()


class Person:
    """A local user with a requests client (`api`) and a Mastodon.py client (`masto`)."""

    def __init__(self, node, username: str | None = None):
        if username is None:
            username, _ = node.create_user()
        self.username = username
        self.api = node.api(node.token(username))
        self.masto = node.mastodon(username, "correct horse battery")
        self.id = str(self.masto.me()["id"])


def link(guardian: Person, teen: Person) -> dict:
    r = guardian.api.post("/api/v1/vitascope/guardian_requests", json={"teen_id": teen.id})
    assert r.status_code == 200, r.text
    accepted = teen.api.post(f"/api/v1/vitascope/guardian_requests/{r.json()['id']}/accept")
    assert accepted.status_code == 200, accepted.text
    return accepted.json()


def set_controls(guardian: Person, teen: Person, **values) -> dict:
    r = guardian.api.patch(f"/api/v1/vitascope/wards/{teen.id}", json=values)
    assert r.status_code == 200, r.text
    return r.json()["controls"]


def test_sign_up_with_a_date_of_birth_makes_a_teen_account_with_strict_defaults(node):
    born = years_ago(15)
    r, teen = sign_up(node, born)
    assert r.status_code == 200, r.text
    mine = node.api(r.json()["access_token"]).get("/api/v1/vitascope/parental_controls").json()
    assert mine["teen"] is True and mine["guardian"] is None and mine["controls"] == STRICT
    adult_on = date.fromisoformat(born)
    assert mine["account"]["username"] == teen and mine["teen_until"] == adult_on.replace(year=adult_on.year + 18).isoformat()
    assert mine["today"]["feed_videos"] == 0 and mine["today"]["generations"] == 0

    r, _ = sign_up(node, years_ago(30))
    assert node.api(r.json()["access_token"]).get("/api/v1/vitascope/parental_controls").json() == {"teen": False}

    for bad, why in ((years_ago(10), "at least 13 years old"), ("30/04/2010", "a date like"),
                     ((date.today() + timedelta(days=2)).isoformat(), "not a plausible")):
        refused, username = sign_up(node, bad)
        assert refused.status_code == 422 and why in refused.json()["error"], refused.text
        assert requests.get(node.url + "/api/v1/accounts/lookup", params={"acct": username}).status_code == 404


def test_linking_is_asked_by_one_side_and_accepted_by_the_other(node, node_b):
    guardian, teen, other = Person(node), Person(node), Person(node)
    assert teen.api.get("/api/v1/vitascope/parental_controls").json() == {"teen": False}

    # The teen asks; the guardian sees it as incoming and accepts. Asking again returns the same request.
    asked = teen.api.post("/api/v1/vitascope/guardian_requests", json={"guardian_id": guardian.id}).json()
    assert asked["requested_by"] == "teen" and asked["incoming"] is False
    again = teen.api.post("/api/v1/vitascope/guardian_requests", data={"guardian_id": guardian.id}).json()
    assert again["id"] == asked["id"]
    [seen] = guardian.api.get("/api/v1/vitascope/guardian_requests").json()
    assert seen["id"] == asked["id"] and seen["incoming"] is True and seen["teen"]["id"] == teen.id
    own = teen.api.post(f"/api/v1/vitascope/guardian_requests/{asked['id']}/accept")
    assert own.status_code == 403 and "other side" in own.json()["error"]
    assert other.api.post(f"/api/v1/vitascope/guardian_requests/{asked['id']}/accept").status_code == 404
    accepted = guardian.api.post(f"/api/v1/vitascope/guardian_requests/{asked['id']}/accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["guardian"]["id"] == guardian.id and accepted.json()["controls"] == STRICT
    assert guardian.api.get("/api/v1/vitascope/guardian_requests").json() == []

    mine = teen.api.get("/api/v1/vitascope/parental_controls").json()
    assert mine["teen"] is True and mine["guardian"]["id"] == guardian.id and mine["teen_until"] is None
    assert [w["account"]["id"] for w in guardian.api.get("/api/v1/vitascope/wards").json()] == [teen.id]

    def refused(who: Person, **body) -> str:
        r = who.api.post("/api/v1/vitascope/guardian_requests", json=body)
        assert r.status_code == 422, r.text
        return r.json()["error"]

    assert "your own guardian" in refused(other, teen_id=other.id)
    assert "already has a guardian" in refused(other, teen_id=teen.id)
    assert "a teen account cannot be a guardian" in refused(teen, teen_id=other.id)
    assert "is the guardian of a teen account" in refused(other, teen_id=guardian.id)
    assert "either teen_id" in refused(other)
    assert other.api.post("/api/v1/vitascope/guardian_requests", json={"teen_id": "999"}).status_code == 404

    remote_user, _ = node_b.create_user()
    remote = other.masto.account_lookup(f"{remote_user}@{node_b.domain}")
    assert "remote accounts cannot be linked" in refused(other, teen_id=remote["id"])
    assert "remote accounts cannot be linked" in refused(other, guardian_id=remote["id"])

    # Declining (or withdrawing) removes the request.
    third = Person(node)
    pending = third.api.post("/api/v1/vitascope/guardian_requests", json={"teen_id": other.id}).json()
    assert other.api.post(f"/api/v1/vitascope/guardian_requests/{pending['id']}/decline").status_code == 200
    assert third.api.get("/api/v1/vitascope/guardian_requests").json() == []
    assert other.api.get("/api/v1/vitascope/parental_controls").json() == {"teen": False}


def test_the_guardian_sets_the_controls_and_the_teen_can_only_tighten_them(node):
    guardian, teen, stranger = Person(node), Person(node), Person(node)
    link(guardian, teen)
    controls = set_controls(guardian, teen, personalisation=True, daily_feed_videos=None, direct_messages="everyone",
                            cameo="mutuals", generations_per_day=5, timezone="Europe/Paris")
    assert controls == {"personalisation": True, "daily_feed_videos": None, "direct_messages": "everyone",
                        "cameo": "mutuals", "generations_per_day": 5, "timezone": "Europe/Paris"}
    # The flag the For You ranking reads is what the teen and the guardian see.
    assert teen.api.get("/api/v1/vitascope/parental_controls").json()["controls"]["personalisation"] is True

    def teen_patch(**values) -> requests.Response:
        return teen.api.patch("/api/v1/vitascope/parental_controls", json=values)

    tightened = teen_patch(daily_feed_videos=20, cameo="nobody", personalisation=False)
    assert tightened.status_code == 200, tightened.text
    assert tightened.json()["controls"]["daily_feed_videos"] == 20
    for looser in ({"daily_feed_videos": 21}, {"daily_feed_videos": None}, {"personalisation": True},
                   {"direct_messages": "everyone", "cameo": "mutuals"}, {"generations_per_day": 6},
                   {"timezone": "UTC"}):
        r = teen_patch(**looser)
        assert r.status_code == 403 and "only your guardian can loosen" in r.json()["error"], (looser, r.text)
    assert teen.api.get("/api/v1/vitascope/parental_controls").json()["controls"] == {
        "personalisation": False, "daily_feed_videos": 20, "direct_messages": "everyone", "cameo": "nobody",
        "generations_per_day": 5, "timezone": "Europe/Paris"}
    # Nobody but the guardian reaches the ward's controls, the teen included.
    assert teen.api.patch(f"/api/v1/vitascope/wards/{teen.id}", json={"daily_feed_videos": 500}).status_code == 404
    assert stranger.api.get(f"/api/v1/vitascope/wards/{teen.id}").status_code == 404
    assert stranger.api.delete(f"/api/v1/vitascope/wards/{teen.id}").status_code == 404

    for bad in ({"daily_feed_videos": -1}, {"daily_feed_videos": "lots"}, {"generations_per_day": 1001},
                {"direct_messages": "friends"}, {"personalisation": "perhaps"}, {"timezone": "Mars/Olympus"}):
        r = guardian.api.patch(f"/api/v1/vitascope/wards/{teen.id}", json=bad)
        assert r.status_code == 422, (bad, r.text)
    assert guardian.api.get(f"/api/v1/vitascope/wards/{teen.id}").json()["controls"]["daily_feed_videos"] == 20

    # Only the guardian unlinks; a teen by the link alone is then an ordinary account again.
    assert guardian.api.delete(f"/api/v1/vitascope/wards/{teen.id}").status_code == 200
    assert teen.api.get("/api/v1/vitascope/parental_controls").json() == {"teen": False}
    assert guardian.api.get("/api/v1/vitascope/wards").json() == []


def test_a_teen_by_date_of_birth_unlinked_returns_to_the_strict_defaults(node):
    r, username = sign_up(node, years_ago(14))
    teen, guardian = Person(node, username), Person(node)
    link(guardian, teen)
    set_controls(guardian, teen, direct_messages="everyone", daily_feed_videos=None)
    guardian.api.delete(f"/api/v1/vitascope/wards/{teen.id}").raise_for_status()
    mine = teen.api.get("/api/v1/vitascope/parental_controls").json()
    assert mine["teen"] is True and mine["guardian"] is None and mine["controls"] == STRICT


def test_direct_messages_outside_the_allowed_circle_are_refused_for_mastodon_clients(node):
    guardian, teen, friend, stranger = Person(node), Person(node), Person(node), Person(node)
    link(guardian, teen)  # strict: direct messages with mutuals only
    teen.masto.account_follow(friend.id)
    friend.masto.account_follow(teen.id)
    teen.masto.account_follow(stranger.id)  # one way only: not a mutual

    with pytest.raises(MastodonAPIError) as caught:
        stranger.masto.status_post(f"@{teen.username} psst", visibility="direct")
    assert caught.value.args[1] == 422 and "cannot receive direct messages from you" in str(caught.value)
    with pytest.raises(MastodonAPIError) as caught:
        teen.masto.status_post(f"@{stranger.username} hello", visibility="direct")
    assert caught.value.args[1] == 422 and "limited by your guardian" in str(caught.value)
    assert teen.masto.conversations() == [] and stranger.masto.conversations() == []
    with pytest.raises(MastodonAPIError) as caught:  # a scheduled one is checked when scheduled
        stranger.masto.status_post(f"@{teen.username} later", visibility="direct",
                                   scheduled_at=datetime.now(timezone.utc) + timedelta(hours=1))
    assert caught.value.args[1] == 422

    # Mutuals write both ways; the guardian always may; other visibilities are not direct messages.
    assert friend.masto.status_post(f"@{teen.username} hi", visibility="direct")["visibility"] == "direct"
    assert teen.masto.status_post(f"@{friend.username} hi back", visibility="direct")
    assert guardian.masto.status_post(f"@{teen.username} dinner at 7", visibility="direct")
    assert stranger.masto.status_post(f"@{teen.username} public hello", visibility="public")
    # Editing cannot slip someone in either.
    sent = teen.masto.status_post(f"@{friend.username} plans", visibility="direct")
    with pytest.raises(MastodonAPIError) as caught:
        teen.masto.status_update(sent["id"], f"@{friend.username} @{stranger.username} plans")
    assert caught.value.args[1] == 422

    set_controls(guardian, teen, direct_messages="nobody")
    with pytest.raises(MastodonAPIError):
        friend.masto.status_post(f"@{teen.username} still there?", visibility="direct")
    set_controls(guardian, teen, direct_messages="everyone")
    assert stranger.masto.status_post(f"@{teen.username} now you can hear me", visibility="direct")


def test_a_remote_direct_message_the_controls_exclude_never_reaches_the_teen(node, node_b):
    guardian, teen, adult = Person(node), Person(node), Person(node)
    link(guardian, teen)
    sender = node_b.mastodon()
    for person in (teen, adult):
        sender.account_lookup(f"{person.username}@{node.domain}")
    text = f"@{teen.username}@{node.domain} @{adult.username}@{node.domain} secret {uuid.uuid4().hex[:8]}"
    sender.status_post(text, visibility="direct")
    wait_for(lambda: adult.masto.notifications(types=["mention"]), what="the DM on alpha")
    assert teen.masto.notifications(types=["mention"]) == [] and teen.masto.conversations() == []
    assert not [s for s in teen.masto.timeline_home() if "secret" in s["content"]]


def _signed_ai_video(node, tmp_path: Path) -> Path:
    """A real MP4 signed with the node's own C2PA identity, as its generation worker would."""
    from provenance.c2pa import VitascopeClaim, prompt_digest, sign_video
    from provenance.certificates import NodeIdentity
    from tests.support.media import make_mp4

    identity = NodeIdentity.load_or_create(node.directory / "data" / "identity", node.domain)
    claim = VitascopeClaim(model_name="tiny-test", model_version="0", weights_digest=None, test_model=True,
                           node=node.domain, job_id="parental-test", prompt_digest=prompt_digest("a test clip"))
    signed = tmp_path / "signed.mp4"
    sign_video(make_mp4(tmp_path / "clip.mp4", seconds=1.0), signed, identity, claim)
    return signed


def test_the_daily_feed_limit_ends_the_feeds_for_every_client(node, tmp_path):
    guardian, teen, creator = Person(node), Person(node), Person(node)
    link(guardian, teen)
    set_controls(guardian, teen, daily_feed_videos=3)
    teen.masto.account_follow(creator.id)
    video = _signed_ai_video(node, tmp_path)
    posted = [creator.masto.status_post(f"clip {i}", media_ids=[creator.masto.media_post(str(video), "video/mp4")])
              for i in range(5)]
    text_only = creator.masto.status_post("no video here")  # newest: text never counts

    first = teen.masto.timeline_home(limit=3)
    assert [s["id"] for s in first] == [text_only["id"], posted[4]["id"], posted[3]["id"]]
    second = teen.masto.fetch_next(first)
    assert [s["id"] for s in second] == [posted[2]["id"]]  # the third video, then the feed ends
    assert teen.masto.fetch_next(second) is None  # Mastodon.py sees no further page

    home = teen.api.get("/api/v1/timelines/home", params={"max_id": posted[2]["id"]})
    assert home.status_code == 200 and home.json() == []
    assert home.headers["Vitascope-Feed-End"] == "daily-limit"
    assert home.headers["Vitascope-Feed-Limit"].startswith("limit=3, served=3, resets-at=")
    # A refresh shows what was already served (free), and the end again; so do the other feeds.
    top = teen.api.get("/api/v1/timelines/home")
    assert [s["id"] for s in top.json()] == [text_only["id"], posted[4]["id"], posted[3]["id"], posted[2]["id"]]
    assert top.headers["Vitascope-Feed-End"] == "daily-limit" and 'rel="next"' not in top.headers.get("Link", "")
    local = teen.api.get("/api/v1/timelines/public", params={"local": "true", "only_media": "true",
                                                           "max_id": posted[2]["id"]})
    assert local.json() == [] and local.headers["Vitascope-Feed-End"] == "daily-limit"
    assert teen.api.get("/api/v1/vitascope/parental_controls").json()["today"]["feed_videos"] == 3
    # The creator is not limited; raising the limit lets the teen go on.
    assert len(creator.masto.timeline_home(limit=10)) == 6
    set_controls(guardian, teen, daily_feed_videos=4)
    more = teen.api.get("/api/v1/timelines/home", params={"max_id": posted[2]["id"]})
    assert [s["id"] for s in more.json()] == [posted[1]["id"]] and more.headers["Vitascope-Feed-End"] == "daily-limit"


def test_the_guardian_limits_generations_per_day(node):
    guardian, teen = Person(node), Person(node)
    link(guardian, teen)
    set_controls(guardian, teen, generations_per_day=1)
    first = teen.api.post("/api/v1/vitascope/generations", json={"prompt": "a paper boat", "duration": 1})
    assert first.status_code == 202, first.text
    second = teen.api.post("/api/v1/vitascope/generations", json={"prompt": "a paper plane", "duration": 1})
    assert second.status_code == 429 and "Your guardian allows 1 generation a day" in second.json()["error"]
    assert int(second.headers["Retry-After"]) > 0 and second.json()["resets_at"].endswith("Z")
    assert teen.api.get("/api/v1/vitascope/parental_controls").json()["today"]["generations"] == 1
    set_controls(guardian, teen, generations_per_day=None)
    assert teen.api.post("/api/v1/vitascope/generations",
                         json={"prompt": "a paper plane", "duration": 1}).status_code == 202


def test_the_streaming_api_stops_sending_videos_at_the_daily_limit(node, tmp_path):
    from tests.support.sse import SseReader

    guardian, teen, creator = Person(node), Person(node), Person(node)
    link(guardian, teen)
    set_controls(guardian, teen, daily_feed_videos=1)
    teen.masto.account_follow(creator.id)
    video = _signed_ai_video(node, tmp_path)
    stream = SseReader(node.url + "/api/v1/streaming/user", teen.masto.access_token)
    try:
        first = creator.masto.status_post("first clip", media_ids=[creator.masto.media_post(str(video), "video/mp4")])
        second = creator.masto.status_post("second clip", media_ids=[creator.masto.media_post(str(video), "video/mp4")])
        words = creator.masto.status_post("just words")
        # Events of one stream arrive in order: once the text post is here, the second clip would be too.
        stream.wait_for(lambda event, data: event == "update" and data["id"] == words["id"])
        updates = [data["id"] for event, data in stream.events if event == "update"]
        assert updates == [first["id"], words["id"]] and second["id"] not in updates
    finally:
        stream.close()
    assert teen.api.get("/api/v1/vitascope/parental_controls").json()["today"]["feed_videos"] == 1
    assert teen.api.get("/api/v1/timelines/home").headers["Vitascope-Feed-End"] == "daily-limit"
