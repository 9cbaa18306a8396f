"""Plugin (PLUGIN_MODULES): publishes scheduled statuses when they are due.

The rows are the truth, so nothing is lost while no process runs: on start, and every
`limits.scheduled_poll_seconds` after, each web process publishes what is due (claiming each row
first, see node.services.scheduled_statuses)."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from node.context import Node
from node.services.scheduled_statuses import publish_due

log = logging.getLogger(__name__)


async def setup(app: web.Application, node: Node) -> None:
    app["background"].append(asyncio.create_task(_run(node), name="scheduled-publisher"))


async def _run(node: Node) -> None:
    while True:
        try:
            await publish_due(node)
        except Exception:  # a database hiccup must not end the loop; the rows wait for the next round
            log.exception("publishing scheduled statuses failed")
        await asyncio.sleep(node.config["limits.scheduled_poll_seconds"])
