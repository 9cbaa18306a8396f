"""The cameo jobs through arq: a real redis-server and `python -m generation.worker` subprocess."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from arq.jobs import Job

from generation.cameo import DEFAULT_VERIFIERS
from generation.contract import FUNCTION_NAME, VERIFY_FUNCTION_NAME, enqueue_kwargs
from tests.support.captures import make_capture

AUTOMATIC = [path for path in DEFAULT_VERIFIERS if not path.endswith(":phrase_spoken")]


@pytest.fixture(scope="module")
def worker(start_worker):
    return start_worker("cameo-test-gpu0", "--cameo-verifiers", json.dumps(AUTOMATIC))


async def run(pool, function: str, job: dict) -> Job:
    queued = await pool.enqueue_job(function, job, **enqueue_kwargs(job, priority=False))
    assert queued is not None
    return queued


@pytest.mark.timeout(600)
async def test_verify_cameo_capture_job_returns_the_verdict_and_writes_the_sheet(worker, pool, tmp_path):
    issued = datetime.now(UTC) - timedelta(minutes=1)
    good = make_capture(tmp_path / "good.mp4", created_at=issued + timedelta(seconds=30))
    still = make_capture(tmp_path / "still.mp4", still=True, created_at=issued + timedelta(seconds=30))

    def job(job_id, path):
        return {"job_id": job_id, "reference_path": str(tmp_path / f"{job_id}.png"),
                "capture": {"path": str(path), "kind": "person", "challenge_phrase": "purple elephants",
                            "challenge_issued_at": issued.isoformat()}}

    approved = await (await run(pool, VERIFY_FUNCTION_NAME, job("cap-good", good))).result(timeout=300)
    assert approved["verdict"]["state"] == "approved"
    assert approved["reference_path"] == str(tmp_path / "cap-good.png")
    assert (tmp_path / "cap-good.png").stat().st_mode & 0o777 == 0o600
    assert {e["verifier"] for e in approved["verdict"]["evidence"]} == set(AUTOMATIC)

    rejected = await (await run(pool, VERIFY_FUNCTION_NAME, job("cap-still", still))).result(timeout=300)
    assert rejected["verdict"]["state"] == "rejected" and "still image" in rejected["verdict"]["reason"]
    assert rejected["reference_path"] is None and not (tmp_path / "cap-still.png").exists()

    bad = await run(pool, VERIFY_FUNCTION_NAME, {"job_id": "cap-bad", "capture": {}, "reference_path": "rel.png"})
    with pytest.raises(ValueError, match="invalid cameo verification job"):
        await bad.result(timeout=300)


@pytest.mark.timeout(600)
async def test_a_worker_without_a_voice_stage_refuses_a_voice_required_job(worker, pool, tmp_path):
    sample = tmp_path / "owner.wav"
    sample.write_bytes(b"")
    spec = dict(job_id="needs-voice", prompt="a person says hello", negative_prompt=None, duration=1.0,
                aspect="9:16", seed=1, audio=True, output_dir=str(tmp_path), voice_text="hello",
                voice_sample=str(sample), voice_required=True)
    job = await run(pool, FUNCTION_NAME, spec)
    with pytest.raises(RuntimeError, match="VoiceUnavailable: the cameo owner requires their own voice"):
        await job.result(timeout=300)
    assert not (tmp_path / "needs-voice.mp4").exists()
