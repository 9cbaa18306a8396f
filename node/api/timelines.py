"""Home, public and hashtag timelines, computed by query (no fan-out tables to keep in sync). List
timelines are in node.api.lists."""

from __future__ import annotations

from aiohttp import web
from tortoise.expressions import Q

from node.api.common import ctx, page_limit, paged_json, paginate, viewer
from node.auth import scope
from node.models import Follow, Status
from node.params import read_params
from node.serializers import statuses_json
from node.services.lists import exclusive_member_ids
from node.services.visibility import hidden_account_ids

routes = web.RouteTableDef()


@routes.get("/api/v1/timelines/home")
@scope("read:statuses")
async def home(request: web.Request) -> web.Response:
    me = request["account"]
    p = await read_params(request)
    follows = await Follow.filter(account_id=me.id).values("target_id", "show_reblogs")
    following = [f["target_id"] for f in follows]
    no_reblogs = [f["target_id"] for f in follows if not f["show_reblogs"]]
    # Suspended accounts' posts (and shares of them) are hidden; a silenced account reaches only its
    # followers, so its mentions of anyone else stay out.
    query = (Status.filter(deleted_at=None, account__suspended_at=None, reblog_of__account__suspended_at=None)
             .filter(Q(account_id=me.id) | Q(account_id__in=following, visibility__in=["public", "unlisted", "private"])
                     | Q(mentions__account_id=me.id, account__silenced_at=None))
             .exclude(account_id__in=await hidden_account_ids(me) + await exclusive_member_ids(me.id)))
    if no_reblogs:
        query = query.exclude(Q(account_id__in=no_reblogs) & Q(reblog_of_id__not_isnull=True))
    items = await paginate(query.distinct(), p, page_limit(request, p))
    return paged_json(request, await statuses_json(ctx(request), me, items, context="home"), items)


def _public_query(p) -> Status:
    """Public posts, without those of suspended or silenced accounts."""
    query = Status.filter(deleted_at=None, visibility="public", reblog_of_id=None, account__suspended_at=None,
                          account__silenced_at=None)
    if p.bool("local", False):
        query = query.filter(local=True)
    elif p.bool("remote", False):
        query = query.filter(local=False)
    if p.bool("only_media", False):
        query = query.filter(media__id__not_isnull=True).distinct()
    return query


@routes.get("/api/v1/timelines/public")
@scope("read:statuses", optional=True)
async def public(request: web.Request) -> web.Response:
    p = await read_params(request)
    me = viewer(request)
    query = _public_query(p).exclude(account_id__in=await hidden_account_ids(me))
    items = await paginate(query, p, page_limit(request, p))
    return paged_json(request, await statuses_json(ctx(request), me, items, context="public"), items)


@routes.get("/api/v1/timelines/tag/{hashtag}")
@scope("read:statuses", optional=True)
async def tag(request: web.Request) -> web.Response:
    p = await read_params(request)
    me = viewer(request)
    names = [request.match_info["hashtag"].lower()] + [t.lower() for t in p.list("any")]
    query = _public_query(p).filter(status_tags__tag__name__in=names).distinct()
    for name in p.list("all"):
        query = query.filter(id__in=Status.filter(status_tags__tag__name=name.lower()).values_list("id", flat=True))
    for name in p.list("none"):
        query = query.exclude(id__in=Status.filter(status_tags__tag__name=name.lower()).values_list("id", flat=True))
    query = query.exclude(account_id__in=await hidden_account_ids(me))
    items = await paginate(query, p, page_limit(request, p))
    return paged_json(request, await statuses_json(ctx(request), me, items, context="public"), items)
