"""Running generation workers from the node's configuration, without importing them.

A worker is `python -m generation.worker` with arguments taken from the [generation] and
[redis] sections (`worker_argv`). `vitascope worker` execs it; in the embedded default
(`generation.embedded_worker = true`) `vitascope serve` starts one next to the web process and
restarts it if it dies (this module's `setup`, a PLUGIN_MODULES entry). The web process itself
never imports torch or the generation package (only its contract, generation.contract): the worker
is always another process.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import signal
import socket
import sys
import time
from pathlib import Path

from aiohttp import web

from node.config import Config
from node.context import Node
from node.redis_server import embedded_for
from node.supervise import dies_with_parent

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 10  # then SIGKILL: a killed job runs again when a worker next starts
MAX_BACKOFF_S = 60
HEALTHY_AFTER_S = 60
MISSING_EXTRA = ("video generation needs the `generation` extra (torch, diffusers): install it with "
                 "pip install 'vitascope[generation]', or run `vitascope worker` on a machine that has it")


def generation_installed() -> bool:
    """Whether this Python can run a worker — checked without importing torch."""
    return all(importlib.util.find_spec(name) is not None for name in ("torch", "diffusers", "generation"))


def worker_name(config: Config, device: str | None = None) -> str:
    return config["generation.worker_name"] or f"{socket.gethostname()}:{device or config['generation.device']}"


def embedded_redis_socket(config: Config) -> Path:
    return embedded_for(config.data_dir).socket


def worker_redis_url(config: Config) -> str:
    """The configured Redis, or the socket of the embedded one that `vitascope serve` runs."""
    return config.redis_url or f"unix://{embedded_redis_socket(config)}"


def worker_argv(config: Config, redis_url: str, *, name: str | None = None, device: str | None = None,
                max_jobs: int | None = None) -> list[str]:
    gen = config.raw["generation"]
    device = device or gen["device"]
    argv = [sys.executable, "-m", "generation.worker", "--redis", redis_url, "--data-dir", str(config.data_dir),
            "--family", gen["family"], "--dtype", gen["dtype"], "--device", device,
            "--max-jobs", str(max_jobs or gen["max_batch"]), "--job-timeout", str(gen["job_timeout_seconds"]),
            "--name", name or worker_name(config, device)]
    if gen["model_path"]:
        argv += ["--model-path", str(Path(gen["model_path"]).expanduser().resolve())]
    if gen["audio_model_path"]:
        argv += ["--audio-model-path", str(Path(gen["audio_model_path"]).expanduser().resolve())]
    if gen["compile"]:
        argv.append("--compile")
    if gen["attention_backend"]:
        argv += ["--attention-backend", gen["attention_backend"]]
    if gen["cache"]:
        argv += ["--cache", gen["cache"]]
    if gen["steps"]:
        argv += ["--steps", str(gen["steps"])]
    argv += ["--cameo-verifiers", json.dumps(list(gen["cameo_verifiers"]))]
    if gen["reference_lora_path"]:
        argv += ["--reference-lora", str(Path(gen["reference_lora_path"]).expanduser().resolve())]
    if gen["voice_stage"]:
        argv += ["--voice-stage", gen["voice_stage"],
                 "--voice-options", json.dumps({"command": list(gen["voice_command"])})]
    return argv


async def setup(app: web.Application, node: Node) -> None:
    """Embedded default: supervise one worker next to the first web process (one per node)."""
    if not node.config["generation.embedded_worker"] or app["process"] != 0:
        return
    if not generation_installed():
        log.warning("generation.embedded_worker is on, but %s. Jobs are queued until a worker runs.", MISSING_EXTRA)
        return
    argv = worker_argv(node.config, node.extras["redis_url"])
    app["background"].append(asyncio.create_task(supervise(dies_with_parent(argv)), name="generation-worker"))


async def supervise(argv: list[str]) -> None:
    """Run the worker, restart it with growing pauses when it exits, stop it with the node."""
    backoff = 1.0
    while True:
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL)
        log.info("started generation worker (pid %s)", process.pid)
        try:
            code = await process.wait()
        except asyncio.CancelledError:
            await _stop(process)
            raise
        backoff = 1.0 if time.monotonic() - started > HEALTHY_AFTER_S else min(backoff * 2, MAX_BACKOFF_S)
        log.warning("generation worker exited with %s; restarting in %.0f s", code, backoff)
        await asyncio.sleep(backoff)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
