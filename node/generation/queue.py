"""The web side of the generation queue: the worker's contract (generation.contract), spoken over Redis.

Enqueueing, cancelling, reading progress and reading results. Results are arq's stored
``JobResult.to_dict()``, unpickled with an unpickler that builds only plain built-in types, so an
exception class from the worker's libraries can neither import torch here nor run code.
"""

from __future__ import annotations

import builtins
import io
import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arq.constants import in_progress_key_prefix, job_key_prefix
from arq.jobs import DeserializationError, Job, JobStatus

from generation import contract
from node.context import Node

CANCEL_TTL_S = 2 * 24 * 3600  # longer than a job can wait in the queue and keep its result


class QueueError(RuntimeError):
    """Redis refused or lost a queue operation."""


def job_spec(*, job_id: str, prompt: str, negative_prompt: str | None, duration: float, aspect: str, seed: int,
             audio: bool, output_dir: Path, source_video: Path | None, image: Path | None,
             strength: float, cameo_references: list[str] | None = None,
             transfer: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JobSpec dict (keys: a subset of contract.SPEC_FIELDS) the worker validates
    (`generation.spec.JobSpec.from_dict`)."""
    return {"job_id": job_id, "prompt": prompt, "negative_prompt": negative_prompt, "duration": float(duration),
            "aspect": aspect, "seed": seed, "audio": audio, "output_dir": str(output_dir),
            "source_video": str(source_video) if source_video else None, "image": str(image) if image else None,
            "strength": float(strength), "cameo_references": list(cameo_references or []), "transfer": transfer}


async def enqueue(node: Node, spec: dict[str, Any], *, priority: bool) -> bool:
    """Queue a spec; False when arq already knows a job (or a result) with this id."""
    job = await node.arq.enqueue_job(contract.FUNCTION_NAME, spec, **contract.enqueue_kwargs(spec, priority=priority))
    return job is not None


async def cancel(node: Node, job_id: str) -> bool:
    """Ask the worker to stop the job; True when it was still waiting and has been taken off the queue
    (so it will never start), False when a worker may already hold it (it stops at the next step)."""
    await node.redis.set(contract.CANCEL_KEY.format(job_id=job_id), b"1", ex=CANCEL_TTL_S)
    removed = await node.redis.eval(_UNQUEUE_IF_WAITING, 3, contract.QUEUE_NAME, in_progress_key_prefix + job_id,
                                    job_key_prefix + job_id, job_id)
    return bool(removed)


# arq keeps a running job in its queue (guarded by the in-progress key) until it ends: only a job
# no worker holds may be taken off. A worker racing to start it finds no job data and skips it.
_UNQUEUE_IF_WAITING = """
if redis.call('exists', KEYS[2]) == 1 then return 0 end
local removed = redis.call('zrem', KEYS[1], ARGV[1])
if removed == 1 then redis.call('del', KEYS[3]) end
return removed
"""


async def progress(node: Node, job_id: str) -> dict[str, Any] | None:
    """The worker's latest progress values for a job, or None before it starts."""
    raw = await node.redis.hgetall(contract.PROGRESS_KEY.format(job_id=job_id))
    if not raw:
        return None
    values = {k.decode(): v.decode() for k, v in raw.items()}
    eta = values.get("eta_seconds") or None
    return {"state": values.get("state"), "step": int(values.get("step") or 0),
            "total": int(values.get("total") or 0), "eta_seconds": float(eta) if eta else None}


def parse_event(data: bytes | str) -> dict[str, Any] | None:
    """A progress event from the channel, or None if it is not one (the channel is an input too)."""
    try:
        event = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(event, dict) or not isinstance(event.get("job_id"), str):
        return None
    if event.get("state") not in ("running", "done", "failed", "cancelled"):
        return None
    for key in ("step", "total"):
        if not isinstance(event.get(key), int) or isinstance(event.get(key), bool):
            return None
    eta = event.get("eta_seconds")
    if eta is not None and not isinstance(eta, (int, float)):
        return None
    return event


@dataclass(frozen=True)
class Outcome:
    """How a job ended, as arq recorded it."""

    success: bool
    result: dict[str, Any] | None  # JobResult dict on success
    error: str | None  # "<Type>: message" on failure

    @property
    def cancelled(self) -> bool:
        return not self.success and (self.error or "").startswith("RuntimeError: cancelled")


async def outcome(node: Node, job_id: str) -> Outcome | None:
    """The finished job's outcome, or None while it is queued, running or unknown to arq."""
    try:
        info = await _job(node, job_id).result_info()
    except DeserializationError as exc:
        return Outcome(False, None, f"the worker's result cannot be read: {exc.__cause__ or exc}")
    if info is None:
        return None
    if info.success:
        result = info.result if isinstance(info.result, dict) else None
        if result is None:
            return Outcome(False, None, f"the worker returned {type(info.result).__name__}, not a result")
        return Outcome(True, result, None)
    return Outcome(False, None, _describe(info.result))


async def status(node: Node, job_id: str) -> JobStatus:
    return await _job(node, job_id).status()


def _job(node: Node, job_id: str) -> Job:
    return Job(job_id, node.arq, _queue_name=contract.QUEUE_NAME, _deserializer=safe_loads)


def _describe(error: Any) -> str:
    if isinstance(error, ForeignObject):
        return f"{error.qualified_name}: {' '.join(str(a) for a in error.args)}".strip()
    if isinstance(error, BaseException):
        text = str(error)
        if isinstance(error, TimeoutError) and not text:
            text = "the job ran past its time limit"
        return f"{type(error).__name__}: {text}" if text else type(error).__name__
    return str(error)


class ForeignObject:
    """Stands in for any class outside the allowed built-ins when reading a pickled result."""

    qualified_name = "?"
    args: tuple = ()

    def __init__(self, *args: Any) -> None:
        self.args = args

    def __setstate__(self, state: Any) -> None:
        self.state = state


class Interrupted(Exception):
    """asyncio.CancelledError, as arq records a job that was stopped."""


_BUILTIN_NAMES = frozenset({
    "dict", "list", "tuple", "set", "frozenset", "str", "bytes", "int", "float", "bool", "complex",
    "BaseException", "Exception", "RuntimeError", "ValueError", "TypeError", "KeyError", "TimeoutError",
    "OSError", "MemoryError", "NotImplementedError", "AssertionError", "LookupError", "IndexError",
    "ArithmeticError", "ZeroDivisionError", "FileNotFoundError", "PermissionError", "ConnectionError",
})


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins" and name in _BUILTIN_NAMES:
            return getattr(builtins, name)
        if module == "asyncio.exceptions" and name in ("CancelledError", "TimeoutError"):
            return TimeoutError if name == "TimeoutError" else Interrupted
        return type(name, (ForeignObject,), {"qualified_name": f"{module}.{name}"})


def safe_loads(data: bytes) -> Any:
    return _SafeUnpickler(io.BytesIO(data)).load()


def check_result(data: dict[str, Any]) -> None:
    """Check a JobResult dict's shape; raises ValueError naming what is wrong."""
    missing = [k for k in contract.RESULT_FIELDS if k not in data]
    if missing:
        raise ValueError(f"worker result lacks {missing}")
    model = data["model"]
    if not isinstance(model, dict) or any(k not in model for k in contract.MODEL_FIELDS):
        raise ValueError("worker result has no valid model description")
    if not isinstance(data["video_path"], str) or not isinstance(model["test_model"], bool):
        raise ValueError("worker result has fields of the wrong type")

