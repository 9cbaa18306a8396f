"""The For You ranking: one bounded candidate query, batched signal look-ups, and a scoring function
of named features whose weights come from the `[for_you]` config section.

    score(video) = Σ weight[feature] × value[feature]      (+ the diversity weight, see `_diversify`)

Read-only: the signals it reads are written by node.services.for_you. Nothing here knows a
location. Each ranked item keeps its reasons (feature, weight, value) so clients can show "why".
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from node.config import Config
from node.models import Account, Status
from node.services.parental import personalisation_allowed
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
    if text.isascii():
        return text.casefold()
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
    features: tuple[float, ...] = ()  # the values of FEATURES, in order (the global ones only when not personal)
    score: float = 0.0
    diversity: float = 0.0  # how many same-author neighbours pushed it (0 or 1)

    @property
    def values(self) -> dict[str, float]:
        """Each feature's value, by name (built for the items served only)."""
        return dict(zip(FEATURES, self.features))


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
# the videos it marked "not interested" — read first (`_VIEWER_SQL`) and passed as two id lists,
# which keeps the candidate query small to plan.
_PERSONAL_EXCLUSIONS = " AND s.account_id NOT_IN_IDS(:hidden_accounts) AND s.id NOT_IN_IDS(:dismissed)"

# Those exclusions and the viewer's steering preferences (personalised as k, words as text), as
# (kind, k, text) rows: one statement.
_VIEWER_SQL = """SELECT 'account' AS kind, b.target_id AS k, NULL AS text FROM blocks b WHERE b.account_id = :me
    UNION ALL SELECT 'account', b.account_id, NULL FROM blocks b WHERE b.target_id = :me
    UNION ALL SELECT 'account', mu.target_id, NULL FROM mutes mu WHERE mu.account_id = :me
    UNION ALL SELECT 'status', ni.status_id, NULL FROM status_viewer_signals ni
        WHERE ni.account_id = :me AND ni.not_interested = :true AND ni.status_id >= :since_id
    UNION ALL SELECT 'more', CAST(p.personalized AS INTEGER), p.more FROM for_you_preferences p WHERE p.account_id = :me
    UNION ALL SELECT 'less', 0, p.less FROM for_you_preferences p WHERE p.account_id = :me"""

_NAMED = re.compile(r":([a-z_]+)")
_ID_LIST = re.compile(r"(NOT_)?IN_IDS\(:([a-z_]+)\)")


def candidate_sql(sources: list[str], *, signed_in: bool, only_id: int | None = None, content: bool = True) -> str:
    """The one candidate query: each source's newest matches (bounded), UNION ALL. The caption
    (`content`) is read only when the viewer steers by words; the counts are read afterwards
    (`_COUNTS_SQL`), once per distinct candidate."""
    branches = []
    for name in sources:
        where = _SOURCES[name] + _COMMON + (_PERSONAL_EXCLUSIONS if signed_in else "")
        if only_id is not None:
            where += " AND s.id = :only_id"
        branches.append(
            f"SELECT * FROM (SELECT s.id, s.account_id, s.created_at, s.remix_of_id, "
            f"{'s.content' if content else chr(39) * 2} AS content, '{name}' AS source "
            f"FROM statuses s JOIN accounts a ON a.id = s.account_id {where} ORDER BY s.id DESC LIMIT :limit) AS {name}")
    return " UNION ALL ".join(branches)


@functools.lru_cache(maxsize=64)
def _translate(sql: str, dialect: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """(the statement in the backend's parameter style, the parameters' names in order, the id lists)."""
    order: list[str] = []
    if dialect == "postgres":
        sql = _ID_LIST.sub(lambda m: f"{'<> ALL' if m.group(1) else '= ANY'}(CAST(:{m.group(2)} AS BIGINT[]))", sql)

        def number(m: re.Match) -> str:
            if m.group(1) not in order:
                order.append(m.group(1))
            return f"${order.index(m.group(1)) + 1}"
        return _NAMED.sub(number, sql), tuple(order), ()
    lists = tuple(name for _not, name in _ID_LIST.findall(sql))
    sql = _ID_LIST.sub(lambda m: f"{'NOT IN' if m.group(1) else 'IN'} (SELECT value FROM json_each(:{m.group(2)}))", sql)

    def mark(m: re.Match) -> str:
        order.append(m.group(1))
        return "?"
    return _NAMED.sub(mark, sql), tuple(order), lists


async def _run(sql: str, params: dict[str, Any], positional: bool = False) -> list[Any]:
    """Run SQL written with :named parameters on either backend (asyncpg numbers them, SQLite takes
    ?); rows are read by column name. `IN_IDS(:name)` tests membership in a list of ids passed as
    one parameter (an array on PostgreSQL, JSON on SQLite), so each statement's text — and its
    prepared plan — is the same whatever the number of ids. On PostgreSQL the asyncpg records come
    back as they are (no dict per row); `positional` rows are read by position only (SQLite's as
    tuples of the selected columns, in order)."""
    db = Status._meta.db
    dialect = db.capabilities.dialect
    text, order, lists = _translate(sql, dialect)
    if dialect == "postgres":
        async with db.acquire_connection() as connection:
            return await connection.fetch(text, *[params[name] for name in order])
    values = dict(params)
    for name in lists:
        values[name] = orjson.dumps(params[name]).decode()
    rows = await db.execute_query_dict(text, [values[name] for name in order])
    return [tuple(r.values()) for r in rows] if positional else rows


async def candidate_params(config: Config, viewer: Account | None, now: datetime) -> dict[str, Any]:
    """The window (ids start with their millisecond, node.ids) and, for a signed-in viewer, what
    it never gets and its steering preferences (`preference`: [personalized, more, less], or None)."""
    since = now - timedelta(days=config["for_you.window_days"])
    params = {"me": viewer.id if viewer else 0, "true": True, "since_at": since,
              "since_id": int(since.timestamp() * 1000) << 16, "until_id": (int(now.timestamp() * 1000) << 16) | 0xFFFF,
              "limit": config["for_you.max_candidates"], "hidden_accounts": [], "dismissed": [], "preference": None}
    if viewer is not None:
        params["hidden_accounts"].append(viewer.id)
        for row in await _run(_VIEWER_SQL, params):
            kind = row["kind"]
            if kind == "account":
                params["hidden_accounts"].append(row["k"])
            elif kind == "status":
                params["dismissed"].append(row["k"])
            else:
                params["preference"] = params["preference"] or [True, "", ""]
                if kind == "more":
                    params["preference"][:2] = [bool(row["k"]), row["text"]]
                else:
                    params["preference"][2] = row["text"]
    return params


async def candidates(config: Config, viewer: Account | None, now: datetime, personal: bool,
                     only_id: int | None = None, content: bool = True,
                     params: dict[str, Any] | None = None) -> list[Candidate]:
    """The newest `max_candidates` distinct candidates, each with the sources that found it
    (`params`: candidate_params's, when the caller read them already)."""
    sources = list(_SOURCES) if personal else ["public"]
    params = (params or await candidate_params(config, viewer, now)) | {"only_id": only_id}
    rows = await _run(candidate_sql(sources, signed_in=viewer is not None, only_id=only_id, content=content), params,
                      positional=True)
    found: dict[int, Candidate] = {}
    for row in rows:  # id, account_id, created_at, remix_of_id, content, source
        c = found.get(row[0])
        if c is None:
            created = row[2]
            if isinstance(created, str):  # SQLite hands raw SQL timestamps back as text
                created = datetime.fromisoformat(created)
            if created.tzinfo is None:
                created = created.replace(tzinfo=timezone.utc)
            c = found[row[0]] = Candidate(row[0], row[1], created, row[3], row[4], [])
        c.sources.append(row[5])
    for c in found.values():
        if len(c.sources) > 1:  # in the order of _SOURCES, whatever order the join gave the rows in
            c.sources.sort(key=sources.index)
    return sorted(found.values(), key=lambda c: -c.id)[:config["for_you.max_candidates"]]


# ---------------------------------------------------------------------------------------------
# Scoring.

@dataclass
class Steering:
    personalized: bool = True
    more: list[str] = field(default_factory=list)
    less: list[str] = field(default_factory=list)


async def steering(viewer: Account | None, preference: list | None) -> Steering:
    """The viewer's words and whether its For You is personal (`preference`: candidate_params's):
    not when it switched that off, nor when a guardian did (node.services.parental)."""
    if viewer is None:
        return Steering(personalized=False)
    allowed = await personalisation_allowed(viewer)
    if preference is None:
        return Steering(personalized=allowed)
    personalized, more, less = preference
    return Steering(personalized and allowed, words(more), words(less))


@functools.lru_cache(maxsize=20_000)
def _status_words(parts: tuple[str, ...]) -> frozenset[str]:
    """A status's steering words from (its HTML content, hashtags, media descriptions); cached, as
    the same candidates come back request after request (an edit changes the key)."""
    return frozenset(words(" ".join((html_to_text(parts[0]),) + parts[1:])))


# What everyone did, per candidate: the counts the statuses show (status_stats, kept by triggers:
# migration 0009, not counted again per request) and the For You sums. One look-up by the distinct
# candidates' ids: joined to the candidate query instead, PostgreSQL hashed both tables whole and
# joined every row of the three sources (about 1.8 ms of its CPU against 0.9 for this statement).
_COUNTS = """st.favourites_count AS likes, st.replies_count AS comments, st.remixes_count AS remixes,
    st.reblogs_count AS boosts, e.viewers, e.completions, e.watched_ms, e.shares"""
_COUNTS_JOIN = """LEFT JOIN status_stats st ON st.id = c.id LEFT JOIN status_engagement e ON e.status_id = c.id"""
_COUNTS_SQL = f"""SELECT c.id, {_COUNTS} FROM statuses c {_COUNTS_JOIN} WHERE c.id IN_IDS(:ids)"""
_NO_COUNTS = (None,) * 8  # a status gone since the candidate query

# What the viewer did, as (kind, key, n, text) rows, and — when it steers by words — the candidates'
# other words besides the caption (hashtags; media descriptions, which hold the prompt when its
# author published it): one statement.
_PERSONAL_SQL = """
    SELECT 'following' AS kind, f.target_id AS k, 1 AS n, NULL AS text FROM follows f
        WHERE f.account_id = :me AND f.target_id IN_IDS(:authors)
    UNION ALL SELECT 'liked', fv.status_id, 1, NULL FROM favourites fv
        WHERE fv.account_id = :me AND fv.status_id IN_IDS(:sources)
    UNION ALL SELECT 'liked_author', s.account_id, COUNT(*), NULL FROM favourites fv
        JOIN statuses s ON s.id = fv.status_id
        WHERE fv.account_id = :me AND s.account_id IN_IDS(:authors) GROUP BY s.account_id
    UNION ALL SELECT 'not_interested_author', s.account_id, COUNT(*), NULL FROM status_viewer_signals ni
        JOIN statuses s ON s.id = ni.status_id
        WHERE ni.account_id = :me AND ni.not_interested = :true AND s.account_id IN_IDS(:authors) GROUP BY s.account_id
    UNION ALL SELECT 'seen', sv.status_id, 1, NULL FROM status_viewer_signals sv
        WHERE sv.account_id = :me AND sv.completed = :true AND sv.status_id IN_IDS(:ids)
    UNION ALL SELECT 'text', st.status_id, 0, t.name FROM status_tags st JOIN tags t ON t.id = st.tag_id
        WHERE :steered AND st.status_id IN_IDS(:ids)
    UNION ALL SELECT 'text', m.status_id, 0, m.description FROM media_attachments m
        WHERE :steered AND m.status_id IN_IDS(:ids) AND m.description <> ''"""


async def score(config: Config, viewer: Account | None, items: list[Candidate], steer: Steering,
                now: datetime) -> None:
    """Fill each candidate's feature values and score: one statement reads everyone's signals (the
    counts), one more the viewer's and the steering words."""
    if not items:
        return
    counts = {r[0]: r[1:] for r in await _run(_COUNTS_SQL, {"ids": [c.id for c in items]}, positional=True)}
    half_life = config["for_you.freshness_half_life_hours"]
    log1p = math.log1p
    for c in items:
        likes, comments, remixes, boosts, viewers, completions, watched_ms, shares = counts.get(c.id, _NO_COUNTS)
        age_hours = max(0.0, (now - c.created_at).total_seconds() / 3600)
        c.features = (0.5 ** (age_hours / half_life), log1p(likes or 0), log1p(comments or 0),
                      log1p(remixes or 0), log1p((boosts or 0) + (shares or 0)),
                      log1p((watched_ms or 0) / 1000), (completions or 0) / ((viewers or 0) + 1))
    if viewer is not None and steer.personalized:
        await _personal(viewer, items, steer)
    weights = [config[f"for_you.{f}"] for f in FEATURES]
    for c in items:
        total = 0  # summed in FEATURES order, as `sum` would
        for w, v in zip(weights, c.features):
            total += w * v
        c.score = total


async def _personal(viewer: Account, items: list[Candidate], steer: Steering) -> None:
    ids = [c.id for c in items]
    steered = bool(steer.more or steer.less)
    found: dict[str, dict[int, int]] = {k: {} for k in ("following", "liked", "liked_author",
                                                         "not_interested_author", "seen")}
    parts: dict[int, list[str]] = {c.id: [c.content] for c in items} if steered else {}
    for kind, k, n, text in await _run(_PERSONAL_SQL, {
            "me": viewer.id, "true": True, "ids": ids, "authors": list({c.account_id for c in items}),
            "sources": [c.remix_of_id for c in items if c.remix_of_id], "steered": steered}, positional=True):
        if kind == "text":
            parts[k].append(text)
        else:
            found[kind][k] = n
    texts = {i: _status_words(tuple(p)) for i, p in parts.items()}
    more, less = set(steer.more), set(steer.less)
    following, liked, liked_author = found["following"], found["liked"], found["liked_author"]
    not_interested_author, seen = found["not_interested_author"], found["seen"]
    empty: frozenset[str] = frozenset()
    log1p = math.log1p
    for c in items:
        text = texts.get(c.id, empty)
        c.features += (float(c.account_id in following), float(c.remix_of_id in liked),
                       log1p(liked_author.get(c.account_id, 0)), float(len(more & text)), float(len(less & text)),
                       float(not_interested_author.get(c.account_id, 0)), float(c.id in seen))


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
    personal: bool = False  # whether it used what the viewer did and said


async def rank(config: Config, viewer: Account | None, *, now: datetime | None = None,
               personal: bool = True) -> Ranking:
    """The viewer's For You, best first. `personal=False` (and a viewer who switched
    personalisation off) gets the non-personal ranking of public videos, still without its own,
    blocked, muted or dismissed ones."""
    now = now or datetime.now(timezone.utc)
    params = await candidate_params(config, viewer, now)
    steer = await steering(viewer, params["preference"]) if personal else Steering(personalized=False)
    personal = steer.personalized and viewer is not None
    items = await candidates(config, viewer, now, personal, content=personal and bool(steer.more or steer.less),
                             params=params)
    await score(config, viewer, items, steer, now)
    weights = {f: config[f"for_you.{f}"] for f in FEATURES}
    return Ranking(_diversify(items, weights["diversity"]), weights, personal)


def snapshot(ranking: Ranking) -> bytes:
    """The ranking as its cursor's later pages read it back (`from_snapshot`): each item's id,
    author, sources, values, score and diversity, and the weights — its explanations unchanged."""
    return orjson.dumps({"w": ranking.weights, "p": ranking.personal,
                         "i": [(c.id, c.account_id, c.sources, c.features, c.score, c.diversity) for c in ranking.items]})


def from_snapshot(raw: bytes, start: int, stop: int) -> Ranking:
    """The snapshot's ranking with only its items from `start` to `stop` built (the others None:
    a page needs no more)."""
    data = orjson.loads(raw)
    entries = data["i"]
    items: list[Candidate | None] = [None] * len(entries)
    for n in range(start, min(stop, len(entries))):
        i, a, sources, features, score, diversity = entries[n]
        items[n] = Candidate(i, a, None, None, "", sources, tuple(features), score, diversity)  # type: ignore[arg-type]
    return Ranking(items, data["w"], data["p"])  # type: ignore[arg-type]


async def hidden(config: Config, viewer: Account, now: datetime) -> tuple[set[int], set[int], bool]:
    """What the viewer must not get now, whatever a snapshot holds: (blocked either way or muted
    authors, with its own account; the statuses it marked "not interested"; whether its For You
    may still be personal — not once it, or its guardian, switched that off)."""
    params = await candidate_params(config, viewer, now)
    steer = await steering(viewer, params["preference"])
    return set(params["hidden_accounts"]), set(params["dismissed"]), steer.personalized


@dataclass
class Why:
    item: Candidate
    candidate: bool  # whether the status is a candidate at all (else only scored, for the answer)
    personalized: bool
    weights: dict[str, float]


async def explain_one(config: Config, viewer: Account | None, status: Status) -> Why:
    """Why this status would be (or is not) in the viewer's For You: its sources and reasons.
    Creator diversity depends on the page, so it is not part of a single status's answer."""
    now = datetime.now(timezone.utc)
    params = await candidate_params(config, viewer, now)
    steer = await steering(viewer, params["preference"])
    personal = steer.personalized and viewer is not None
    found = await candidates(config, viewer, now, personal, only_id=status.id, params=params)
    item = found[0] if found else Candidate(status.id, status.account_id, status.created_at, status.remix_of_id,
                                            status.content)
    await score(config, viewer, [item], steer, now)
    weights = {f: config[f"for_you.{f}"] for f in FEATURES}
    return Why(item, bool(found), personal, weights)
