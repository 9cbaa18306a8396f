"""Client API requests while the node's Redis is away: the rate limit lets them through, what truly
needs Redis (queueing a generation) answers 503 with Retry-After, nothing answers 500, and all works
again once Redis is back."""

from __future__ import annotations

from tests.support.waiting import wait_for

GENERATE = {"prompt": "a paper boat", "duration": 1}


def test_client_api_while_redis_is_away_and_after_it_is_back(nodes):
    live = nodes("redis-away")
    username, _ = live.create_user()
    api = live.api(live.token(username, scopes="read write follow push"))
    fan, _ = live.create_user()
    fan_api = live.api(live.token(fan))
    me = api.get("/api/v1/accounts/verify_credentials").json()
    server = live.redis_server
    assert api.get("/api/v1/timelines/home").status_code == 200

    server.stop()
    try:
        for path in ("/api/v1/accounts/verify_credentials", "/api/v1/timelines/home", "/api/v1/timelines/public",
                     "/api/v2/instance", "/api/v1/notifications", "/api/v1/vitascope/generations"):
            r = api.get(path)
            assert r.status_code == 200, (path, r.status_code, r.text)
            assert "X-RateLimit-Remaining" not in r.headers  # not counted: nothing to count with
        # Writes whose side effects use Redis (live streams, Web Push, deliveries) still succeed.
        posted = api.post("/api/v1/statuses", json={"status": "written while Redis is away"})
        assert posted.status_code == 200, posted.text
        assert fan_api.post(f"/api/v1/accounts/{me['id']}/follow").status_code == 200
        assert [n["type"] for n in api.get("/api/v1/notifications").json()] == ["follow"]
        r = api.post("/api/v1/vitascope/generations", json=GENERATE)
        assert r.status_code == 503, r.text
        assert r.json()["error"] and int(r.headers["Retry-After"]) > 0
        assert api.get("/api/v1/vitascope/generations").json() == []  # nothing half-written
        log = live.log_path.read_text(errors="replace")
        assert log.count("requests are not rate limited meanwhile") == 1  # one warning, not one per request
    finally:
        server.start()

    queued = wait_for(lambda: (r := api.post("/api/v1/vitascope/generations", json=GENERATE)).status_code != 503 and r,
                      what="a generation queued once Redis is back")
    assert queued.status_code == 202, queued.text
    r = api.get("/api/v1/timelines/home")
    assert r.status_code == 200 and "X-RateLimit-Remaining" in r.headers
    assert [job["id"] for job in api.get("/api/v1/vitascope/generations").json()] == [queued.json()["id"]]
    assert "unhandled error" not in live.log_path.read_text(errors="replace")
