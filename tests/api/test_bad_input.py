"""Every class of bad input gets a clear 4xx {"error": ...} — never a 500 — and writes nothing."""

from __future__ import annotations

import pytest
import requests


@pytest.fixture(scope="module")
def user(node):
    username, password = node.create_user()
    api = node.api(node.token(username, password))
    me = api.get("/api/v1/accounts/verify_credentials").json()
    return api, me


def _count(api, me) -> int:
    return api.get(f"/api/v1/accounts/{me['id']}").json()["statuses_count"]


def _is_error(r, status):
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert isinstance(body.get("error"), str) and body["error"]


def test_malformed_json_is_400_and_writes_nothing(user):
    api, me = user
    before = _count(api, me)
    _is_error(api.post("/api/v1/statuses", data=b'{"status": "half', headers={"Content-Type": "application/json"}), 400)
    _is_error(api.post("/api/v1/statuses", data=b'["a list"]', headers={"Content-Type": "application/json"}), 400)
    _is_error(api.post("/api/v1/statuses", data=b'\xff\xfe', headers={"Content-Type": "application/json"}), 400)
    assert _count(api, me) == before


def test_nul_bytes_are_refused(user):
    api, me = user
    before = _count(api, me)
    _is_error(api.post("/api/v1/statuses", json={"status": "bad\x00byte"}), 422)
    _is_error(api.post("/api/v1/statuses", data={"status": "bad\x00byte"}), 422)
    _is_error(api.patch("/api/v1/accounts/update_credentials", json={"display_name": "x\x00"}), 422)
    assert _count(api, me) == before
    assert "\x00" not in api.get("/api/v1/accounts/verify_credentials").json()["display_name"]


def test_wrong_types_are_422(user):
    api, me = user
    before = _count(api, me)
    _is_error(api.post("/api/v1/statuses", json={"status": ["not", "a", "string"]}), 422)
    _is_error(api.post("/api/v1/statuses", json={"status": "x", "sensitive": "maybe"}), 422)
    _is_error(api.post("/api/v1/statuses", json={"status": "x", "visibility": "everyone"}), 422)
    _is_error(api.post("/api/v1/statuses", json={"status": "x", "media_ids": {"a": 1}}), 422)
    _is_error(api.get("/api/v1/timelines/home", params={"limit": "lots"}), 422)
    _is_error(api.post("/api/v1/statuses", json={"status": "x" * 600}), 422)
    _is_error(api.post("/api/v1/statuses", json={"status": ""}), 422)
    assert _count(api, me) == before


def test_unknown_ids_are_404(user, node):
    api, _ = user
    for path in ("/api/v1/statuses/999999999999", "/api/v1/statuses/abc", "/api/v1/accounts/12345678901234567890123",
                 "/api/v1/notifications/42", "/api/v1/media/77"):
        _is_error(api.get(path), 404)
    _is_error(api.post("/api/v1/statuses/999/favourite"), 404)
    _is_error(api.post("/api/v1/accounts/999/follow"), 404)
    _is_error(api.post("/api/v1/statuses", json={"status": "reply", "in_reply_to_id": "999"}), 404)
    _is_error(api.get("/api/v1/no/such/endpoint"), 404)


def test_unknown_media_id_writes_nothing(user):
    api, me = user
    before = _count(api, me)
    _is_error(api.post("/api/v1/statuses", json={"status": "with media", "media_ids": ["123"]}), 422)
    assert _count(api, me) == before


def test_oversize_bodies_are_413(user, node):
    api, me = user
    before = _count(api, me)
    big = "x" * (2 * 1024 * 1024)
    _is_error(api.post("/api/v1/statuses", json={"status": big}), 413)

    def chunks():
        for _ in range(40):
            yield b"a" * 65536

    r = api.post("/api/v1/statuses", data=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"})
    _is_error(r, 413)
    assert _count(api, me) == before


def test_tokens_missing_invalid_revoked_and_insufficient(node):
    _is_error(requests.get(node.url + "/api/v1/timelines/home"), 401)
    _is_error(requests.get(node.url + "/api/v1/timelines/home", headers={"Authorization": "Bearer nope"}), 401)
    # an invalid token is refused even where anonymous access is allowed
    _is_error(requests.get(node.url + "/api/v1/timelines/public", headers={"Authorization": "Bearer nope"}), 401)
    username, password = node.create_user()
    cid, secret = node.register_app("read")
    token = requests.post(node.url + "/oauth/token", data={"grant_type": "password", "client_id": cid,
                                                           "client_secret": secret, "username": username,
                                                           "password": password, "scope": "read"}).json()["access_token"]
    api = node.api(token)
    _is_error(api.post("/api/v1/statuses", json={"status": "x"}), 403)
    requests.post(node.url + "/oauth/revoke", data={"client_id": cid, "client_secret": secret, "token": token})
    _is_error(api.get("/api/v1/timelines/home"), 401)


def test_oauth_bad_input(node):
    cid, secret = node.register_app("read")
    r = requests.post(node.url + "/oauth/token", data={"grant_type": "password", "client_id": cid, "client_secret": secret,
                                                       "username": "nobody", "password": "x"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = requests.post(node.url + "/oauth/token", data={"grant_type": "password", "client_id": cid, "client_secret": secret,
                                                       "username": "nobody", "password": "x", "scope": "admin:write"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
    r = requests.post(node.url + "/oauth/token", data={"grant_type": "magic", "client_id": cid, "client_secret": secret})
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    r = requests.post(node.url + "/oauth/token", data={"grant_type": "client_credentials", "client_id": "nope"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = requests.post(node.url + "/oauth/token", data={"grant_type": "client_credentials", "client_id": cid,
                                                       "client_secret": "wrong"})
    assert r.status_code == 401
    _is_error(requests.post(node.url + "/api/v1/apps", data={"client_name": "x", "redirect_uris": "not a uri"}), 422)
    _is_error(requests.post(node.url + "/api/v1/apps", data={"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                                                             "scopes": "read teleport"}), 422)
    page = requests.get(node.url + "/oauth/authorize", params={"client_id": cid, "redirect_uri": "https://evil.example"})
    assert page.status_code == 400 and "redirect" in page.text


def test_registration_rules(node):
    cid, secret = node.register_app("read write")
    token = requests.post(node.url + "/oauth/token", data={"grant_type": "client_credentials", "client_id": cid,
                                                           "client_secret": secret, "scope": "read write"}).json()["access_token"]
    api = node.api(token)
    _is_error(api.post("/api/v1/accounts", data={"username": "bad name!", "password": "long enough pw", "agreement": "1"}), 422)
    _is_error(api.post("/api/v1/accounts", data={"username": "admin", "password": "long enough pw", "agreement": "1"}), 422)
    _is_error(api.post("/api/v1/accounts", data={"username": "shortpw", "password": "x", "agreement": "1"}), 422)
    _is_error(api.post("/api/v1/accounts", data={"username": "noagree", "password": "long enough pw"}), 422)
    ok = api.post("/api/v1/accounts", data={"username": "fresh_user", "password": "long enough pw", "agreement": "1"})
    assert ok.status_code == 200 and ok.json()["access_token"]
    _is_error(api.post("/api/v1/accounts", data={"username": "FRESH_USER", "password": "long enough pw", "agreement": "1"}), 422)


def test_camera_roll_video_is_refused_by_media_upload(user, tmp_path):
    import av
    import numpy as np

    api, me = user
    path = tmp_path / "camera.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(24):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 10, dtype=np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    r = api.post("/api/v2/media", files={"file": ("camera.mp4", path.read_bytes(), "video/mp4")})
    _is_error(r, 422)
    assert "C2PA" in r.json()["error"]
    r = api.post("/api/v2/media", files={"file": ("photo.jpg", b"\xff\xd8\xff", "image/jpeg")})
    _is_error(r, 422)
    _is_error(api.post("/api/v2/media", data={"description": "no file"}), 422)


def test_cors_for_browser_clients_errors_included(user, node):
    """Browser clients on other origins can use the API: preflights answer 204, and every API
    answer carries the CORS headers, errors and rate-limit headers included; ActivityPub routes
    do not."""
    api, _ = user
    preflight = requests.options(node.url + "/api/v1/statuses", headers={
        "Origin": "https://client.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Content-Type"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    ok = api.get("/api/v1/accounts/verify_credentials")
    assert ok.status_code == 200 and ok.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-RateLimit-Remaining" in ok.headers["Access-Control-Expose-Headers"]
    assert int(ok.headers["X-RateLimit-Limit"]) >= int(ok.headers["X-RateLimit-Remaining"]) >= 0
    missing = api.get("/api/v1/statuses/1")
    _is_error(missing, 404)
    assert missing.headers["Access-Control-Allow-Origin"] == "*"
    too_big = requests.post(node.url + "/api/v1/statuses", data=b"x" * (2 * 1024 * 1024),
                            headers={"Content-Type": "application/json"})
    _is_error(too_big, 413)
    assert too_big.headers["Access-Control-Allow-Origin"] == "*"
    actor = requests.get(node.url + "/actor", headers={"Accept": "application/activity+json"})
    assert actor.status_code == 200 and "Access-Control-Allow-Origin" not in actor.headers
