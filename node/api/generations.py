"""Vitascope generations: POST a prompt, follow its progress, cancel it, list yours.

    POST   /api/v1/vitascope/generations            → 202 + the job (form, JSON or multipart with an image)
    GET    /api/v1/vitascope/generations            → your jobs, newest first (Link pagination)
    GET    /api/v1/vitascope/generations/:id        → one job, with live progress
    DELETE /api/v1/vitascope/generations/:id        → cancel
    GET    /api/v1/vitascope/generations/:id/events → Server-Sent Events until the job ends
    GET    /api/v1/vitascope/quota                  → free generations left today, credits, reset time

Progress is also pushed on the user's stream (`user`) as event `vitascope.generation`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from node import redis_keys
from node.api.common import ctx, page_limit, paged_json, paginate, path_id
from node.auth import grants, load_token, scope
from node.context import Node
from node.errors import ApiError
from node.generation import queue
from node.models import GenerationJob
from node.models.generation import ACTIVE_STATES
from node.params import read_params
from node.serializers import STREAM_EVENT, iso, job_json
from node.services import generation as service
from node.supervise import REDIS_LOST, supervise

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

SSE_HEARTBEAT_S = 15


async def render_job(node: Node, job: GenerationJob) -> dict[str, Any]:
    """The job with the worker's live progress while it is active."""
    progress = await queue.progress(node, str(job.id)) if job.state in ACTIVE_STATES else None
    return await job_json(node, job, progress)


@routes.post("/api/v1/vitascope/generations")
@scope("write:vitascope")
async def create(request: web.Request) -> web.Response:
    p = await read_params(request, allow_files=True)
    upload = p.files.get("image")
    image = upload.file.read() if upload is not None else None
    job = await service.create_job(
        ctx(request), request["user"], prompt=p.str("prompt", required=True) or "",
        negative_prompt=p.str("negative_prompt"),
        duration=p.float("duration"), aspect=p.str("aspect", max_len=8), seed=p.int("seed", minimum=0),
        audio=p.bool("audio", True), publish_prompt=p.bool("publish_prompt", False),
        remix_of_id=p.id("remix_of_id"), strength=p.float("strength"), image=image,
        use_credit=p.bool("use_credit", False))
    return web.json_response(await render_job(ctx(request), job), status=202)


@routes.get("/api/v1/vitascope/generations")
@scope("read:vitascope")
async def index(request: web.Request) -> web.Response:
    p = await read_params(request)
    query = GenerationJob.filter(account_id=request["account"].id)
    if p.str("state"):
        query = query.filter(state=p.str("state"))
    jobs = await paginate(query, p, page_limit(request, p))
    node = ctx(request)
    return paged_json(request, [await render_job(node, job) for job in jobs], jobs)


@routes.get("/api/v1/vitascope/generations/{id}")
@scope("read:vitascope")
async def show(request: web.Request) -> web.Response:
    job = await service.own_job(request["account"], path_id(request))
    return web.json_response(await render_job(ctx(request), job))


@routes.delete("/api/v1/vitascope/generations/{id}")
@scope("write:vitascope")
async def cancel(request: web.Request) -> web.Response:
    job = await service.cancel_job(ctx(request), request["account"], path_id(request))
    return web.json_response(await render_job(ctx(request), job))


@routes.get("/api/v1/vitascope/quota")
@scope("read:vitascope")
async def quota(request: web.Request) -> web.Response:
    node = ctx(request)
    q = await service.quota_of(node, request["user"])
    return web.json_response({"free_per_day": q.free_per_day, "free_used_today": q.free_used,
                              "free_left_today": q.free_left, "credits": q.credits,
                              "resets_at": iso(q.resets_at), "peak_mode": node.config["generation.peak_mode"]})


@routes.get("/api/v1/vitascope/generations/{id}/events")
async def events(request: web.Request) -> web.StreamResponse:
    """SSE for browsers (EventSource cannot set headers: `?access_token=` works too). Sends the
    current state first, then every change, and ends after the job ends."""
    token = await load_token(request)
    if token is None or request.get("account") is None:
        raise ApiError(401, "The access token is invalid")
    if not grants(token.scopes, "read:vitascope"):
        raise ApiError(403, "This action is outside the authorized scopes")
    node = ctx(request)
    job = await service.own_job(request["account"], path_id(request))
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
    sent: dict[str, Any] = {}

    async def pump() -> None:
        """Subscribe, send the state if it is not the one last sent, then every change until the job
        ends. Run again by `supervise`, on a fresh connection, when Redis is lost: reading the row after
        subscribing sends what changed while Redis was away, and misses nothing after."""
        nonlocal sent
        pubsub = node.redis.pubsub()
        try:
            await pubsub.subscribe(redis_keys.stream(f"user:{job.account_id}"))
            await job.refresh_from_db()
            current = await render_job(node, job)
            if current != sent:
                await _send(response, current)
                sent = current
            while current["state"] in ACTIVE_STATES:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=SSE_HEARTBEAT_S)
                if message is None:
                    await response.write(b":thump\n\n")
                    continue
                event = json.loads(message["data"])
                if event.get("event") != STREAM_EVENT:
                    continue
                payload = json.loads(event["payload"])
                if payload.get("id") == current["id"]:
                    current = sent = payload
                    await _send(response, current)
        finally:
            await pubsub.aclose()

    try:
        await response.prepare(request)
        await supervise(f"the event stream of generation {job.id}", pump, restart_on=REDIS_LOST)
    except ConnectionResetError:
        log.debug("generation %s: the event stream's client went away", job.id)
    return response


async def _send(response: web.StreamResponse, job: dict[str, Any]) -> None:
    await response.write(f"event: {STREAM_EVENT}\ndata: {json.dumps(job)}\n\n".encode())
