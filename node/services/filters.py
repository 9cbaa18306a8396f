"""Filters v2 (Mastodon's CustomFilter) and the v1 view over the same rows: writing them. Matching
them against statuses is part of rendering (node.serializers.filters)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from tortoise.transactions import in_transaction

from node import ids
from node.errors import not_found, unprocessable
from node.models import Account, Filter, FilterKeyword, FilterStatus, Status
from node.models.filters import ACTIONS, CONTEXTS
from node.services.visibility import can_see

MAX_TITLE = 255
MAX_KEYWORD = 512


# --- writing -------------------------------------------------------------------------------------

def _title(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise unprocessable("title can't be blank")
    if len(value) > MAX_TITLE:
        raise unprocessable(f"title is too long (maximum is {MAX_TITLE} characters)")
    return value.strip()


def _context(values: list[str]) -> list[str]:
    values = [v.strip() for v in values if v.strip()]
    if not values or any(v not in CONTEXTS for v in values):
        raise unprocessable(f"context must be one or more of {', '.join(CONTEXTS)}")
    return list(dict.fromkeys(values))


def _action(value: Any) -> str:
    if value not in ACTIONS:
        raise unprocessable(f"filter_action must be one of {', '.join(ACTIONS)}")
    return value


def expires_at(expires_in: int | None) -> datetime | None:
    """`expires_in` seconds from now; None (or blank) for a filter that never expires."""
    if expires_in is None:
        return None
    if expires_in <= 0:
        raise unprocessable("expires_in must be a positive number of seconds")
    return datetime.now(timezone.utc) + timedelta(seconds=expires_in)


def _keyword(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise unprocessable("keyword can't be blank")
    if len(value) > MAX_KEYWORD:
        raise unprocessable(f"keyword is too long (maximum is {MAX_KEYWORD} characters)")
    return value


async def create_filter(account: Account, *, title: Any, context: list[str], action: str | None,
                        expires_in: int | None, keywords: list[dict[str, Any]]) -> Filter:
    title, context = _title(title), _context(context)
    action = _action(action or "warn")
    new_keywords = [(_keyword(k.get("keyword")), _bool(k.get("whole_word"), True)) for k in keywords
                    if not _bool(k.get("_destroy"), False)]
    async with in_transaction():
        row = await Filter.create(account=account, title=title, context=context, action=action,
                                  expires_at=expires_at(expires_in))
        for keyword, whole_word in new_keywords:
            await FilterKeyword.create(custom_filter=row, keyword=keyword, whole_word=whole_word)
    return row


async def update_filter(row: Filter, *, title: Any = None, context: list[str] | None = None,
                        action: str | None = None, expires_in: int | None = None, set_expiry: bool = False,
                        keywords: list[dict[str, Any]] = ()) -> Filter:
    """Only what is given changes; `keywords` are Mastodon's keywords_attributes: with an `id` they
    edit (or with `_destroy`, remove) that keyword, without one they add a keyword."""
    if title is not None:
        row.title = _title(title)
    if context is not None:
        row.context = _context(context)
    if action is not None:
        row.action = _action(action)
    if set_expiry:
        row.expires_at = expires_at(expires_in)
    own = {k.id: k for k in await FilterKeyword.filter(custom_filter_id=row.id)}
    changes: list[tuple[str, Any]] = []
    for attrs in keywords:
        if attrs.get("id") not in (None, ""):
            kid = ids.parse(attrs["id"])
            if kid not in own:
                raise not_found()
            kw = own[kid]
            if _bool(attrs.get("_destroy"), False):
                changes.append(("delete", kw))
                continue
            if "keyword" in attrs:
                kw.keyword = _keyword(attrs["keyword"])
            if "whole_word" in attrs:
                kw.whole_word = _bool(attrs["whole_word"], kw.whole_word)
            changes.append(("save", kw))
        elif not _bool(attrs.get("_destroy"), False):
            changes.append(("add", (_keyword(attrs.get("keyword")), _bool(attrs.get("whole_word"), True))))
    async with in_transaction():
        await row.save()
        for op, item in changes:
            if op == "delete":
                await item.delete()
            elif op == "save":
                await item.save()
            else:
                await FilterKeyword.create(custom_filter=row, keyword=item[0], whole_word=item[1])
    return row


async def add_keyword(row: Filter, keyword: Any, whole_word: bool) -> FilterKeyword:
    return await FilterKeyword.create(custom_filter=row, keyword=_keyword(keyword), whole_word=whole_word)


async def update_keyword(kw: FilterKeyword, keyword: Any = None, whole_word: bool | None = None) -> FilterKeyword:
    if keyword is not None:
        kw.keyword = _keyword(keyword)
    if whole_word is not None:
        kw.whole_word = whole_word
    await kw.save()
    return kw


async def add_status(account: Account, row: Filter, status_id: int) -> FilterStatus:
    """Filter one status the account can see (a reblog of it is filtered too)."""
    status = await Status.get_or_none(id=status_id, deleted_at=None)
    if status is None or not await can_see(account, status):
        raise not_found()
    if await FilterStatus.filter(custom_filter_id=row.id, status_id=status.id).exists():
        raise unprocessable("status has already been taken")
    return await FilterStatus.create(custom_filter=row, status=status)


async def delete(item: Filter | FilterKeyword | FilterStatus) -> None:
    """Remove a filter (its keywords and statuses go with it) or one of its keywords or statuses."""
    await item.delete()


async def create_v1(account: Account, *, phrase: Any, context: list[str], irreversible: bool, whole_word: bool,
                    expires_in: int | None) -> FilterKeyword:
    """A v1 filter is one keyword of a filter titled with the phrase (as Mastodon's v1 API)."""
    row = await create_filter(account, title=phrase, context=context, action="hide" if irreversible else "warn",
                              expires_in=expires_in, keywords=[{"keyword": phrase, "whole_word": whole_word}])
    return await FilterKeyword.get(custom_filter_id=row.id).prefetch_related("custom_filter")


async def update_v1(kw: FilterKeyword, *, phrase: Any = None, context: list[str] | None = None,
                    irreversible: bool | None = None, whole_word: bool | None = None, expires_in: int | None = None,
                    set_expiry: bool = False) -> FilterKeyword:
    """Changes to the filter itself are refused when it holds more keywords than this one: the v1 API
    would silently change the others too (Mastodon's deprecated_api_multiple_keywords)."""
    row = kw.custom_filter
    touches_filter = phrase is not None or context is not None or irreversible is not None or set_expiry
    if touches_filter and await FilterKeyword.filter(custom_filter_id=row.id).count() > 1:
        raise unprocessable("this filter has several keywords: change it with the v2 API")
    async with in_transaction():
        await update_keyword(kw, phrase, whole_word)
        await update_filter(row, title=phrase, context=context,
                            action=None if irreversible is None else ("hide" if irreversible else "warn"),
                            expires_in=expires_in, set_expiry=set_expiry)
    return kw


async def delete_v1(kw: FilterKeyword) -> None:
    """Remove the keyword, and its filter when nothing else is left in it."""
    async with in_transaction():
        await kw.delete()
        if (not await FilterKeyword.filter(custom_filter_id=kw.custom_filter_id).exists()
                and not await FilterStatus.filter(custom_filter_id=kw.custom_filter_id).exists()):
            await Filter.filter(id=kw.custom_filter_id).delete()


def _bool(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "on", "yes", "t"):
        return True
    if text in ("0", "false", "off", "no", "f"):
        return False
    raise unprocessable("expected a boolean")
