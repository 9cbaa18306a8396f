"""Plugin (PLUGIN_MODULES): deletes finished delivery rows past federation.delivery_retention_days
(node.services.retention), on start and every PRUNE_EVERY_S after, in each web process (a row two
processes both delete is simply gone)."""

from __future__ import annotations

from functools import partial

from aiohttp import web

from node import supervise
from node.context import Node
from node.services.retention import prune

PRUNE_EVERY_S = 3600


async def setup(app: web.Application, node: Node) -> None:
    if node.config["federation.delivery_retention_days"]:
        app["background"].append(supervise.every("delivery-row pruner", PRUNE_EVERY_S, partial(prune, node)))
