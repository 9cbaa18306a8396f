"""Generation jobs as the API, the user's stream and the job's SSE endpoint show them, and the
copyright opt-outs admins keep."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from node.context import Node
from node.models import CopyrightOptOut, GenerationJob, MediaAttachment
from node.models.generation import ACTIVE_STATES
from node.serializers.common import iso
from node.serializers.media import media_json

# The streaming event (on the owner's `user` stream) that carries a job's new state.
STREAM_EVENT = "vitascope.generation"


def configured_model(node: Node) -> dict[str, Any]:
    """What the API can say about the model before a worker reports the exact weights."""
    path = node.config["generation.model_path"]
    family = node.config["generation.family"]
    return {"name": Path(path).name if path else f"tiny-{family}", "test_model": not path, "family": family}


async def job_json(node: Node, job: GenerationJob, live: dict[str, Any] | None = None) -> dict[str, Any]:
    """A job as the API and its stream show it; `live` is the worker's latest progress (read from
    Redis by the caller while the job is active), fresher than the row."""
    media = await MediaAttachment.get_or_none(id=job.media_id) if job.media_id else None
    step, total, eta = job.step, job.total_steps, job.eta_seconds
    if live and job.state in ACTIVE_STATES and live.get("state") == "running":
        step, total, eta = live["step"], live["total"], live["eta_seconds"]
    if job.model_name is not None:
        model = {"name": job.model_name, "version": job.model_version, "weights_digest": job.weights_digest,
                 "test_model": bool(job.test_model)}
    else:
        configured = configured_model(node)
        model = {"name": configured["name"], "version": None, "weights_digest": None,
                 "test_model": configured["test_model"]}
    return {
        "id": str(job.id),
        "state": job.state,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "prompt": job.prompt,
        "negative_prompt": job.negative_prompt,
        "publish_prompt": job.publish_prompt,
        "duration": job.duration,
        "aspect": job.aspect,
        "seed": str(job.seed),
        "audio": job.audio,
        "strength": job.strength,
        "remix_of_id": str(job.remix_of_id) if job.remix_of_id else None,
        "remix_of_uri": job.remix_of_uri,
        "charge": job.charge,
        "priority": job.priority,
        "cancel_requested": job.cancel_requested,
        "progress": {"step": step, "total": total, "eta_seconds": eta},
        "error": job.error,
        "model": model,
        "media_attachment": media_json(node, media) if media is not None else None,
    }


def opt_out_json(entry: CopyrightOptOut) -> dict:
    return {"id": str(entry.id), "holder": entry.holder, "terms": entry.terms, "note": entry.note,
            "created_at": iso(entry.created_at)}
