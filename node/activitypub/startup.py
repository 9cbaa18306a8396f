"""Start-up wiring of federation in the web process (a node.app plugin): the runtime, the client-API
hooks, the outgoing listeners and the background tasks (inbox processor, delivery worker, context
worker)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from node.activitypub import context_jobs, delivery, inbox_store, outgoing, process, resolve, runtime
from node.activitypub.runtime import Federation
from node.context import Node


async def _close_when_cancelled(fed: Federation) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        await fed.fetcher.__aexit__(None, None, None)
        inbox_store.close()


async def setup(app: web.Application, node: Node) -> None:
    """Plugin entry point (node.app PLUGIN_MODULES): hooks, listeners and background tasks."""
    fed = await runtime.start(node)
    node.extras["resolve_account"] = resolve.resolve_account
    node.extras["resolve_url"] = resolve.resolve_url
    node.extras["fetch_replies"] = context_jobs.fetch_replies_later
    outgoing.register(node)
    app["background"].append(asyncio.create_task(_close_when_cancelled(fed)))
    app["background"].append(asyncio.create_task(process.run_processor(node)))
    app["background"].extend(await delivery.start_worker(node))
    app["background"].append(context_jobs.start_worker(node))
