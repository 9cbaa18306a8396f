"""Slow and odd requests: a body that stalls or trickles is cut off (408) and frees its
connection, uploads at once are capped, and requests aiohttp's HTTP parser refuses (a header or
URL over the limits) are answered in JSON like every other error."""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests

LIMITS = {"body_idle_timeout_seconds": 1, "body_timeout_seconds": 3, "upload_timeout_seconds": 4,
          "max_concurrent_uploads": 2, "max_url_bytes": 4096, "max_header_bytes": 4096}


@pytest.fixture(scope="module")
def slow_node(nodes):
    return nodes("slowreq", overrides={"limits": LIMITS})


@pytest.fixture(scope="module")
def token(slow_node):
    return slow_node.token(*slow_node.create_user())


def _open(node, method: str, path: str, token: str, length: int, first: bytes,
          ctype: str = "application/json") -> socket.socket:
    """A raw request that declares ``length`` bytes of body and sends only ``first``."""
    sock = socket.create_connection(("127.0.0.1", node.port), timeout=30)
    sock.sendall((f"{method} {path} HTTP/1.1\r\nHost: {node.domain}\r\nAuthorization: Bearer {token}\r\n"
                  f"Content-Type: {ctype}\r\nContent-Length: {length}\r\n\r\n").encode() + first)
    return sock


def _answer(sock: socket.socket) -> tuple[int, dict, bool]:
    """Status, JSON body, and whether the server then closed the connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed without an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += sock.recv(65536)
    closed = sock.recv(1) == b""
    return int(head.split(b" ", 2)[1]), json.loads(body[:length]), closed


def test_a_body_that_stalls_is_cut_off_with_408(slow_node, token):
    """50 MiB declared, 1 MiB sent, then silence: 408 once the body has been idle for
    body_idle_timeout_seconds, the connection closed, and no traceback logged."""
    started = time.monotonic()
    sock = _open(slow_node, "POST", "/api/v2/media", token, 50 * 1024 * 1024,
                 b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"v.mp4\"\r\n\r\n" + b"\0" * (1 << 20),
                 ctype="multipart/form-data; boundary=b")
    with sock:
        status, body, closed = _answer(sock)
    assert status == 408 and body["error"] and closed
    assert time.monotonic() - started < LIMITS["upload_timeout_seconds"] + 20
    for method, path in (("POST", "/api/v1/statuses"), ("POST", "/inbox")):
        with _open(slow_node, method, path, token, 10_000, b'{"status": "') as sock:
            status, body, closed = _answer(sock)
        assert status == 408 and body["error"] and closed
    assert "Traceback" not in slow_node.log()


def test_a_body_that_trickles_is_cut_off_at_the_body_timeout(slow_node, token):
    """Never idle long enough for the idle timeout, yet never done: body_timeout_seconds ends it."""
    started = time.monotonic()
    with _open(slow_node, "POST", "/api/v1/statuses", token, 10_000, b'{"status": "') as sock:
        sock.settimeout(0.3)
        while True:
            try:
                first = sock.recv(1)
                break  # the answer began
            except TimeoutError:
                sock.sendall(b"x")  # one byte per 0.3 s: never idle for a second
            assert time.monotonic() - started < 30, "never cut off"
        sock.settimeout(30)
        rest = first + sock.recv(65536)
    assert rest.startswith(b"HTTP/1.1 408")
    assert time.monotonic() - started >= LIMITS["body_timeout_seconds"] - 0.5


def test_a_client_that_hangs_up_mid_body_leaves_no_traceback(slow_node, token):
    size = slow_node.log_path.stat().st_size
    for path, ctype, first in (("/api/v1/statuses", "application/json", b'{"status": "'),
                               ("/inbox", "application/activity+json", b'{"type": "'),
                               ("/api/v2/media", "multipart/form-data; boundary=b",
                                b'--b\r\nContent-Disposition: form-data; name="file"; filename="v.mp4"\r\n\r\n')):
        sock = _open(slow_node, "POST", path, token, 100_000, first + b"x" * 1000, ctype=ctype)
        sock.close()
    # the node is still answering, and logged each disconnect as one plain line
    deadline = time.monotonic() + 20
    while slow_node.log_path.read_text(errors="replace")[size:].count("went away") < 3:
        assert time.monotonic() < deadline, slow_node.log()
        time.sleep(0.1)
    assert requests.get(slow_node.url + "/api/v1/instance").status_code == 200
    added = slow_node.log_path.read_text(errors="replace")[size:]
    assert "Traceback" not in added and "ConnectionResetError" not in added


def test_uploads_at_once_are_capped(slow_node, token):
    """max_concurrent_uploads held by stalled uploads: the next upload is told to retry (429)."""
    held = [_open(slow_node, "POST", "/api/v2/media", token, 1 << 20, b"--b\r\n", ctype="multipart/form-data; boundary=b")
            for _ in range(LIMITS["max_concurrent_uploads"])]
    try:
        deadline = time.monotonic() + 10
        while True:  # the held uploads are being read once the node has taken both slots
            r = requests.post(slow_node.url + "/api/v2/media", headers={"Authorization": f"Bearer {token}"},
                              files={"file": ("v.mp4", b"\0" * 100, "video/mp4")})
            if r.status_code == 429 or time.monotonic() > deadline:
                break
        assert r.status_code == 429 and r.json()["error"] and int(r.headers["Retry-After"]) > 0
        # not uploads: not capped
        assert requests.get(slow_node.url + "/api/v1/instance").status_code == 200
    finally:
        for sock in held:
            with sock:
                assert _answer(sock)[0] == 408
    r = requests.post(slow_node.url + "/api/v2/media", headers={"Authorization": f"Bearer {token}"},
                      files={"file": ("v.mp4", b"\0" * 100, "video/mp4")})
    assert r.status_code == 422  # the slots are free again (and this is no video)


def test_oversized_urls_and_headers_are_json_400(slow_node, token):
    long_url = requests.get(slow_node.url + "/api/v1/timelines/public?q=" + "x" * 5000)
    long_header = requests.get(slow_node.url + "/api/v1/instance", headers={"X-Big": "y" * 5000})
    for r in (long_url, long_header):
        assert r.status_code == 400, r.text[:200]
        assert r.headers["Content-Type"].startswith("application/json") and r.json()["error"]
    ok = requests.get(slow_node.url + "/api/v1/instance", headers={"X-Fine": "y" * 3000})
    assert ok.status_code == 200
