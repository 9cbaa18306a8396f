"""Users report accounts and posts to the admins: `POST /api/v1/reports` (Mastodon 4.x).

With `forward`, a report about a remote account is also sent to its server as a Flag.
"""

from __future__ import annotations

from aiohttp import web

from node.api.common import ctx, get_account, viewer
from node.auth import scope
from node.errors import not_found, unprocessable
from node.models import Status
from node.params import parse_id, read_params
from node.serializers import report_json
from node.services import reports as service
from node.services.visibility import can_see

routes = web.RouteTableDef()

MAX_STATUSES = 100


@routes.post("/api/v1/reports")
@routes.post("/api/v1/reports/")  # Mastodon.py posts here
@scope("write:reports")
async def create_report(request: web.Request) -> web.Response:
    node, me = ctx(request), viewer(request)
    p = await read_params(request)
    target = await get_account(p.id("account_id", required=True))
    if target.id == me.id:
        raise unprocessable("you cannot report yourself")
    if p.list("rule_ids"):
        raise unprocessable("rule_ids: this server has no rules")
    ids = list(dict.fromkeys(parse_id(i, "status_ids") for i in p.list("status_ids")))
    if len(ids) > MAX_STATUSES:
        raise unprocessable(f"status_ids: at most {MAX_STATUSES}")
    statuses = await Status.filter(id__in=ids, account_id=target.id) if ids else []
    # Public posts stay reportable after a block or a deletion (as in Mastodon); others must be visible.
    if len(statuses) != len(ids) or not all([s.visibility in ("public", "unlisted") or await can_see(me, s)
                                             for s in statuses]):
        raise not_found()
    statuses.sort(key=lambda s: ids.index(s.id))
    report = await service.file_report(
        node, me, target, statuses, p.str("comment", "", max_len=service.COMMENT_LIMIT) or "",
        category=p.str("category", "other", max_len=16) or "other", forward=p.bool("forward", False) or False)
    return web.json_response(await report_json(node, report))
