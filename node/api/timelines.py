"""Home, public and hashtag timelines, computed by query (no fan-out tables to keep in sync). List
timelines are in node.api.lists."""

from __future__ import annotations

from aiohttp import web
from tortoise.expressions import Q, Subquery

from node.api.common import feed_page, page_limit, paginate, prepared_page, stand_in, viewer
from node.auth import scope
from node.db import on_one_connection
from node.models import Account, Follow, Mention, Status
from node.params import read_params
from node.services.lists import exclusive_members
from node.services.visibility import without_hidden

routes = web.RouteTableDef()


def home_statuses(me: Account):
    """The statuses of `me`'s home timeline, for its page and for its `user` stream: one statement,
    where whom `me` follows, who it hides, what mentions it and whose posts go to its exclusive lists
    instead are subqueries. Mentions by subquery, not by join: no row repeats, so no DISTINCT, and
    the page is read in id order straight off an index. Suspended accounts' posts (and shares of
    them) are hidden; a silenced account reaches only its followers, so its mentions of anyone else
    stay out."""
    following = Subquery(Follow.filter(account_id=me.id).values("target_id"))
    no_reblogs = Subquery(Follow.filter(account_id=me.id, show_reblogs=False).values("target_id"))
    mentioning_me = Subquery(Mention.filter(account_id=me.id).values("status_id"))
    query = (Status.filter(deleted_at=None, account__suspended_at=None, reblog_of__account__suspended_at=None)
             .filter(Q(account_id=me.id) | Q(account_id__in=following, visibility__in=["public", "unlisted", "private"])
                     | Q(id__in=mentioning_me, account__silenced_at=None))
             .exclude(Q(account_id__in=no_reblogs) & Q(reblog_of_id__not_isnull=True))
             .exclude(account_id__in=Subquery(exclusive_members(me.id))))
    return without_hidden(query, me)


@routes.get("/api/v1/timelines/home")
@on_one_connection
@scope("read:statuses")
async def home(request: web.Request) -> web.Response:
    me = request["account"]
    p = await read_params(request)
    items = await prepared_page(Status, "home",
                                lambda me_id: home_statuses(stand_in(me_id)).select_related("reblog_of"),
                                p, page_limit(request, p), [me.id], inline=True)
    return await feed_page(request, items, context="home")


def public_query(me: Account | None, *, local: bool = False, remote: bool = False, only_media: bool = False):
    """Public posts the viewer may get on the public timelines and streams, without those of
    suspended or silenced accounts."""
    query = Status.filter(deleted_at=None, visibility="public", reblog_of_id=None, account__suspended_at=None,
                          account__silenced_at=None)
    if local:
        query = query.filter(local=True)
    elif remote:
        query = query.filter(local=False)
    if only_media:
        query = query.filter(media__id__not_isnull=True).distinct()
    return without_hidden(query, me, boosts=False)


def tag_query(me: Account | None, names: list[str], *, local: bool = False, remote: bool = False,
              only_media: bool = False):
    """Public posts with any of the hashtags `names` (lower-case), for hashtag timelines and streams."""
    return (public_query(me, local=local, remote=remote, only_media=only_media)
            .filter(status_tags__tag__name__in=names).distinct())


def _without_boosts(items: list[Status]) -> list[Status]:
    """A page of `public_query` (public and hashtag timelines), which holds no boosts: its statuses
    are marked as boosting nothing, so rendering it reads no originals (node.serializers.statuses)."""
    for status in items:
        status.__dict__["_reblog_of"] = None
    return items


def _flags(p) -> dict[str, bool]:
    return {"local": p.bool("local", False), "remote": p.bool("remote", False),
            "only_media": p.bool("only_media", False)}


@routes.get("/api/v1/timelines/public")
@on_one_connection
@scope("read:statuses", optional=True)
async def public(request: web.Request) -> web.Response:
    p = await read_params(request)
    me = viewer(request)
    flags = _flags(p)
    items = await prepared_page(Status, ("public", me is None, *flags.values()),
                                lambda *me_id: public_query(stand_in(me_id[0]) if me_id else None, **flags),
                                p, page_limit(request, p), *([[me.id]] if me else []), inline=True)
    return await feed_page(request, _without_boosts(items), context="public")


@routes.get("/api/v1/timelines/tag/{hashtag}")
@on_one_connection
@scope("read:statuses", optional=True)
async def tag(request: web.Request) -> web.Response:
    p = await read_params(request)
    me = viewer(request)
    names = [request.match_info["hashtag"].lower()] + [t.lower() for t in p.list("any")]
    query = tag_query(me, names, **_flags(p))
    for name in p.list("all"):
        query = query.filter(id__in=Status.filter(status_tags__tag__name=name.lower()).values_list("id", flat=True))
    for name in p.list("none"):
        query = query.exclude(id__in=Status.filter(status_tags__tag__name=name.lower()).values_list("id", flat=True))
    items = await paginate(query, p, page_limit(request, p))
    return await feed_page(request, _without_boosts(items), context="public")
