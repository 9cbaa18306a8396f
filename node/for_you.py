"""The For You ranking: one bounded candidate query, batched signal look-ups, and a scoring function
of named features whose weights come from the `[for_you]` config section.

    score(video) = Σ weight[feature] × value[feature]      (+ the diversity weight, see `_diversify`)

Read-only: the signals it reads are written by node.services.for_you. Nothing here knows a
location. Each ranked item keeps its reasons (feature, weight, value) so clients can show "why".
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from tortoise.functions import Count

from node.config import Config
from node.models import (Account, Favourite, Follow, ForYouPreference, MediaAttachment, Status, StatusEngagement,
                         StatusTag, StatusViewerSignal)
from node.text import html_to_text

# Features of the non-personal ranking (signed-out visitors, trends, personalisation off) …
GLOBAL_FEATURES = ("freshness", "likes", "comments", "remixes", "shares", "watch_time", "completion")
# … and those that read what the viewer did and said.
PERSONAL_FEATURES = ("following", "remix_of_liked", "liked_author", "more", "less", "not_interested_author", "seen")
FEATURES = GLOBAL_FEATURES + PERSONAL_FEATURES + ("diversity",)

# ---------------------------------------------------------------------------------------------
# Steering words. Deterministic: Unicode NFKD, combining marks dropped (é → e, ç → c), case-folded,
# split on anything not a letter or digit; words shorter than 3 letters and common English and
# French function words are dropped; a final s or x is dropped from words of 4+ letters
# (cats → cat, oiseaux → oiseau), so singular and plural match.
STOPWORDS = frozenset("""
the and for with more less not but are was were this that these those from into onto over under
some any all very much many lot lots like want see videos video stuff things thing about than then
les des une aux avec pour dans sur sous par pas plus moins que qui quoi est sont ces cet cette mes
tes ses nos vos leurs leur du de la le un et ou en je tu il elle nous vous ils elles trop peu tout
tous toute toutes choses chose truc trucs
""".split())
_WORD_RE = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> list[str]:
    """The distinct steering words of a text, in order (see above)."""
    out: list[str] = []
    for token in _WORD_RE.findall(fold(text)):
        if len(token) < 3 or token in STOPWORDS:
            continue
        if len(token) >= 4 and token[-1] in "sx":
            token = token[:-1]
        if token not in out:
            out.append(token)
    return out


# ---------------------------------------------------------------------------------------------
# Candidates.

@dataclass
class Candidate:
    id: int
    account_id: int
    created_at: datetime
    remix_of_id: int | None
    content: str
    sources: list[str] = field(default_factory=list)
    values: dict[str, float] = field(default_factory=dict)
    score: float = 0.0
    diversity: float = 0.0  # how many same-author neighbours pushed it (0 or 1)

    def explain(self, weights: dict[str, float]) -> dict[str, Any]:
        values = dict(self.values, diversity=self.diversity) if self.diversity else self.values
        reasons = [{"feature": f, "weight": weights[f], "value": round(v, 4)} for f, v in values.items() if v]
        reasons.sort(key=lambda r: -abs(r["weight"] * r["value"]))
        return {"score": round(self.score, 4), "sources": self.sources, "reasons": reasons}


# The candidate sources, each one indexed SELECT over recent statuses (alias s, author a). Joined
# by UNION ALL into one query. Videos with people the viewer knows (cameos) are the next source to
# add here once cameo grants are stored on statuses: a `cameo_of_followed` branch selecting recent
# videos whose cameo accounts the viewer follows, with a `cameo` feature and weight to match.
_SOURCES: dict[str, str] = {
    # Followers-only videos reach followers; a silenced author still reaches them.
    "following": """JOIN follows f ON f.target_id = s.account_id AND f.account_id = :me
        WHERE s.visibility IN ('public', 'unlisted', 'private')""",
    "public": """WHERE s.visibility = 'public' AND a.silenced_at IS NULL""",
    "remix_of_liked": """JOIN favourites fv ON fv.status_id = s.remix_of_id AND fv.account_id = :me
        WHERE s.visibility IN ('public', 'unlisted') AND a.silenced_at IS NULL""",
}

_COMMON = """ AND s.id >= :since_id AND s.id <= :until_id AND s.created_at >= :since_at AND s.deleted_at IS NULL
    AND s.reblog_of_id IS NULL AND s.in_reply_to_uri IS NULL AND a.suspended_at IS NULL AND a.deleted_at IS NULL
    AND EXISTS (SELECT 1 FROM media_attachments m WHERE m.status_id = s.id AND m.type = 'video')"""

# What a signed-in viewer never gets: its own videos, blocked (either way) or muted authors, and
# the videos it marked "not interested".
_PERSONAL_EXCLUSIONS = """ AND s.account_id <> :me
    AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.account_id = :me AND b.target_id = s.account_id)
                                             OR (b.account_id = s.account_id AND b.target_id = :me))
    AND NOT EXISTS (SELECT 1 FROM mutes mu WHERE mu.account_id = :me AND mu.target_id = s.account_id)
    AND NOT EXISTS (SELECT 1 FROM status_viewer_signals ni
                    WHERE ni.status_id = s.id AND ni.account_id = :me AND ni.not_interested = :true)"""

_NAMED = re.compile(r":([a-z_]+)")


def candidate_sql(sources: list[str], *, signed_in: bool, only_id: int | None = None) -> str:
    """The one candidate query: each source's newest matches (bounded), UNION ALL."""
    branches = []
    for name in sources:
        where = _SOURCES[name] + _COMMON + (_PERSONAL_EXCLUSIONS if signed_in else "")
        if only_id is not None:
            where += " AND s.id = :only_id"
        branches.append(
            f"SELECT * FROM (SELECT s.id, s.account_id, s.created_at, s.remix_of_id, s.content, '{name}' AS source "
            f"FROM statuses s JOIN accounts a ON a.id = s.account_id {where} ORDER BY s.id DESC LIMIT :limit) AS {name}")
    return " UNION ALL ".join(branches)


async def _run(sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Run SQL written with :named parameters on either backend (asyncpg numbers them, SQLite takes ?)."""
    db = Status._meta.db
    order: list[str] = []
    if db.capabilities.dialect == "postgres":
        def number(m: re.Match) -> str:
            if m.group(1) not in order:
                order.append(m.group(1))
            return f"${order.index(m.group(1)) + 1}"
        text = _NAMED.sub(number, sql)
    else:
        def mark(m: re.Match) -> str:
            order.append(m.group(1))
            return "?"
        text = _NAMED.sub(mark, sql)
    return await db.execute_query_dict(text, [params[name] for name in order])


def candidate_params(config: Config, viewer: Account | None, now: datetime) -> dict[str, Any]:
    since = now - timedelta(days=config["for_you.window_days"])
    return {"me": viewer.id if viewer else 0, "true": True, "since_at": since,
            "since_id": int(since.timestamp() * 1000) << 16, "until_id": (int(now.timestamp() * 1000) << 16) | 0xFFFF,
            "limit": config["for_you.max_candidates"]}


async def candidates(config: Config, viewer: Account | None, now: datetime, personal: bool,
                     only_id: int | None = None) -> list[Candidate]:
    """The newest `max_candidates` distinct candidates, each with the sources that found it."""
    sources = list(_SOURCES) if personal else ["public"]
    params = candidate_params(config, viewer, now) | {"only_id": only_id}
    rows = await _run(candidate_sql(sources, signed_in=viewer is not None, only_id=only_id), params)
    found: dict[int, Candidate] = {}
    for row in rows:
        c = found.get(row["id"])
        if c is None:
            created = row["created_at"]
            if isinstance(created, str):  # SQLite hands raw SQL timestamps back as text
                created = datetime.fromisoformat(created)
            if created.tzinfo is None:
                created = created.replace(tzinfo=timezone.utc)
            c = found[row["id"]] = Candidate(row["id"], row["account_id"], created, row["remix_of_id"], row["content"])
        c.sources.append(row["source"])
    return sorted(found.values(), key=lambda c: -c.id)[:config["for_you.max_candidates"]]


# ---------------------------------------------------------------------------------------------
# Scoring.

@dataclass
class Steering:
    personalized: bool = True
    more: list[str] = field(default_factory=list)
    less: list[str] = field(default_factory=list)


async def steering(viewer: Account | None) -> Steering:
    if viewer is None:
        return Steering(personalized=False)
    pref = await ForYouPreference.get_or_none(account_id=viewer.id)
    if pref is None:
        return Steering()
    return Steering(pref.personalized, words(pref.more), words(pref.less))


async def _grouped(query, column: str) -> dict[int, int]:
    rows = await query.group_by(column).annotate(n=Count("id")).values(column, "n")
    return {r[column]: r["n"] for r in rows}


async def _texts(ids: list[int], contents: dict[int, str]) -> dict[int, set[str]]:
    """Each candidate's steering words: its caption, hashtags and media descriptions (the prompt,
    when its author published it)."""
    parts: dict[int, list[str]] = {i: [html_to_text(contents[i])] for i in ids}
    for row in await StatusTag.filter(status_id__in=ids).values("status_id", "tag__name"):
        parts[row["status_id"]].append(row["tag__name"])
    for row in await MediaAttachment.filter(status_id__in=ids).exclude(description="").values("status_id", "description"):
        parts[row["status_id"]].append(row["description"])
    return {i: set(words(" ".join(p))) for i, p in parts.items()}


async def score(config: Config, viewer: Account | None, items: list[Candidate], steer: Steering,
                now: datetime) -> None:
    """Fill each candidate's feature values and score, with a fixed number of batched queries."""
    if not items:
        return
    ids = [c.id for c in items]
    likes = await _grouped(Favourite.filter(status_id__in=ids), "status_id")
    replies = await _grouped(Status.filter(in_reply_to_id__in=ids, deleted_at=None), "in_reply_to_id")
    remixes = await _grouped(Status.filter(remix_of_id__in=ids, deleted_at=None), "remix_of_id")
    boosts = await _grouped(Status.filter(reblog_of_id__in=ids, deleted_at=None), "reblog_of_id")
    engagement = {e["status_id"]: e for e in await StatusEngagement.filter(status_id__in=ids)
                  .values("status_id", "viewers", "completions", "watched_ms", "shares")}
    half_life = config["for_you.freshness_half_life_hours"]
    for c in items:
        e = engagement.get(c.id) or {"viewers": 0, "completions": 0, "watched_ms": 0, "shares": 0}
        age_hours = max(0.0, (now - c.created_at).total_seconds() / 3600)
        c.values = {
            "freshness": 0.5 ** (age_hours / half_life),
            "likes": math.log1p(likes.get(c.id, 0)),
            "comments": math.log1p(replies.get(c.id, 0)),
            "remixes": math.log1p(remixes.get(c.id, 0)),
            "shares": math.log1p(boosts.get(c.id, 0) + e["shares"]),
            "watch_time": math.log1p(e["watched_ms"] / 1000),
            "completion": e["completions"] / (e["viewers"] + 1),
        }
    if viewer is not None and steer.personalized:
        await _personal(viewer, items, steer)
    weights = {f: config[f"for_you.{f}"] for f in FEATURES}
    for c in items:
        c.score = sum(weights[f] * v for f, v in c.values.items())


async def _personal(viewer: Account, items: list[Candidate], steer: Steering) -> None:
    ids = [c.id for c in items]
    authors = list({c.account_id for c in items})
    sources = [c.remix_of_id for c in items if c.remix_of_id]
    followed = set(await Follow.filter(account_id=viewer.id, target_id__in=authors).values_list("target_id", flat=True))
    liked = set(await Favourite.filter(account_id=viewer.id, status_id__in=sources)
                .values_list("status_id", flat=True)) if sources else set()
    liked_authors = await _grouped(Favourite.filter(account_id=viewer.id, status__account_id__in=authors),
                                   "status__account_id")
    dismissed_authors = await _grouped(
        StatusViewerSignal.filter(account_id=viewer.id, not_interested=True, status__account_id__in=authors),
        "status__account_id")
    seen = set(await StatusViewerSignal.filter(account_id=viewer.id, completed=True, status_id__in=ids)
               .values_list("status_id", flat=True))
    texts = await _texts(ids, {c.id: c.content for c in items}) if steer.more or steer.less else {}
    for c in items:
        text = texts.get(c.id, set())
        c.values |= {
            "following": float(c.account_id in followed),
            "remix_of_liked": float(c.remix_of_id in liked),
            "liked_author": math.log1p(liked_authors.get(c.account_id, 0)),
            "more": float(sum(w in text for w in steer.more)),
            "less": float(sum(w in text for w in steer.less)),
            "not_interested_author": float(dismissed_authors.get(c.account_id, 0)),
            "seen": float(c.id in seen),
        }


def _diversify(items: list[Candidate], penalty: float) -> list[Candidate]:
    """Best first, but a video that would follow one by the same author competes with its score
    plus the (negative) diversity weight: the next other author's video goes first when it then
    scores higher."""
    remaining = sorted(items, key=lambda c: (-c.score, -c.id))
    out: list[Candidate] = []
    while remaining:
        head = remaining[0]
        if out and head.account_id == out[-1].account_id:
            other = next((i for i, c in enumerate(remaining) if c.account_id != head.account_id), None)
            if other is not None and remaining[other].score > head.score + penalty:
                out.append(remaining.pop(other))
                continue
            head.diversity = 1.0
            head.score += penalty
        out.append(remaining.pop(0))
    return out


@dataclass
class Ranking:
    items: list[Candidate]
    weights: dict[str, float]
    personalized: bool


async def rank(config: Config, viewer: Account | None, *, now: datetime | None = None,
               personal: bool = True) -> Ranking:
    """The viewer's For You, best first. `personal=False` (and a viewer who switched
    personalisation off) gets the non-personal ranking of public videos, still without its own,
    blocked, muted or dismissed ones."""
    now = now or datetime.now(timezone.utc)
    steer = await steering(viewer) if personal else Steering(personalized=False)
    items = await candidates(config, viewer, now, steer.personalized and viewer is not None)
    await score(config, viewer, items, steer, now)
    weights = {f: config[f"for_you.{f}"] for f in FEATURES}
    return Ranking(_diversify(items, weights["diversity"]), weights, steer.personalized and viewer is not None)


async def explain_one(config: Config, viewer: Account | None, status: Status) -> dict[str, Any]:
    """Why this status would be (or is not) in the viewer's For You: its sources and reasons.
    Creator diversity depends on the page, so it is not part of a single status's answer."""
    now = datetime.now(timezone.utc)
    steer = await steering(viewer)
    personal = steer.personalized and viewer is not None
    found = await candidates(config, viewer, now, personal, only_id=status.id)
    item = found[0] if found else Candidate(status.id, status.account_id, status.created_at, status.remix_of_id,
                                            status.content)
    await score(config, viewer, [item], steer, now)
    weights = {f: config[f"for_you.{f}"] for f in FEATURES}
    return {"id": str(status.id), "candidate": bool(found), "personalized": personal, **item.explain(weights)}
