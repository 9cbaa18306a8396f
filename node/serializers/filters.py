"""Filters (Mastodon's Filter, FilterKeyword, FilterStatus, v1 Filter) and the viewer's active filters
matched against a page of statuses in memory (FilterResults in `filtered`)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from node import prepared
from node.models import Filter, FilterKeyword, FilterStatus
from node.serializers.common import iso
from node.text import html_to_text


def keyword_regex(keyword: str, whole_word: bool) -> str:
    """As Mastodon's CustomFilterKeyword#to_regex: case-insensitive, with word boundaries only at ends
    of the keyword that are word characters (so "#tag" or "c++" still match as whole words)."""
    escaped = re.escape(keyword)
    if not whole_word:
        return escaped
    start = r"\b" if re.match(r"\w", keyword) else ""
    end = r"\b" if re.search(r"\w$", keyword) else ""
    return f"{start}{escaped}{end}"


@dataclass
class _Rules:
    filter: Filter
    keywords: re.Pattern | None = None
    status_ids: set[int] = field(default_factory=set)


class ActiveFilters:
    """One viewer's unexpired filters, read with a page of statuses (`from_rows`) or loaded for one
    status of a stream (`load`, at most three queries), and matched in memory, the way Mastodon's StatusRelationshipsPresenter builds its filters map."""

    def __init__(self, rules: list[_Rules]):
        self.rules = rules

    @classmethod
    def from_rows(cls, filters: list[tuple], keywords: list[tuple], statuses: list[tuple]) -> "ActiveFilters":
        """The viewer's filters from rows read with a page (node.serializers.statuses._page_details):
        (id, title, context as JSON text, action, expires_at) each; keywords (filter id, keyword,
        whole word) in id order; (filter id, status id) for the page's statuses they name."""
        now = datetime.now(timezone.utc)
        expiry = Filter._meta.fields_map["expires_at"]
        rules: dict[int, _Rules] = {}
        for fid, title, context, action, expires_at in filters:
            expires_at = expiry.to_python_value(expires_at)
            if expires_at is None or expires_at > now:
                rules[fid] = _Rules(Filter(id=fid, title=title, context=json.loads(context), action=action,
                                           expires_at=expires_at))
        patterns: dict[int, list[str]] = {}
        for fid, keyword, whole_word in keywords:
            if fid in rules:
                patterns.setdefault(fid, []).append(keyword_regex(keyword, whole_word))
        for fid, parts in patterns.items():
            rules[fid].keywords = re.compile("|".join(parts), re.IGNORECASE)
        for fid, status_id in statuses:
            if fid in rules:
                rules[fid].status_ids.add(status_id)
        return cls(list(rules.values()))

    @classmethod
    async def load(cls, account_id: int, status_ids: list[int]) -> "ActiveFilters":
        now = datetime.now(timezone.utc)
        filters = [f for f in await prepared.models(Filter, "filters", lambda me: Filter.filter(account_id=me[0]), [account_id])
                   if f.expires_at is None or f.expires_at > now]
        if not filters:
            return cls([])
        rules = {f.id: _Rules(f) for f in filters}
        patterns: dict[int, list[str]] = {}
        for kw in await prepared.models(FilterKeyword, "filters.keywords",
                                        lambda i: FilterKeyword.filter(custom_filter_id__in=i).order_by("id"), list(rules)):
            patterns.setdefault(kw.custom_filter_id, []).append(keyword_regex(kw.keyword, kw.whole_word))
        for fid, parts in patterns.items():
            rules[fid].keywords = re.compile("|".join(parts), re.IGNORECASE)
        if status_ids:
            for row in await (FilterStatus.filter(custom_filter_id__in=list(rules), status_id__in=status_ids)
                              .values("custom_filter_id", "status_id")):
                rules[row["custom_filter_id"]].status_ids.add(row["status_id"])
        return cls(list(rules.values()))

    def match(self, text: str, status_ids: list[int]) -> list[tuple[Filter, list[str] | None, list[str] | None]]:
        """(filter, keyword_matches, status_matches) for every filter the status meets. `text` is the
        searchable text of the status (or of the status it reblogs); `status_ids`: its id and the
        reblogged one's."""
        out = []
        for rule in self.rules:
            found = rule.keywords.search(text) if rule.keywords is not None and text else None
            keyword_matches = [found.group(0)] if found else None
            status_matches = [str(i) for i in status_ids if i in rule.status_ids] or None
            if keyword_matches or status_matches:
                out.append((rule.filter, keyword_matches, status_matches))
        return out


def hides(matches: list[tuple[Filter, Any, Any]], context: str | None) -> bool:
    """Whether a `hide` filter among the matches applies in this context."""
    return context is not None and any(f.action == "hide" and context in f.context for f, _, _ in matches)


def status_ids_of(statuses: list[dict[str, Any]]) -> list[int]:
    """The ids of rendered statuses and of those they reblog (what status filters are looked up by)."""
    ids = []
    for s in statuses:
        ids.append(int(s["id"]))
        if s.get("reblog"):
            ids.append(int(s["reblog"]["id"]))
    return ids


def apply_filters(active: ActiveFilters, statuses: list[dict[str, Any]], context: str | None,
                  viewer_id: int) -> list[dict[str, Any]]:
    """Set `filtered` (FilterResults) on rendered statuses, and on the statuses they reblog, and leave
    out those a `hide` filter of `context` removes (never the viewer's own). Used on every page of
    statuses and on every status a stream sends, so both filter alike."""
    if not active.rules:
        return statuses
    kept = []
    for s in statuses:
        proper = s.get("reblog") or s
        text = "\n\n".join([proper.get("spoiler_text") or "", html_to_text(proper.get("content") or "")]
                            + [m.get("description") or "" for m in proper.get("media_attachments") or []])
        matches = active.match(text, [int(s["id"])] + ([int(proper["id"])] if proper is not s else []))
        if matches and hides(matches, context) and proper["account"]["id"] != str(viewer_id):
            continue
        results = [{"filter": filter_json(f), "keyword_matches": kw, "status_matches": st} for f, kw, st in matches]
        s["filtered"] = results
        if proper is not s:
            proper["filtered"] = results
        kept.append(s)
    return kept


def filter_json(f: Filter, keywords: list[FilterKeyword] | None = None,
                statuses: list[FilterStatus] | None = None) -> dict[str, Any]:
    """Mastodon's Filter; `keywords` and `statuses` only where the rules were asked for (the filters
    API), not inside a status's FilterResult."""
    data: dict[str, Any] = {"id": str(f.id), "title": f.title, "context": list(f.context),
                            "expires_at": iso(f.expires_at), "filter_action": f.action}
    if keywords is not None:
        data["keywords"] = [filter_keyword_json(k) for k in keywords]
    if statuses is not None:
        data["statuses"] = [filter_status_json(s) for s in statuses]
    return data


def filter_keyword_json(k: FilterKeyword) -> dict[str, Any]:
    return {"id": str(k.id), "keyword": k.keyword, "whole_word": k.whole_word}


def filter_status_json(s: FilterStatus) -> dict[str, Any]:
    return {"id": str(s.id), "status_id": str(s.status_id)}


async def filters_json(filters: list[Filter]) -> list[dict[str, Any]]:
    """Filters with their keywords and statuses, in two queries."""
    ids = [f.id for f in filters]
    keywords: dict[int, list[FilterKeyword]] = {i: [] for i in ids}
    statuses: dict[int, list[FilterStatus]] = {i: [] for i in ids}
    if ids:
        for k in await FilterKeyword.filter(custom_filter_id__in=ids).order_by("id"):
            keywords[k.custom_filter_id].append(k)
        for s in await FilterStatus.filter(custom_filter_id__in=ids).order_by("id"):
            statuses[s.custom_filter_id].append(s)
    return [filter_json(f, keywords[f.id], statuses[f.id]) for f in filters]


def v1_filter_json(k: FilterKeyword) -> dict[str, Any]:
    """The v1 view: one keyword with its filter's settings (`custom_filter` loaded)."""
    f = k.custom_filter
    return {"id": str(k.id), "phrase": k.keyword, "context": list(f.context), "whole_word": k.whole_word,
            "expires_at": iso(f.expires_at), "irreversible": f.action == "hide"}
