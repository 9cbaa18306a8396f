"""Plugin (PLUGIN_MODULES): publishes scheduled statuses when they are due.

The rows are the truth, so nothing is lost while no process runs: on start, and every
`limits.scheduled_poll_seconds` after, each web process publishes what is due (claiming each row
first, see node.services.scheduled_statuses)."""

from __future__ import annotations

from functools import partial

from aiohttp import web

from node import supervise
from node.context import Node
from node.services.scheduled_statuses import publish_due


async def setup(app: web.Application, node: Node) -> None:
    app["background"].append(supervise.every("scheduled-publisher", node.config["limits.scheduled_poll_seconds"],
                                             partial(publish_due, node)))
