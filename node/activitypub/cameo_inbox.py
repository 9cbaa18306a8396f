"""Inbox handlers of the cameo consent exchange (services.cameo_federation does the work): a
CameoRequest to an owner here, a renderer's Add reporting a use, and the hooks by which Accept,
Reject and Delete reach our CameoRequests and the grants we hold before the follow/post code."""

from __future__ import annotations

import logging
from typing import Any

from node.context import Node
from node.models import Account
from node.services import cameo_federation as service

log = logging.getLogger(__name__)


async def handle_cameo_request(node: Node, actor: Account, doc: dict[str, Any]) -> None:
    log.info("cameo request %s from %s: %s", doc.get("id"), actor.uri, await service.receive_request(node, actor, doc))


async def handle_add(node: Node, actor: Account, doc: dict[str, Any]) -> None:
    """Only a renderer's report on a cameo use is an Add we act on."""
    log.info("cameo use report from %s: %s", actor.uri, await service.receive_report(node, actor, doc))


