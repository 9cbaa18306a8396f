"""Search: accounts, statuses and hashtags; `resolve=true` asks federation for @user@host and URLs."""

from __future__ import annotations

from aiohttp import web
from tortoise.expressions import Q

from node.api.common import ctx, viewer
from node.auth import scope
from node.errors import unprocessable
from node.models import Account, Follow, Status, Tag
from node.params import read_params
from node.serializers import accounts_many, statuses_json

routes = web.RouteTableDef()


async def find_accounts(request: web.Request, q: str, limit: int, *, resolve: bool, following: bool = False,
                        offset: int = 0) -> list[Account]:
    node = ctx(request)
    q = q.strip()
    acct = q.lstrip("@")
    results: list[Account] = []
    if "@" in acct and " " not in acct:
        username, _, domain = acct.partition("@")
        domain = domain.lower()
        if domain == node.config.domain:
            found = await Account.get_or_none(domain=None, username__iexact=username, deleted_at=None)
        else:
            found = await Account.get_or_none(domain=domain, username__iexact=username, deleted_at=None)
            if found is None and resolve and node.extras.get("resolve_account"):
                found = await node.extras["resolve_account"](node, acct)
        if found:
            results.append(found)
    elif q.startswith(("http://", "https://")) and resolve and node.extras.get("resolve_url"):
        found = await node.extras["resolve_url"](node, q)
        if isinstance(found, Account):
            results.append(found)
    if not results:
        query = Account.filter(Q(username__icontains=acct) | Q(display_name__icontains=acct), deleted_at=None,
                               suspended_at=None)
        if following and viewer(request):
            query = query.filter(id__in=await Follow.filter(account_id=viewer(request).id).values_list("target_id", flat=True))
        results = list(await query.order_by("domain", "username").offset(offset).limit(limit))
    return results[:limit]


@routes.get("/api/v2/search")
@scope("read:search", optional=True)
async def search(request: web.Request) -> web.Response:
    node = ctx(request)
    p = await read_params(request)
    q = p.str("q", required=True, max_len=512) or ""
    kind = p.str("type")
    if kind not in (None, "accounts", "statuses", "hashtags"):
        raise unprocessable("type must be accounts, statuses or hashtags")
    limit = p.int("limit", 20, minimum=1, maximum=40, clamp=True)
    offset = p.int("offset", 0, minimum=0, maximum=10_000, clamp=True)
    me = viewer(request)
    resolve = bool(p.bool("resolve", False)) and me is not None
    out: dict = {"accounts": [], "statuses": [], "hashtags": []}
    if kind in (None, "accounts") and q.strip():
        out["accounts"] = await accounts_many(node, await find_accounts(request, q, limit, resolve=resolve,
                                                                        following=bool(p.bool("following", False)),
                                                                        offset=offset))
    if kind in (None, "statuses") and q.strip():
        statuses: list[Status] = []
        if q.startswith(("http://", "https://")):
            found = await Status.get_or_none(Q(uri=q) | Q(url=q), deleted_at=None, account__suspended_at=None)
            if found is None and resolve and node.extras.get("resolve_url"):
                resolved = await node.extras["resolve_url"](node, q)
                found = resolved if isinstance(resolved, Status) else None
            statuses = [found] if found and found.visibility in ("public", "unlisted") else []
        elif me is not None:
            statuses = list(await Status.filter(deleted_at=None, visibility="public", reblog_of_id=None,
                                                account__suspended_at=None, text__icontains=q).order_by("-id").offset(offset).limit(limit))
        out["statuses"] = await statuses_json(node, me, statuses)
    if kind in (None, "hashtags") and q.strip():
        name = q.lstrip("#").lower()
        tags = await Tag.filter(name__startswith=name).order_by("name").offset(offset).limit(limit)
        out["hashtags"] = [{"name": t.name, "url": node.urls.tag(t.name), "history": [], "following": False}
                           for t in tags]
    return web.json_response(out)
