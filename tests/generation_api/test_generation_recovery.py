"""Cancelling a running job, and a worker killed mid-job, on a node in the embedded default:
`vitascope serve` supervises its own worker (long jobs: many denoising steps)."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import pytest
import redis

from provenance.c2pa import verify_video
from tests.support.downloads import download, node_cas
from tests.support.generation import generate, wait_job

STEPS = 40


@pytest.fixture(scope="module")
def embedded_node(nodes, tiny_models):
    node = nodes("genslow", overrides={"generation": {"embedded_worker": True, "steps": STEPS}}, start=False)
    (node.data_dir / "models").mkdir(parents=True)
    os.symlink(tiny_models / "models" / "tiny-ltx2", node.data_dir / "models" / "tiny-ltx2")
    node.start()
    wait_for_worker(node)
    return node


def wait_for_worker(node, timeout: float = 120) -> None:
    client = redis.Redis.from_url(node.redis_url)
    deadline = time.time() + timeout
    try:
        while not client.exists(f"vitascope:gen:health:{socket.gethostname()}:cpu"):
            assert time.time() < deadline, f"the embedded worker did not start:\n{node.log()}"
            time.sleep(0.2)
    finally:
        client.close()


def worker_pids(node) -> list[int]:
    """The node's supervised `generation.worker` children."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == node.process.pid and b"generation.worker" in cmdline:
            found.append(int(entry.name))
    return found


def leftovers(node) -> list[str]:
    """Anything a render may leave: final or temporary files in the work dir, partial files in media."""
    work = node.data_dir / "generation"
    names = [str(p.relative_to(work)) for p in work.rglob("*") if p.is_file()] if work.exists() else []
    return names + [p.name for p in (node.data_dir / "media").rglob("*.partial")]


def wait_running(api, job_id: str, step: int, timeout: float = 60) -> dict:
    deadline = time.time() + timeout
    while True:
        job = api.get(f"/api/v1/vitascope/generations/{job_id}").json()
        if job["state"] == "running" and (job["progress"]["step"] or 0) >= step:
            return job
        assert job["state"] in ("queued", "running") and time.time() < deadline, job
        time.sleep(0.05)


def test_cancelling_a_running_job_stops_it_and_leaves_nothing(embedded_node):
    client = embedded_node.mastodon()
    api = embedded_node.api(client.access_token)
    job = generate(api, prompt="a slow sunrise", duration=1)
    running = wait_running(api, job["id"], 1)
    assert running["progress"]["total"] == STEPS and running["progress"]["eta_seconds"] is not None

    asked = api.delete(f"/api/v1/vitascope/generations/{job['id']}").json()
    assert asked["cancel_requested"] is True and asked["state"] == "running"
    ended = wait_job(api, job["id"], timeout=240)
    assert ended["state"] == "cancelled" and ended["media_attachment"] is None
    assert ended["progress"]["step"] < STEPS
    assert leftovers(embedded_node) == []
    assert api.delete(f"/api/v1/vitascope/generations/{job['id']}").json()["state"] == "cancelled"


def test_a_worker_killed_mid_job_is_restarted_and_the_job_completes(embedded_node, tmp_path):
    client = embedded_node.mastodon()
    api = embedded_node.api(client.access_token)
    job = generate(api, prompt="a night train", duration=1)
    wait_running(api, job["id"], 2)
    [pid] = worker_pids(embedded_node)
    os.kill(pid, signal.SIGKILL)
    assert not [name for name in leftovers(embedded_node) if name.endswith((".mp4", ".jpg", ".partial"))]

    done = wait_job(api, job["id"], timeout=240)
    assert done["state"] == "done", done
    assert worker_pids(embedded_node) and worker_pids(embedded_node) != [pid]  # the node started a new one
    verdict = verify_video(download(done["media_attachment"]["url"], tmp_path / "v.mp4"), node_cas(embedded_node))
    assert verdict.ok and verdict.claim["job_id"] == job["id"]
    assert leftovers(embedded_node) == []
    assert "generation worker exited with -9; restarting" in embedded_node.log()


@pytest.fixture(scope="module")
def hasty_node(nodes, tiny_models):
    """Jobs get two seconds; a ten-second clip at 200 steps needs far longer."""
    node = nodes("genhasty", overrides={"generation": {"job_timeout_seconds": 2, "steps": 200}})
    worker = node.start_worker(models=tiny_models)
    yield node
    worker.stop()


def test_a_job_past_its_time_limit_fails_with_the_reason(hasty_node):
    client = hasty_node.mastodon()
    api = hasty_node.api(client.access_token)
    job = generate(api, prompt="an endless corridor", duration=10)
    ended = wait_job(api, job["id"], timeout=120)
    assert ended["state"] == "failed" and "time limit" in ended["error"], ended
    assert ended["media_attachment"] is None and leftovers(hasty_node) == []
