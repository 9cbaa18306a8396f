"""Two web processes of one node (server.processes = 2) on one PostgreSQL and one Redis: what one
process does is seen by the other. A client is pinned to a process by keeping its connection open
(HTTP keep-alive): new connections are opened until one lands on each process, as the
X-Vitascope-Process header of their first answer says, and every later answer on them is checked
to come from the same process.

PostgreSQL only (VITASCOPE_TEST_DB=postgres): on SQLite `vitascope serve` refuses more than one
process (the last test, on either database).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import requests

from tests.support.nodes import ROOT
from tests.support.peers import AS, Inboxes, followed_by_inboxes, signed
from tests.support.waiting import wait_for

PROCESSES = 2
RATE_LIMIT = 40
FOLLOWERS = 4
POSTS = 12


class Pinned:
    """A keep-alive connection to one web process of ``live``."""

    def __init__(self, live, connection: http.client.HTTPConnection, process: str) -> None:
        self.live, self.connection, self.process = live, connection, process

    def request(self, method: str, path: str, *, token: str | None = None, form: dict | None = None,
                expect_process: bool = True) -> tuple[int, http.client.HTTPMessage, bytes]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body = None
        if form is not None:
            body = json.dumps(form)
            headers["Content-Type"] = "application/json"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        if expect_process:
            assert response.headers["X-Vitascope-Process"] == self.process, "the connection moved to another process"
        return response.status, response.headers, data

    def stream(self, path: str, token: str) -> http.client.HTTPResponse:
        """An event stream on this process; returns once the node says it is subscribed (`:)`)."""
        self.connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = self.connection.getresponse()
        assert response.status == 200 and response.headers["X-Vitascope-Process"] == self.process
        self.connection.sock.settimeout(30)
        assert response.readline().strip() == b":)"
        return response


def pin_each_process(live) -> dict[str, Pinned]:
    """One open connection per web process (the kernel spreads new connections among them)."""
    pinned: dict[str, Pinned] = {}
    spare: list[http.client.HTTPConnection] = []

    def another() -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", live.port, timeout=30)
        connection.request("GET", "/.well-known/nodeinfo")  # not rate limited
        response = connection.getresponse()
        response.read()
        process = response.headers["X-Vitascope-Process"]
        if process in pinned:
            spare.append(connection)
        else:
            pinned[process] = Pinned(live, connection, process)
        return len(pinned) == PROCESSES

    wait_for(another, interval=0, what="a connection to each web process")
    for connection in spare:
        connection.close()
    assert sorted(pinned) == [str(i) for i in range(PROCESSES)]
    return pinned


@pytest.fixture(scope="module")
def multi(nodes, postgres):
    if postgres is None:
        pytest.skip("several web processes need PostgreSQL (VITASCOPE_TEST_DB=postgres)")
    return nodes("multi", overrides={"server": {"processes": PROCESSES},
                                     "limits": {"rate_limit_per_minute": RATE_LIMIT}})


def test_a_post_served_by_one_process_streams_to_a_client_of_the_other(multi):
    first, second = pin_each_process(multi).values()
    alice = multi.mastodon()
    token = alice.access_token
    stream = first.stream("/api/v1/streaming/user", token)
    text = f"across processes {uuid.uuid4().hex[:12]}"
    status, _, body = second.request("POST", "/api/v1/statuses", token=token, form={"status": text})
    assert status == 200, body
    assert text in next_update(stream, json.loads(body)["id"])["content"]


def next_update(stream: http.client.HTTPResponse, status_id: str, timeout: float = 30) -> dict:
    """The `update` event of ``status_id`` on an event stream (read on until it comes, or fail)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:  # the socket's own timeout bounds each read
        line = stream.readline()
        assert line, "the stream ended"
        if line.startswith(b"event: update"):
            data = json.loads(stream.readline().removeprefix(b"data: "))
            if data["id"] == status_id:
                return data
    raise AssertionError(f"no update event for {status_id} in {timeout} s")


def test_rate_limits_are_counted_across_processes(multi):
    pinned = list(pin_each_process(multi).values())
    alice = multi.mastodon()
    for _ in range(3):  # a minute's window may close mid-way: then start again in the next one
        token = requests.post(multi.url + "/oauth/token", data={
            "grant_type": "password", "username": alice.vs_username, "password": "correct horse battery",
            "client_id": alice.client_id, "client_secret": alice.client_secret, "scope": "read"}).json()["access_token"]
        remaining, served_by, refused = [], set(), None
        for n in range(RATE_LIMIT + 1):
            via = pinned[n % PROCESSES]
            status, headers, _ = via.request("GET", "/api/v1/accounts/verify_credentials", token=token)
            if status == 429:
                refused = n
                break
            assert status == 200
            remaining.append(int(headers["X-RateLimit-Remaining"]))
            served_by.add(via.process)
        if remaining == sorted(remaining, reverse=True):  # one window throughout
            break
    else:
        pytest.fail("no try stayed within one rate-limit window")
    # one count for both processes: each answer's remaining is one less than the other process's before it
    assert remaining == list(range(RATE_LIMIT - 1, -1, -1)), remaining
    assert refused == RATE_LIMIT and served_by == {"0", "1"}


def test_the_same_activity_posted_to_both_processes_is_processed_once(multi):
    """Inbox de-duplication across processes: one Create sent to each process is taken once, makes one post."""
    inboxes = Inboxes()
    inboxes.start()
    try:
        pinned = list(pin_each_process(multi).values())
        author = inboxes.follower("dup")
        note_id = inboxes.note(f"/notes/{uuid.uuid4().hex}", author, f"sent twice {uuid.uuid4().hex[:12]}")
        body = json.dumps({"@context": AS, "id": f"{author}/creates/{uuid.uuid4().hex}", "type": "Create",
                           "actor": author, "object": inboxes.documents[note_id.removeprefix(inboxes.url)],
                           "to": ["https://www.w3.org/ns/activitystreams#Public"]}).encode()
        answers = []
        for via in pinned:
            headers = signed(multi.url + "/inbox", body, author + "#main-key", inboxes.pem)
            via.connection.request("POST", "/inbox", body=body, headers=headers)
            response = via.connection.getresponse()
            response.read()
            assert response.headers["X-Vitascope-Process"] == via.process
            answers.append(response.status)
        assert answers == [202, 409]  # the second process knows the first one took it

        def rows() -> list[tuple]:
            with psycopg.connect(multi.database_url.replace("postgres://", "postgresql://", 1)) as db:
                return db.execute("SELECT state FROM inbox_items WHERE activity_id = %s",
                                  (json.loads(body)["id"],)).fetchall()

        states = wait_for(lambda: [s for (s,) in rows() if s not in ("pending", "processing")],
                          timeout=60, what="the activity processed")
        assert len(states) == 1 and states != ["error"]
        found = wait_for(lambda: requests.get(multi.url + "/api/v1/timelines/public?remote=true&limit=40").json(),
                         what="the public timeline")
        assert [s["uri"] for s in found].count(note_id) == 1
    finally:
        inboxes.stop()


def test_deliveries_from_both_processes_reach_each_inbox_exactly_once(multi):
    """Posts made through both processes, to followers on FOLLOWERS inboxes: every post reaches every
    inbox once, though each process runs a delivery worker and a sweeper that queues lost jobs."""
    inboxes = Inboxes()
    inboxes.start()
    try:
        pinned = list(pin_each_process(multi).values())
        alice = followed_by_inboxes(multi, inboxes, FOLLOWERS)
        for n in range(POSTS):
            status, _, body = pinned[n % PROCESSES].request("POST", "/api/v1/statuses", token=alice.access_token,
                                                            form={"status": f"fan-out {n} {uuid.uuid4().hex[:8]}"})
            assert status == 200, body

        def undelivered() -> int:
            with psycopg.connect(multi.database_url.replace("postgres://", "postgresql://", 1)) as db:
                return db.execute("SELECT count(*) FROM deliveries WHERE state <> 'delivered'").fetchone()[0]

        wait_for(lambda: len(inboxes.delivered) == FOLLOWERS * POSTS and undelivered() == 0, timeout=120,
                 what=f"{FOLLOWERS * POSTS} deliveries (got {len(inboxes.delivered)})")
        assert inboxes.posts_received == FOLLOWERS * POSTS
    finally:
        inboxes.stop()


def test_with_the_embedded_redis_the_processes_share_the_parents(nodes, postgres):
    """redis.url empty: the parent starts one Redis for all its processes (not one each)."""
    if postgres is None:
        pytest.skip("several web processes need PostgreSQL (VITASCOPE_TEST_DB=postgres)")
    live = nodes("multi-embedded", embedded_redis=True, overrides={"server": {"processes": PROCESSES}})
    try:
        first, second = pin_each_process(live).values()
        token = live.mastodon().access_token
        stream = first.stream("/api/v1/streaming/user", token)
        status, _, body = second.request("POST", "/api/v1/statuses", token=token, form={"status": "one Redis"})
        assert status == 200, body
        next_update(stream, json.loads(body)["id"])
        redis_pid = int((live.data_dir / "redis" / "redis.pid").read_text())
        assert parent_of(redis_pid) == live.process.pid
    finally:
        live.stop()
    assert not Path(f"/proc/{redis_pid}").exists()  # stopped with the parent


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def child_pid(live, index: int) -> int | None:
    """The pid of web process ``index`` of ``live`` (a child of its `vitascope serve` parent)."""
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            ppid = parent_of(int(entry.name))
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if ppid == live.process.pid and b"--process-index" in argv:
            if argv[argv.index(b"--process-index") + 1] == str(index).encode():
                return int(entry.name)
    return None


def test_a_web_process_that_dies_is_started_again(multi):
    killed = child_pid(multi, 1)
    assert killed is not None
    os.kill(killed, signal.SIGKILL)
    wait_for(lambda: child_pid(multi, 1) not in (None, killed), timeout=60, what="web process 1 started again")
    pinned = pin_each_process(multi)  # both answer again
    status, _, _ = pinned["1"].request("GET", "/api/v1/instance")
    assert status == 200 and multi.process.poll() is None


def test_more_than_one_process_on_sqlite_is_a_configuration_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITASCOPE_")}
    env.update(PYTHONPATH=str(ROOT), VITASCOPE_STORAGE_DATA_DIR=str(tmp_path / "data"))
    result = subprocess.run([sys.executable, "-m", "node.cli", "serve", "--processes", "2"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "server.processes: more than one web process needs PostgreSQL" in result.stderr
    assert not (tmp_path / "data" / "vitascope.sqlite3").exists()
