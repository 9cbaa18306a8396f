"""What apps call to fill their explore and profile screens: trends, follow suggestions, the profile
directory, familiar followers, per-account featured tags / lists / identity proofs, the about
page's extended description, oEmbed and translation. Registered before `node.api.accounts`, whose
`/accounts/{id}` would take `familiar_followers`."""

from __future__ import annotations

import html
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

from aiohttp import web
from tortoise.expressions import Q, Subquery
from tortoise.functions import Count

from node import ids
from node.api.common import ctx, get_account, path_id, viewer, visible_status
from node.api.for_you import ranked_page
from node.auth import scope
from node.errors import ApiError, not_found
from node.models import Account, AccountStats, Follow, FollowRequest, Status, StatusTag, SuggestionDismissal
from node.params import parse_id, read_params
from node.serializers import accounts_many, iso, oembed_json, suggestions_json, trending_tag_json
from node.services.social import dismiss_suggestion
from node.services.visibility import hidden_account_ids

routes = web.RouteTableDef()

def _offset_limit(request: web.Request, p, default: int, maximum: int) -> tuple[int, int]:
    return (p.int("offset", 0, minimum=0, clamp=True),
            p.int("limit", default, minimum=1, maximum=maximum, clamp=True))


@routes.get("/api/v1/trends/statuses")
@scope("read:statuses", optional=True)
async def trending_statuses(request: web.Request) -> web.Response:
    """The non-personal For You ranking (trends are the same for everyone, as on Mastodon), with
    Mastodon's offset pagination; a signed-in viewer's blocks, mutes and dismissals still apply."""
    p = await read_params(request)
    offset, limit = _offset_limit(request, p, 20, 40)
    return await ranked_page(request, personal=False, offset=offset, limit=limit, now=datetime.now(timezone.utc))


@routes.get("/api/v1/trends/tags")
@routes.get("/api/v1/trends")
@scope("read", optional=True)
async def trending_tags(request: web.Request) -> web.Response:
    """Hashtags of the window's public posts by how many posts used them, with Mastodon's 7-day history."""
    p = await read_params(request)
    offset, limit = _offset_limit(request, p, 10, 20)
    now = datetime.now(timezone.utc)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    since = today - timedelta(days=6)
    rows = await (StatusTag.filter(status__visibility="public", status__deleted_at=None, status__created_at__gte=since,
                                   status__account__suspended_at=None, status__account__silenced_at=None)
                  .limit(20_000).values("tag__name", "status_id", "status__account_id", "status__created_at"))
    uses: dict[str, dict[int, set]] = defaultdict(lambda: defaultdict(set))
    accounts: dict[str, dict[int, set]] = defaultdict(lambda: defaultdict(set))
    for row in rows:
        day = (today - row["status__created_at"].astimezone(timezone.utc)
               .replace(hour=0, minute=0, second=0, microsecond=0)).days
        uses[row["tag__name"]][day].add(row["status_id"])
        accounts[row["tag__name"]][day].add(row["status__account_id"])
    ranked = sorted(uses, key=lambda t: (sum(len(v) for v in uses[t].values()), t), reverse=True)[offset:offset + limit]
    return web.json_response([trending_tag_json(ctx(request), name, today, uses[name], accounts[name]) for name in ranked])


@routes.get("/api/v1/trends/links")
@scope("read", optional=True)
async def trending_links(request: web.Request) -> web.Response:
    """Posts here are videos, without link previews: nothing to rank."""
    return web.json_response([])


async def _suggested(me: Account, limit: int) -> list[tuple[Account, str]]:
    """Accounts to follow, with why: first those people the viewer follows follow
    (`friends_of_friends`), then the most followed local accounts (`most_followed`); never the
    viewer, whom it follows or asked to, blocked or muted accounts, or dismissed suggestions."""
    excluded = {me.id} | set(await hidden_account_ids(me))
    excluded |= set(await Follow.filter(account_id=me.id).values_list("target_id", flat=True))
    excluded |= set(await FollowRequest.filter(account_id=me.id).values_list("target_id", flat=True))
    excluded |= set(await SuggestionDismissal.filter(account_id=me.id).values_list("target_id", flat=True))
    followed = list(await Follow.filter(account_id=me.id).values_list("target_id", flat=True))
    picks: list[tuple[int, str]] = []
    if followed:
        for row in await (Follow.filter(account_id__in=followed).exclude(target_id__in=list(excluded))
                          .group_by("target_id").annotate(n=Count("id")).order_by("-n").limit(limit)
                          .values("target_id", "n")):
            picks.append((row["target_id"], "friends_of_friends"))
    chosen = {i for i, _ in picks} | excluded
    # The followers counts the profiles show (account_stats, kept by triggers), not a count per request.
    for target_id in await (AccountStats.filter(id__in=Subquery(Account.filter(domain=None).values("id")),
                                                followers_count__gt=0)
                            .exclude(id__in=list(chosen)).order_by("-followers_count", "-id").limit(limit)
                            .values_list("id", flat=True)):
        picks.append((target_id, "most_followed"))
    good = {a.id: a for a in await Account.filter(id__in=[i for i, _ in picks], discoverable=True, deleted_at=None,
                                                   suspended_at=None, silenced_at=None)}
    return [(good[i], source) for i, source in picks if i in good][:limit]


@routes.get("/api/v2/suggestions")
@scope("read")
async def suggestions(request: web.Request) -> web.Response:
    """Mastodon's Suggestion entities."""
    p = await read_params(request)
    picks = await _suggested(request["account"], p.int("limit", 40, minimum=1, maximum=80, clamp=True))
    return web.json_response(await suggestions_json(ctx(request), picks))


@routes.get("/api/v1/suggestions")
@scope("read")
async def suggestions_v1(request: web.Request) -> web.Response:
    """The v1 form (deprecated by Mastodon, still called): the accounts alone."""
    p = await read_params(request)
    picks = await _suggested(request["account"], p.int("limit", 40, minimum=1, maximum=80, clamp=True))
    return web.json_response(await accounts_many(ctx(request), [a for a, _ in picks]))


@routes.delete("/api/v1/suggestions/{id}")
@scope("write")
async def dismiss(request: web.Request) -> web.Response:
    target = await get_account(path_id(request))
    await dismiss_suggestion(request["account"], target)
    return web.json_response({})


@routes.get("/api/v1/directory")
@scope("read:accounts", optional=True)
async def directory(request: web.Request) -> web.Response:
    """Discoverable accounts in good standing; `order=active` (latest post first, the default) or
    `new`; `local=true` for this node's only."""
    p = await read_params(request)
    offset, limit = _offset_limit(request, p, 40, 80)
    order = p.str("order", "active") or "active"
    if order not in ("active", "new"):
        raise ApiError(422, "Validation failed: order must be active or new")
    query = Account.filter(discoverable=True, deleted_at=None, suspended_at=None, silenced_at=None,
                           moved_to_id=None)
    if p.bool("local", False):
        query = query.filter(domain=None)
    hidden = await hidden_account_ids(viewer(request))
    if hidden:
        query = query.exclude(id__in=hidden)
    if order == "new":
        rows = list(await query.order_by("-id").offset(offset).limit(limit))
    else:  # latest post first, accounts that never posted last (NULLS LAST on every database)
        posted = query.filter(last_status_at__not_isnull=True)
        rows = list(await posted.order_by("-last_status_at", "-id").offset(offset).limit(limit))
        if len(rows) < limit:
            skip = max(0, offset - await posted.count())
            rows += await query.filter(last_status_at=None).order_by("-id").offset(skip).limit(limit - len(rows))
    return web.json_response(await accounts_many(ctx(request), rows))


@routes.get("/api/v1/accounts/familiar_followers")
@scope("read:follows")
async def familiar_followers(request: web.Request) -> web.Response:
    """For each `id[]`: the accounts the viewer follows that follow it."""
    me = request["account"]
    p = await read_params(request)
    ids = [parse_id(i) for i in p.list("id")][:40]
    hidden = set(await hidden_account_ids(me))
    mine = list(await Follow.filter(account_id=me.id).values_list("target_id", flat=True))
    by_target: dict[int, list[int]] = {i: [] for i in ids}
    if mine and ids:
        for row in await Follow.filter(target_id__in=ids, account_id__in=mine).order_by("-id").values("target_id",
                                                                                                         "account_id"):
            if row["account_id"] not in hidden:
                by_target[row["target_id"]].append(row["account_id"])
    accounts = {a.id: a for a in await Account.filter(id__in={a for v in by_target.values() for a in v},
                                                      deleted_at=None, suspended_at=None)}
    rendered = {int(a["id"]): a for a in await accounts_many(ctx(request), list(accounts.values()))}
    return web.json_response([{"id": str(i), "accounts": [rendered[a] for a in by_target[i] if a in rendered]}
                              for i in ids])


@routes.get("/api/v1/accounts/{id}/featured_tags")
@scope("read:accounts", optional=True)
async def account_featured_tags(request: web.Request) -> web.Response:
    """Featuring hashtags on a profile is not offered here: every profile features none."""
    await get_account(path_id(request))
    return web.json_response([])


@routes.get("/api/v1/accounts/{id}/identity_proofs")
@scope("read:accounts", optional=True)
async def identity_proofs(request: web.Request) -> web.Response:
    """Gone from Mastodon since 3.5, where it answers an empty list too."""
    await get_account(path_id(request))
    return web.json_response([])


@routes.get("/api/v1/instance/extended_description")
async def extended_description(request: web.Request) -> web.Response:
    """The about page's text: `server.extended_description` (else the description), paragraphs
    split on blank lines; dated from when the node started with it."""
    node = ctx(request)
    text = node.config["server.extended_description"] or node.config["server.description"]
    content = "".join(f"<p>{html.escape(part.strip())}</p>" for part in text.split("\n\n") if part.strip())
    return web.json_response({"updated_at": iso(node.extras["started_at"]), "content": content})


@routes.get("/api/oembed")
async def oembed(request: web.Request) -> web.Response:
    """oEmbed for a public or unlisted local post, given its page URL or id URI."""
    node = ctx(request)
    p = await read_params(request)
    url = p.str("url", required=True, max_len=2048) or ""
    segment = urlparse(url).path.rstrip("/").rsplit("/", 1)[-1]
    status = None
    if (status_id := ids.parse(segment)) is not None:
        status = await Status.get_or_none(Q(url=url) | Q(uri=url), id=status_id, local=True, deleted_at=None,
                                          visibility__in=["public", "unlisted"]).prefetch_related("account")
    if status is None or status.account.suspended_at is not None:
        raise not_found()
    width = p.int("maxwidth", 400, minimum=100, maximum=1000, clamp=True)
    height = p.int("maxheight", None, minimum=100, maximum=2000, clamp=True)
    page = status.url or node.urls.status_page(status.account.username, status.id)
    sized = f'width="{width}"' + (f' height="{height}"' if height else "")
    frame = (f'<iframe src="{html.escape(page)}" class="vitascope-embed" style="max-width: 100%; border: 0" '
             f'{sized} allowfullscreen="allowfullscreen"></iframe>')
    return web.json_response(oembed_json(node, status, frame, width, height))


@routes.post("/api/v1/statuses/{id}/translate")
@scope("read:statuses")
async def translate(request: web.Request) -> web.Response:
    """No translation service is configured (the instance says `translation.enabled: false`). As
    Mastodon then: 404 after the usual visibility check, with a message saying why."""
    await visible_status(request, path_id(request))
    raise ApiError(404, "Translation is not available on this server")
