"""Generation through a live node: real `vitascope serve` and `vitascope worker` processes, the tiny model."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
ENDED = ("done", "failed", "cancelled")


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> Path:
    """The tiny LTX-2 model built once (in a subprocess: this test process stays torch-free)."""
    directory = tmp_path_factory.mktemp("tiny-models")
    subprocess.run([sys.executable, "-c", "import sys; from generation.tiny import ensure_tiny_model; "
                    "ensure_tiny_model('ltx2', sys.argv[1])", str(directory)],
                   check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True)
    return directory


@pytest.fixture(scope="session")
def gen_node(nodes, tiny_models):
    """A node with one `vitascope worker` (the tiny model's default 2 steps: fast)."""
    node = nodes("gen")
    worker = node.start_worker(models=tiny_models)
    node.worker = worker
    yield node
    worker.stop()


def generate(api, **params) -> dict:
    r = api.post("/api/v1/vitascope/generations", json=params)
    assert r.status_code == 202, r.text
    return r.json()


def wait_job(api, job_id: str, timeout: float = 120, states=ENDED) -> dict:
    deadline = time.time() + timeout
    while True:
        job = api.get(f"/api/v1/vitascope/generations/{job_id}").json()
        if job["state"] in states:
            return job
        if time.time() > deadline:
            raise TimeoutError(f"generation {job_id} still {job['state']}: {job}")
        time.sleep(0.1)


class SseReader:
    """Reads a Server-Sent Events endpoint in a thread, keeping (event, data) pairs."""

    def __init__(self, url: str, token: str):
        self.events: list[tuple[str, dict | str]] = []
        self.response = requests.get(url, headers={"Authorization": f"Bearer {token}"}, stream=True, timeout=60)
        assert self.response.status_code == 200, self.response.text
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        event, data = None, []
        try:
            for line in self.response.iter_lines(decode_unicode=True):
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif not line and event:
                    text = "\n".join(data)
                    try:
                        payload = json.loads(text)
                    except ValueError:
                        payload = text
                    self.events.append((event, payload))
                    event, data = None, []
        except (requests.RequestException, AttributeError, ValueError):
            pass  # closed by the test

    def wait_for(self, predicate, timeout: float = 60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for item in list(self.events):
                if predicate(*item):
                    return item
            time.sleep(0.05)
        raise TimeoutError(f"no matching event; last: {self.events[-3:]}")

    def close(self) -> None:
        """Shut the socket down first: a plain close would wait for the reader's next heartbeat."""
        try:
            self.response.raw._fp.fp.raw._sock.shutdown(socket.SHUT_RDWR)
        except (AttributeError, OSError):
            pass
        self.response.close()
        self.thread.join(5)


def node_cas(node) -> list[str]:
    """The CA certificates the node publishes for its C2PA signatures."""
    response = requests.get(node.url + "/.well-known/vitascope/ca.pem", timeout=10)
    response.raise_for_status()
    return [block + "-----END CERTIFICATE-----\n" for block in response.text.split("-----END CERTIFICATE-----")
            if block.strip()]


def download(url: str, path: Path) -> Path:
    response = requests.get(url, timeout=30)
    response.raise_for_status()
    path.write_bytes(response.content)
    return path


def make_video(node, client, prompt: str, **params) -> dict:
    api = node.api(client.access_token)
    job = wait_job(api, generate(api, prompt=prompt, **params)["id"])
    assert job["state"] == "done", job
    return job
