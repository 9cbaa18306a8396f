"""Worker behaviour that needs the queue to itself: crash recovery and batching.

(The module-scoped worker of test_gen_worker.py is stopped before this module runs.)
"""

from __future__ import annotations

import time

import pytest
from arq.jobs import JobStatus

from generation.contract import FUNCTION_NAME, QUEUE_NAME, enqueue_kwargs

JOB_TIMEOUT = 600  # arq alone would wait JOB_TIMEOUT + 10 s before running a crashed job again
RECOVERY_LIMIT = 300  # generous for a loaded 2-core machine, still half of what arq alone would take


@pytest.mark.timeout(900)
async def test_sigkilled_job_runs_again_after_restart_without_partial_files(start_worker, pool, events, tmp_path):
    name = "crash-test-gpu0"
    extra = ("--steps", "40", "--job-timeout", str(JOB_TIMEOUT))
    worker = start_worker(name, *extra)
    data = dict(job_id="survivor", prompt="a train crossing a bridge", negative_prompt=None, duration=2.0,
                aspect="9:16", seed=4, audio=True, output_dir=str(tmp_path))
    job = await pool.enqueue_job(FUNCTION_NAME, data, **enqueue_kwargs(data, priority=False))
    await events.wait_for(lambda e: e["job_id"] == "survivor" and e["state"] == "running" and e["step"] >= 2)

    worker.kill()
    assert list(tmp_path.iterdir()) == []  # nothing under a final name, no temporary leftovers
    assert await pool.zscore(QUEUE_NAME, "survivor") is not None
    assert await job.status() == JobStatus.in_progress

    restarted_at = time.monotonic()
    restarted = start_worker(name, *extra)
    result = await job.result(timeout=RECOVERY_LIMIT, poll_delay=0.1)
    recovered_in = time.monotonic() - restarted_at
    await events.wait_for(lambda e: e["job_id"] == "survivor" and e["state"] == "done")
    info = await job.result_info()
    restarted.stop()

    assert recovered_in < RECOVERY_LIMIT  # the restarted worker re-queued its own job; no timeout wait
    assert info.job_try == 2 and info.success
    assert sorted(p.name for p in tmp_path.iterdir()) == ["survivor.jpg", "survivor.mp4"]
    assert result["video_path"] == str(tmp_path / "survivor.mp4")


@pytest.mark.timeout(600)
async def test_compatible_queued_jobs_share_one_batch(start_worker, pool, events, tmp_path):
    jobs = []
    for index in range(3):
        data = dict(job_id=f"batch-{index}", prompt=f"fireflies, take {index}", negative_prompt=None,
                    duration=1.0, aspect="1:1", seed=index, audio=True, output_dir=str(tmp_path))
        jobs.append(await pool.enqueue_job(FUNCTION_NAME, data, **enqueue_kwargs(data, priority=False)))
    start_worker("batch-test-gpu0", "--max-jobs", "3", "--steps", "4")
    results = [await job.result(timeout=240, poll_delay=0.1) for job in jobs]
    await events.wait_for(lambda e: e["job_id"] == "batch-2" and e["state"] == "done")

    order = [(e["job_id"], e["step"]) for e in events.seen if e["state"] == "running"]
    first_step_two = min(i for i, (_, step) in enumerate(order) if step == 2)
    # In one batch, every job finishes step 1 before any job starts step 2.
    assert {job for job, step in order[:first_step_two] if step == 1} == {"batch-0", "batch-1", "batch-2"}
    assert [r["job_id"] for r in results] == ["batch-0", "batch-1", "batch-2"]
    assert len(list(tmp_path.glob("*.mp4"))) == 3
