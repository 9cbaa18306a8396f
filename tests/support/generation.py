"""Generating videos on a live node: the tiny model built once, and jobs made and waited for through the
generations API. Shared by the generation tests and the browser tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


def make_video(node, client, prompt: str, **params) -> dict:
    api = node.api(client.access_token)
    job = wait_job(api, generate(api, prompt=prompt, **params)["id"])
    assert job["state"] == "done", job
    return job


def post_video(node, client, prompt: str, caption: str) -> dict:
    """A tiny-model video made through the generations API and posted publicly by `client`."""
    job = make_video(node, client, prompt, duration=2, aspect="9:16", publish_prompt=True)
    return client.status_post(caption, media_ids=[job["media_attachment"]["id"]], visibility="public")
