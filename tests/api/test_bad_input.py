"""Every class of bad input gets a clear 4xx {"error": ...} — never a 500 — and writes nothing."""

from __future__ import annotations

import asyncio
import json
import re

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


# --------------------------------------------------------------------------- one test per input class

AP = {"Accept": "application/activity+json"}
JSON_CT = {"Content-Type": "application/json"}


def test_ids_beyond_64_bits_are_not_found_or_refused(user, node):
    """2**63 passes a 19-digit length check and overflowed the BIGINT column: path ids and body
    ids are 404, cursors 422, ActivityPub paths and pages 404, and a bad AP cursor is ignored."""
    api, me = user
    big = "9223372036854775808"
    _is_error(api.get(f"/api/v1/statuses/{big}"), 404)
    _is_error(api.get(f"/api/v1/accounts/{big}"), 404)
    _is_error(api.post(f"/api/v1/statuses/{big}/favourite"), 404)
    _is_error(api.post("/api/v1/statuses", json={"status": "reply", "in_reply_to_id": big}), 404)
    _is_error(api.post("/api/v1/statuses", json={"status": "media", "media_ids": [big]}), 404)
    for cursor in ("max_id", "since_id", "min_id"):
        _is_error(api.get("/api/v1/timelines/public", params={cursor: big}), 422)
        _is_error(api.get(f"/api/v1/accounts/{me['id']}/statuses", params={cursor: big}), 422)
    _is_error(requests.get(f"{node.url}/users/{me['username']}/statuses/{big}", headers=AP), 404)
    assert requests.get(f"{node.url}/@{me['username']}/{big}").status_code == 404  # the HTML page
    outbox = requests.get(f"{node.url}/users/{me['username']}/outbox", params={"page": "true", "max_id": big}, headers=AP)
    assert outbox.status_code == 200, outbox.text


def test_non_ascii_digits_are_not_ids(user, node):
    """`²` passes str.isdigit() and fails int(); `١٢٣` passes both: neither is an id."""
    api, me = user
    for digits in ("²", "١٢٣"):
        _is_error(api.get(f"/api/v1/statuses/{digits}"), 404)
        _is_error(api.get("/api/v1/timelines/public", params={"max_id": digits}), 422)
        _is_error(api.post("/api/v1/statuses", json={"status": "reply", "in_reply_to_id": digits}), 404)
        _is_error(api.post("/api/v1/markers", json={"notifications": {"last_read_id": digits}}), 422)
        _is_error(requests.get(f"{node.url}/users/{me['username']}/statuses/{digits}", headers=AP), 404)
        assert requests.get(f"{node.url}/@{me['username']}/{digits}").status_code == 404
    assert api.get("/api/v1/notifications/unread_count").status_code == 200  # a stored `²` broke it


def _signed_inbox_post(node, body: bytes) -> requests.Response:
    from federation.signatures import sign_cavage
    from provenance.keys import generate_rsa_private_pem

    headers = {"Content-Type": "application/activity+json"}
    headers |= sign_cavage("POST", node.url + "/inbox", headers, body, "http://127.0.0.1:9/users/x#main-key",
                           generate_rsa_private_pem())
    return requests.post(node.url + "/inbox", data=body, headers=headers)


def test_deeply_nested_json_is_400_before_it_is_parsed(user, node):
    api, me = user
    before = _count(api, me)
    for body in (b"[" * 5000 + b"]" * 5000, b'{"status":' * 3000 + b'"x"' + b"}" * 3000, b"[" * 200_000):
        _is_error(api.post("/api/v1/statuses", data=body, headers=JSON_CT), 400)
        _is_error(requests.post(node.url + "/inbox", data=body, headers={"Content-Type": "application/activity+json"}), 400)
        _is_error(_signed_inbox_post(node, body), 400)
    _is_error(api.post("/api/v1/statuses", data=b'{"status": "x", "deep": ' + b"[" * 70 + b"]" * 70 + b"}",
                       headers=JSON_CT), 400)
    shallow = b'{"status": "shallow enough", "x": ' + b"[" * 60 + b'"' + b"[{" * 100 + b'"' + b"]" * 60 + b"}"
    assert api.post("/api/v1/statuses", data=shallow, headers=JSON_CT).status_code == 200
    assert _count(api, me) == before + 1


def test_malformed_multipart_is_400_on_every_form_route(user):
    api, me = user
    before = _count(api, me)
    broken = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"status\"\r\nBroken header line\r\n\r\n"
              f"x\r\n--{BOUNDARY}--\r\n").encode()
    for method, path in (("POST", "/api/v2/media"), ("POST", "/api/v1/media"), ("POST", "/api/v1/statuses"),
                         ("PATCH", "/api/v1/accounts/update_credentials"), ("POST", "/api/v1/vitascope/generations")):
        _is_error(api.request(method, path, data=broken, headers={"Content-Type": MULTIPART}), 400)
    assert _count(api, me) == before


def test_json_integers_beyond_the_digit_limit_are_400(user, node):
    api, me = user
    body = b'{"status": "x", "in_reply_to_id": ' + b"9" * 5000 + b"}"
    _is_error(api.post("/api/v1/statuses", data=body, headers=JSON_CT), 400)
    _is_error(requests.post(node.url + "/oauth/token", data=b'{"grant_type": ' + b"1" * 5000 + b"}", headers=JSON_CT), 400)
    _is_error(_signed_inbox_post(node, b'{"type": "Create", "actor": "x", "n": ' + b"1" * 5000 + b"}"), 400)


def test_lone_surrogates_are_422(user, node):
    """`"\\ud800"` is valid JSON text that no UTF-8 encoder can write: refused where parsed."""
    api, me = user
    before = _count(api, me)
    surrogate = json.dumps({"status": "text \ud800"}).encode()
    _is_error(api.post("/api/v1/statuses", data=surrogate, headers=JSON_CT), 422)
    _is_error(api.post("/api/v1/statuses", data=json.dumps({"status": "x", "spoiler_text": "\udfff"}), headers=JSON_CT), 422)
    _is_error(api.patch("/api/v1/accounts/update_credentials", data=json.dumps({"note": "\ud800"}), headers=JSON_CT), 422)
    _is_error(api.post("/api/v1/vitascope/aliases", data=json.dumps({"acct": "a\ud800@example.com"}), headers=JSON_CT), 422)
    _is_error(api.put("/api/v1/media/1", data=json.dumps({"description": "\ud800"}), headers=JSON_CT), 404)
    _is_error(requests.post(node.url + "/oauth/token", data=json.dumps({"grant_type": "password", "client_id": "\ud800",
                                                                         "username": "x", "password": "y"}),
                            headers=JSON_CT), 422)
    _is_error(requests.post(node.url + "/api/v1/apps", data=json.dumps({"client_name": "\ud800",
                                                                         "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}),
                            headers=JSON_CT), 422)
    assert _count(api, me) == before


def test_over_long_lookups_are_4xx_and_logged_short(user, node):
    """Values longer than their column fit no row: a 4xx, not the ORM's ValidationError as a 500,
    and a 99 KB value does not land in the log whole (it once did, twice)."""
    api, me = user
    cid = "c" * 65
    for r in (requests.post(node.url + "/oauth/token", data={"grant_type": "client_credentials", "client_id": cid,
                                                             "client_secret": "x"}),
              requests.post(node.url + "/oauth/revoke", data={"client_id": cid, "client_secret": "x", "token": "t"}),
              requests.get(node.url + "/oauth/authorize", params={"client_id": cid, "redirect_uri": "urn:ietf:wg:oauth:2.0:oob"},
                           headers={"Accept": "application/json"}),
              api.get("/api/v1/timelines/tag/" + "t" * 3000),
              api.get("/api/v1/accounts/lookup", params={"acct": "u" * 3000}),
              api.get(f"/api/v1/accounts/{me['id']}/statuses", params={"tagged": "t" * 3000}),
              api.get("/api/v1/vitascope/generations", params={"state": "s" * 6000}),
              requests.get(node.url + "/api/v1/timelines/public", params={"access_token": "a\x00b"})):
        assert 400 <= r.status_code < 500, (r.url[:120], r.status_code, r.text[:200])
        assert r.headers["Content-Type"].startswith("application/json") and r.json()["error"]
    size = node.log_path.stat().st_size
    r = requests.post(node.url + "/oauth/token", data={"grant_type": "password", "client_id": "c" * 99_000,
                                                       "username": "u" * 99_000, "password": "x"})
    assert 400 <= r.status_code < 500 and "c" * 200 not in r.text
    assert node.log_path.stat().st_size - size < 10_000


# --------------------------------------------------------------------------- every route, every class

# Path values, percent-encoded as sent: beyond 64 bits, non-ASCII digits (`²` passes isdigit, `١٢٣`
# even int()), 5,000 digits, over-long, NUL, an unpaired surrogate's UTF-8 bytes.
BAD_PATH_VALUES = ["9223372036854775808", "99999999999999999999", "-1", "%C2%B2", "%D9%A1%D9%A2%D9%A3",
                   "1" * 5000, "x" * 3000, "a%00b", "%ED%A0%80"]
BAD_IDS = ["9223372036854775808", "99999999999999999999", "²", "١٢٣", "1" * 5000]
# Names the API reads, so each class reaches every look-up and write that parses them.
ID_KEYS = ["id", "max_id", "since_id", "min_id", "in_reply_to_id", "remix_of_id", "account_id", "target_account_id",
           "report_id", "warning_preset_id", "last_read_id", "limit", "offset", "credits", "amount", "strength",
           "duration", "seed", "width", "height", "frames"]
LIST_ID_KEYS = ["media_ids", "status_ids", "account_ids", "rule_ids"]
TEXT_KEYS = ["status", "spoiler_text", "description", "focus", "client_id", "client_secret", "redirect_uri",
             "redirect_uris", "client_name", "scopes", "scope", "code", "grant_type", "username", "password", "email",
             "note", "display_name", "acct", "q", "also_known_as", "comment", "category", "prompt", "negative_prompt",
             "state", "token", "domain", "severity", "text", "type", "tag", "tagged", "visibility", "language",
             "reason", "locale", "account", "resource", "action", "private_comment", "public_comment",
             "stream", "format", "code_verifier", "response_type"]


def _json_body(text_value, id_value) -> bytes:
    body = {k: id_value for k in ID_KEYS} | {k: [id_value] for k in LIST_ID_KEYS} | {k: text_value for k in TEXT_KEYS}
    body |= {"home": {"last_read_id": id_value}, "notifications": {"last_read_id": id_value},
             "media_attributes": [{"id": id_value, "description": text_value}],
             "fields_attributes": {"0": {"name": text_value, "value": text_value}}}
    return json.dumps(body).encode()


def _form(value) -> dict:
    return {k: value for k in ID_KEYS + TEXT_KEYS} | {f"{k}[]": value for k in LIST_ID_KEYS}


BOUNDARY = "b0undary"
JSON = "application/json"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
BAD_BODIES = [  # (content type, body)
    (JSON, b"[" * 5000 + b"]" * 5000),
    (JSON, b'{"a":' * 3000 + b"1" + b"}" * 3000),
    (JSON, b"[" * 100_000),
    ("application/activity+json", b'{"type":"Create","actor":"x","object":' * 2000 + b"{}" + b"}" * 2000),
    (JSON, b'{"status":"x","in_reply_to_id":' + b"9" * 5000 + b',"id":' + b"1" * 5000 + b"}"),
    (JSON, _json_body("\ud800 lone surrogate", "\ud800")),
    (JSON, _json_body("x" * 3000, "x" * 3000)),
    (JSON, _json_body("c" * 65, "9223372036854775808")),
    (JSON, _json_body("bad\x00nul", "²")),
    (JSON, _json_body("x", 2**64)),
    (JSON, _json_body("x", -(2**63) - 1)),
    (JSON, b'{"limit": 1e999, "strength": 1e999, "max_id": 1e999}'),
    (MULTIPART, f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"a\"\r\nBroken header line\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode()),
    (MULTIPART, f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end".encode()),
    (MULTIPART, f"--{BOUNDARY}\r\n\r\n\r\n--{BOUNDARY}--\r\n".encode()),
    (MULTIPART, f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"status\"\r\n\r\n\xff\xfe\r\n--{BOUNDARY}--\r\n".encode("latin-1")),
    ("multipart/form-data", b"no boundary at all"),
    (f"multipart/form-data; boundary={'b' * 200}", b"--" + b"b" * 200 + b"\r\n" + b"x" * 100 + b"\r\n"),
    ("application/x-www-form-urlencoded", "&".join(f"{k}=%ED%A0%80" for k in TEXT_KEYS).encode()),
]


def _encoded_form(value: str) -> bytes:
    from urllib.parse import urlencode

    return urlencode(_form(value)).encode()


BAD_BODIES += [("application/x-www-form-urlencoded", _encoded_form(v)) for v in BAD_IDS + ["x" * 3000, "a\x00b"]]
BAD_QUERIES = [_form(v) for v in BAD_IDS + ["x" * 3000, "a\x00b"]]


@pytest.fixture(scope="module")
def routes(node):
    """The node's route table, from the app the node runs (built in-process, nothing started)."""
    from node.app import create_app
    from node.config import load_config

    app = create_app(load_config(node.config_path))
    table = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("formatter") or info.get("path") or (info.get("prefix", "") + "/{filename}")
        if route.method not in ("HEAD", "OPTIONS", "*"):
            table.add((route.method, path))
    assert len(table) > 100 and ("POST", "/inbox") in table and ("GET", "/users/{username}/statuses/{id}") in table
    return sorted(table)


def _requests(routes, good: dict[str, str]):
    """(method, encoded path, params, content type, body) for every route and class."""
    for method, template in routes:
        names = re.findall(r"{(\w+)}", template)

        def fill(values):
            return re.sub(r"{(\w+)}", lambda m: values[m.group(1)], template)

        base = fill({n: good.get(n, "1") for n in names})
        for name in names:
            for bad in BAD_PATH_VALUES:
                yield method, fill({n: good.get(n, "1") for n in names} | {name: bad}), None, None, None
        for query in BAD_QUERIES:
            if method == "GET":
                yield method, base, query, None, None
        if method != "GET":
            for ctype, body in BAD_BODIES:
                yield method, base, None, ctype, body


async def _send_all(node, token, requests_) -> tuple[list[str], set]:
    """Sends them all (16 at a time); returns the problems and the indexes of the writes accepted."""
    import aiohttp
    from yarl import URL

    limit = asyncio.Semaphore(16)
    problems, accepted = [], set()

    async def one(session, index, request):
        method, path, params, ctype, body = request
        url = URL(node.url + path, encoded=True)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/activity+json, application/json"}
        if ctype:
            headers["Content-Type"] = ctype
        what = f"{method} {path[:80]} {str(params)[:60] if params else ''} {ctype or ''} {(body or b'')[:40]!r}"
        async with limit:
            try:
                async with session.request(method, url, params=params, data=body, headers=headers,
                                           allow_redirects=False) as r:
                    # a 2xx may be a stream (server-sent events): its status is what counts
                    text = await r.text(errors="replace") if r.status >= 400 else ""
                    is_json = r.content_type.endswith("json")
            except TimeoutError:
                problems.append(f"no answer: {what}")
                return
        if r.status < 300 and method != "GET":
            accepted.add(index)
        if r.status >= 500:
            problems.append(f"{r.status} {what}: {text[:200]}")
        elif r.status >= 400 and is_json and not isinstance(json.loads(text).get("error"), str):
            problems.append(f"{r.status} without an error {what}: {text[:200]}")

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        await asyncio.gather(*(one(session, i, r) for i, r in enumerate(requests_)))
    return problems, accepted


def test_every_route_answers_every_bad_input_with_a_4xx_and_writes_nothing(node, routes):
    """Walks the route table: bad ids and over-long, NUL or non-ASCII-digit values in every path
    placeholder; bad cursors and values in every query; deep, huge-integer, surrogate, malformed
    JSON, forms and multipart bodies to every write. No 5xx, and every JSON error has "error". A
    route added later is covered without anyone listing it.

    Then nothing written: a write route may accept a body whose bad values sit in keys it never
    reads (PATCH update_credentials with a junk `max_id` is a valid empty update, and federates
    one), so the refused requests are sent again between two counts of every table's rows."""
    username, password = node.create_user(admin=True)
    token = node.token(username, password, "read write follow push admin:read admin:write")
    api = node.api(token)
    assert api.post("/api/v1/statuses", json={"status": "a post to aim at"}).status_code == 200
    every = list(_requests(routes, {"username": username, "kind": "follow", "undo": "unsilence"}))
    assert len(every) > 2000
    problems, accepted = asyncio.run(_send_all(node, token, every))
    assert not problems, f"{len(problems)} of {len(every)}:\n" + "\n".join(problems[:40])
    refused = [r for i, r in enumerate(every) if i not in accepted and r[0] != "GET"]
    assert len(accepted) < len(refused) / 20, [every[i][:2] for i in sorted(accepted)]  # the exception
    before = node.row_counts()
    problems, accepted_now = asyncio.run(_send_all(node, token, refused))
    after = node.row_counts()
    assert not problems and not accepted_now, (problems[:10], [refused[i][:2] for i in sorted(accepted_now)])
    assert after == before, {t: (before.get(t), after.get(t)) for t in set(before) | set(after) if before.get(t) != after.get(t)}
    assert "Traceback" not in node.log()
