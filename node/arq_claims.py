"""An arq worker that claims its due jobs many at a time.

arq 0.28 (pinned) starts jobs one by one: for each job id it WATCHes the job's in-progress key, reads
it and the job's score, and sets the key in a MULTI — four round trips to Redis, in series, before
the next job may start. And once every slot is busy it stops reading the queue until its next poll
(poll_delay later), however soon a slot frees: a full worker started at most max_jobs jobs per
poll_delay, so a fan-out of a thousand deliveries took 1000 / 16 × 0.2 s ≈ 12 s whatever the peers
did. ``BatchClaimWorker.start_jobs`` starts the next jobs as soon as slots free, and claims as many
due jobs as there are free slots in one Lua script, which does arq's checks atomically (in-progress
key absent, job still queued and due) and sets the same in-progress keys, so workers of either kind
can share a queue.
"""

from __future__ import annotations

import asyncio

from arq import Worker
from arq.constants import in_progress_key_prefix
from arq.utils import timestamp_ms

# KEYS[1]: the queue. ARGV: in-progress key prefix, lease (ms), now (ms), most to claim, job ids.
# Returns the index of the last id looked at, then (id, score) of each job claimed.
_CLAIM = """
local claimed = {0}
local wanted = tonumber(ARGV[4])
local now = tonumber(ARGV[3])
for i = 5, #ARGV do
  claimed[1] = i - 4
  local id = ARGV[i]
  local score = redis.call('zscore', KEYS[1], id)
  if score and tonumber(score) <= now and redis.call('exists', ARGV[1] .. id) == 0 then
    redis.call('psetex', ARGV[1] .. id, ARGV[2], '1')
    claimed[#claimed + 1] = id
    claimed[#claimed + 1] = score
    if (#claimed - 1) / 2 >= wanted then break end
  end
end
return claimed
"""


class BatchClaimWorker(Worker):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._slot_freed = asyncio.Event()

    def _release_sem_dec_counter_on_complete(self) -> None:
        super()._release_sem_dec_counter_on_complete()
        self._slot_freed.set()

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """Start the due jobs among ``job_ids`` in order, as many per round trip as there are free slots,
        waiting for slots to free; back to the poll loop (its heartbeat and a fresh read of the queue)
        when none frees within poll_delay."""
        ids = [job_id.decode() for job_id in job_ids]
        while ids:
            while self.job_counter >= self.max_jobs:
                self._slot_freed.clear()
                try:
                    await asyncio.wait_for(self._slot_freed.wait(), self.poll_delay_s)
                except TimeoutError:
                    return
            slots = min(len(ids), self.max_jobs - self.job_counter)
            for _ in range(slots):
                await self.sem.acquire()  # arq's semaphore: max_jobs + 1 permits, so these are free
            # A window of the ids, not all of them (up to queue_read_limit): most are claimable.
            window = ids[:max(4 * slots, 64)]
            reply = await self.pool.eval(_CLAIM, 1, self.queue_name, in_progress_key_prefix,
                                         int(self.in_progress_timeout_s * 1000), timestamp_ms(), slots, *window)
            looked_at, claimed = int(reply[0]), reply[1:]
            ids = ids[looked_at:]
            for n in range(0, len(claimed), 2):
                job_id = claimed[n].decode() if isinstance(claimed[n], bytes) else claimed[n]
                self.job_counter += 1
                task = self.loop.create_task(self.run_job(job_id, int(float(claimed[n + 1]))))
                task.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
                self.tasks[job_id] = task
            for _ in range(slots - len(claimed) // 2):
                self.sem.release()
