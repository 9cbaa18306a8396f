"""Parental controls: a teen's controls and the requests that link a guardian and a teen."""

from __future__ import annotations

from typing import Any

from node.context import Node
from node.models import Account, ParentalControls
from node.models.parental import CONTROLS, GuardianRequest
from node.serializers.accounts import account_one
from node.serializers.common import iso


async def controls_json(node: Node, controls: ParentalControls, today: dict[str, Any]) -> dict[str, Any]:
    """A teen's controls; ``today``: what the teen used today, against the daily limits."""
    await controls.fetch_related("account", "guardian")
    return {
        "account": await account_one(node, controls.account),
        "guardian": await account_one(node, controls.guardian) if controls.guardian else None,
        "teen_until": controls.adult_on.isoformat() if controls.adult_on else None,
        "controls": {key: getattr(controls, key) for key in CONTROLS},
        "today": today,
    }


async def guardian_request_json(node: Node, me: Account, row: GuardianRequest) -> dict[str, Any]:
    """A request to link a guardian and a teen, as ``me`` (either side) sees it."""
    await row.fetch_related("guardian", "teen")
    return {"id": str(row.id), "created_at": iso(row.created_at),
            "guardian": await account_one(node, row.guardian), "teen": await account_one(node, row.teen),
            "requested_by": "guardian" if row.by_guardian else "teen",
            # Whether it waits on me: the side that did not ask accepts or declines.
            "incoming": me.id == (row.teen_id if row.by_guardian else row.guardian_id)}
