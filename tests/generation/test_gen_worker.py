"""The arq worker end to end: a real redis-server, a worker subprocess, the tiny model."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from generation.contract import CANCEL_KEY, FUNCTION_NAME, PROGRESS_KEY, enqueue_kwargs

STEPS = 24  # enough steps that a test can act while a job is still running


@pytest.fixture(scope="module")
def worker(start_worker):
    return start_worker("gen-test-gpu0", "--steps", str(STEPS), "--job-timeout", "600")


def spec(output_dir: Path, job_id: str, **overrides) -> dict:
    data = dict(job_id=job_id, prompt="a lighthouse in a storm", negative_prompt=None, duration=2.0,
                aspect="9:16", seed=1, audio=True, output_dir=str(output_dir))
    data.update(overrides)
    return data


async def enqueue(pool, data: dict, *, priority: bool = False):
    job = await pool.enqueue_job(FUNCTION_NAME, data, **enqueue_kwargs(data, priority=priority))
    assert job is not None
    return job


@pytest.mark.timeout(900)
async def test_jobs_render_with_progress_and_credit_jobs_go_first(worker, pool, events, tmp_path):
    busy = await enqueue(pool, spec(tmp_path, "busy", duration=2.0))
    await events.wait_for(lambda e: e["job_id"] == "busy" and e["state"] == "running" and e["step"] >= 1)
    free = await enqueue(pool, spec(tmp_path, "free", seed=2, duration=1.0))
    paid = await enqueue(pool, spec(tmp_path, "paid", seed=3, duration=1.0), priority=True)
    results = {job.job_id: await job.result(timeout=300, poll_delay=0.1) for job in (busy, free, paid)}
    await events.wait_for(lambda e: e["job_id"] == "free" and e["state"] == "done")

    starts = [e["job_id"] for e in events.seen if e["state"] == "running" and e["step"] == 0]
    assert starts == ["busy", "paid", "free"]

    busy_events = events.of("busy")
    steps = [e["step"] for e in busy_events if e["state"] == "running"]
    assert steps == list(range(STEPS + 1))
    assert all(e["total"] == STEPS for e in busy_events)
    assert all(isinstance(e["eta_seconds"], (int, float)) for e in busy_events if e["step"] > 0)
    assert busy_events[-1] == {"job_id": "busy", "state": "done", "step": STEPS, "total": STEPS, "eta_seconds": 0.0}
    progress = await pool.hgetall(PROGRESS_KEY.format(job_id="busy"))
    assert progress[b"state"] == b"done" and int(progress[b"step"]) == STEPS

    result = results["busy"]
    assert result["model"]["test_model"] is True and result["steps"] == STEPS
    with av.open(result["video_path"]) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert abs(float(video.duration * video.time_base) - 2.0) <= 1 / result["fps"]
        assert abs(float(audio.duration * audio.time_base) - 2.0) <= 1 / result["fps"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{job}.{ext}" for job in ("busy", "free", "paid") for ext in ("mp4", "jpg"))


@pytest.mark.timeout(600)
async def test_cancel_key_stops_a_running_job_and_leaves_no_file(worker, pool, events, tmp_path):
    job = await enqueue(pool, spec(tmp_path, "doomed", duration=3.0))
    await events.wait_for(lambda e: e["job_id"] == "doomed" and e["state"] == "running" and e["step"] >= 1)
    await pool.set(CANCEL_KEY.format(job_id="doomed"), b"1", ex=3600)
    with pytest.raises(RuntimeError, match="cancelled"):
        await job.result(timeout=300, poll_delay=0.1)
    await events.wait_for(lambda e: e["job_id"] == "doomed" and e["state"] == "cancelled")
    last_running = max(e["step"] for e in events.of("doomed") if e["state"] == "running")
    assert last_running < STEPS  # it stopped mid-run, not at the end
    assert (await pool.hgetall(PROGRESS_KEY.format(job_id="doomed")))[b"state"] == b"cancelled"
    assert list(tmp_path.iterdir()) == []


async def test_cancel_before_start_never_renders(worker, pool, tmp_path):
    await pool.set(CANCEL_KEY.format(job_id="never"), b"1", ex=3600)
    job = await enqueue(pool, spec(tmp_path, "never"))
    with pytest.raises(RuntimeError, match="cancelled"):
        await job.result(timeout=300, poll_delay=0.1)
    assert list(tmp_path.iterdir()) == []


async def test_invalid_spec_fails_without_rendering(worker, pool, tmp_path):
    job = await enqueue(pool, spec(tmp_path, "too-long", duration=30.0))
    with pytest.raises(ValueError, match="duration"):
        await job.result(timeout=300, poll_delay=0.1)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.timeout(600)
async def test_arq_abort_stops_a_running_render(worker, pool, events, tmp_path):
    job = await enqueue(pool, spec(tmp_path, "aborted", duration=3.0))
    await events.wait_for(lambda e: e["job_id"] == "aborted" and e["state"] == "running" and e["step"] >= 1)
    assert await job.abort(timeout=60, poll_delay=0.1) is True
    follow_up = await enqueue(pool, spec(tmp_path, "after-abort", duration=1.0))
    await follow_up.result(timeout=300, poll_delay=0.1)  # the GPU thread was freed, not left rendering
    assert sorted(p.name for p in tmp_path.iterdir()) == ["after-abort.jpg", "after-abort.mp4"]
