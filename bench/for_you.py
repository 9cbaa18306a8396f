"""Benchmark the For You ranking on PostgreSQL: one viewer with 500 candidates.

Run from the repository root:  python bench/for_you.py [--requests 300]
(about a minute on 2 cores; needs PostgreSQL's initdb/pg_ctl, as VITASCOPE_TEST_DB=postgres does).

A PostgreSQL cluster is started in a temporary directory (tests.support.servers.PostgresServer) and
a node (`vitascope serve`, embedded Redis) on a fresh database of it. The bench writes straight
into that database: 120 remote authors, the viewer following 40 of them, 700 video posts of the
last six days (public, plus followers-only from followed authors), 60 of them remixes of posts the
viewer liked, 4,000 likes from 200 fans, replies, boosts, watch-time and share sums, 30 "not
interested" marks, and steering words. The candidate query is bounded at 500 (`for_you.max_candidates`).

Then, in the same run and against the same database:
- "candidate query": the bare UNION query alone (node.for_you.candidate_sql; the counts are a second look-up),
  through Tortoise's asyncpg connection in this process, as the node runs it;
- "rank in process": the viewer's exclusions and preferences, candidates, the viewer's signals,
  scoring and diversity (node.for_you.rank);
- "GET for_you": the whole HTTP request to the node, signed in, 20 items rendered with the
  timelines' page serializer (keep-alive client, one request at a time), first pages (ranked, the
  ranking kept in Redis) and cursor pages (nine in ten read that snapshot, every tenth is a first page);
- "GET for_you, signed out" and "GET trends/statuses" (the non-personal ranking).
Each is timed --requests times after 20 warm-up calls; p50 and p99 in milliseconds. For the HTTP
rows the CPU the node process and the PostgreSQL processes used per request is given too (from
/proc): on a busy machine it moves far less than the wall-clock times.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)

import requests  # noqa: E402

from tests.support.nodes import LiveNode  # noqa: E402
from tests.support.servers import PostgresServer  # noqa: E402

AUTHORS, FOLLOWED, POSTS, REMIXES, FANS, LIKES = 120, 40, 700, 60, 200, 4000


async def load(database_url: str, viewer_name: str) -> int:
    """Write the bench's accounts, posts and signals; the viewer's account id."""
    from tortoise import Tortoise

    from node import db
    from node.ids import new_id
    from node.models import (Account, Favourite, Follow, ForYouPreference, MediaAttachment, Status, StatusEngagement,
                             StatusViewerSignal)

    rng = random.Random(15)
    await db.connect(database_url)
    viewer = await Account.get(username=viewer_name, domain=None)
    host = "bench.example"
    authors = [Account(id=new_id(), username=f"a{i}", domain=host, uri=f"https://{host}/users/a{i}")
               for i in range(AUTHORS)]
    fans = [Account(id=new_id(), username=f"f{i}", domain=host, uri=f"https://{host}/users/f{i}") for i in range(FANS)]
    await Account.bulk_create(authors + fans, batch_size=1000)
    await Follow.bulk_create([Follow(account_id=viewer.id, target_id=a.id) for a in authors[:FOLLOWED]])
    now = datetime.now(timezone.utc)
    statuses, media = [], []
    words = ["cats", "ocean", "cars", "forest", "city", "dance", "chats", "océan", "neige", "robots"]
    for i in range(POSTS):
        author = authors[i % AUTHORS]
        at = now - timedelta(seconds=rng.uniform(60, 6 * 86400))
        ms = int(at.timestamp() * 1000)
        sid = new_id(ms)
        private = i % AUTHORS < FOLLOWED and i % 5 == 0
        remix_of = statuses[rng.randrange(len(statuses) // 2)].id if i >= POSTS - REMIXES else None
        statuses.append(Status(id=sid, account_id=author.id, uri=f"https://{host}/s/{sid}", local=False,
                               content=f"<p>{rng.choice(words)} and {rng.choice(words)} #{rng.choice(words)}</p>",
                               visibility="private" if private else "public", created_at=at, remix_of_id=remix_of))
        media.append(MediaAttachment(id=new_id(ms), account_id=author.id, status_id=sid, type="video",
                                     remote_url=f"https://{host}/m/{sid}.mp4", description=rng.choice(words)))
    await Status.bulk_create(statuses, batch_size=1000)
    await MediaAttachment.bulk_create(media, batch_size=1000)
    liked = {s.remix_of_id for s in statuses if s.remix_of_id}
    pairs = {(rng.randrange(FANS), rng.randrange(POSTS)) for _ in range(LIKES)}
    favourites = [Favourite(account_id=fans[f].id, status_id=statuses[s].id) for f, s in pairs]
    favourites += [Favourite(account_id=viewer.id, status_id=s) for s in liked]
    await Favourite.bulk_create(favourites, batch_size=1000)
    replies = [Status(id=new_id(), account_id=fans[i % FANS].id, uri=f"https://{host}/r/{i}", local=False,
                      content="<p>nice</p>", in_reply_to_id=statuses[rng.randrange(POSTS)].id,
                      in_reply_to_uri="x") for i in range(800)]
    boosts = [Status(id=new_id(), account_id=fans[i % FANS].id, uri=f"https://{host}/b/{i}", local=False,
                     reblog_of_id=statuses[rng.randrange(POSTS)].id) for i in range(400)]
    await Status.bulk_create(replies + boosts, batch_size=1000)
    await StatusEngagement.bulk_create([
        StatusEngagement(status_id=s.id, viewers=(v := rng.randrange(1, 300)), completions=rng.randrange(v),
                         watched_ms=v * rng.randrange(1000, 8000), shares=rng.randrange(10))
        for s in statuses], batch_size=1000)
    await StatusViewerSignal.bulk_create([
        StatusViewerSignal(status_id=s.id, account_id=viewer.id, plays=1, watched_ms=3000, completed=True,
                           not_interested=n < 30)
        for n, s in enumerate(rng.sample(statuses, 150))], batch_size=1000)
    await ForYouPreference.create(account_id=viewer.id, more="cats, l'océan", less="cars")
    # What autovacuum does soon after a bulk load: without statistics the planner takes every table
    # for empty and nests loops over sequential scans.
    await Tortoise.get_connection("default").execute_script("ANALYZE")
    await Tortoise.close_connections()
    return viewer.id


async def in_process(database_url: str, viewer_id: int, n: int) -> dict[str, list[float]]:
    """The bare candidate query and the whole ranking, timed in this process."""
    from tortoise import Tortoise

    from node import db, for_you
    from node.config import load_config
    from node.models import Account

    await db.connect(database_url)
    config = load_config(overrides={"database": {"url": database_url}})
    viewer = await Account.get(id=viewer_id)
    sql = for_you.candidate_sql(list(for_you._SOURCES), signed_in=True)
    times: dict[str, list[float]] = {"candidate query": [], "rank in process": []}
    rows = 0
    for i in range(n + 20):
        now = datetime.now(timezone.utc)
        params = await for_you.candidate_params(config, viewer, now)
        t = time.perf_counter()
        rows = len(await for_you._run(sql, params))
        mid = time.perf_counter()
        ranking = await for_you.rank(config, viewer, now=now)
        end = time.perf_counter()
        if i >= 20:
            times["candidate query"].append((mid - t) * 1000)
            times["rank in process"].append((end - mid) * 1000)
    print(f"candidate rows (before de-duplication): {rows}; ranked candidates: {len(ranking.items)}")
    await Tortoise.close_connections()
    return times


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes (all their threads), from /proc."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def server_pids(node: LiveNode, postgres: PostgresServer) -> list[int]:
    """The node process and the PostgreSQL postmaster's children (its backends among them)."""
    postmaster = int((postgres.data / "postmaster.pid").read_text().split()[0])
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                children.append(int(stat.parent.name))
        except (FileNotFoundError, ValueError):
            continue
    return [node.process.pid, postmaster] + children


CPU: dict[str, tuple[float, float]] = {}  # node, PostgreSQL CPU ms per request
SERVERS: dict[str, PostgresServer] = {}


def over_http(node: LiveNode, token: str | None, path: str, n: int, follow_cursor: bool = False) -> list[float]:
    session = requests.Session()
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    out = []
    url = node.url + path
    node_before = pg_before = 0.0
    for i in range(n + 20):
        if i == 20:
            pids = server_pids(node, SERVERS["postgres"])
            node_before, pg_before = cpu_seconds(pids[:1]), cpu_seconds(pids[1:])
        t = time.perf_counter()
        r = session.get(url, timeout=30)
        elapsed = (time.perf_counter() - t) * 1000
        assert r.status_code == 200 and len(r.json()) == 20, r.text[:200]
        if i >= 20:
            out.append(elapsed)
        url = r.links["next"]["url"] if follow_cursor and "next" in r.links and i % 10 != 9 else node.url + path
    CPU[path + (" cursor" if follow_cursor else "") + (" signed in" if token else "")] = (
        (cpu_seconds(pids[:1]) - node_before) / n * 1000, (cpu_seconds(pids[1:]) - pg_before) / n * 1000)
    return out


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main(n: int) -> None:
    directory = Path(tempfile.mkdtemp(prefix="vitascope-bench-pg-"))
    directory.chmod(0o755)
    postgres = SERVERS["postgres"] = PostgresServer(directory / "pg")
    node = None
    try:
        url = postgres.create_database("for_you_bench")
        node = LiveNode(directory / "node", database_url=url, redis_url=None, name="foryou").start()
        username, password = node.create_user("viewer")
        token = node.token(username, password)
        viewer_id = asyncio.run(load(url, username))
        results = asyncio.run(in_process(url, viewer_id, n))
        results["GET for_you (first pages)"] = over_http(node, token, "/api/v1/vitascope/timelines/for_you", n)
        results["GET for_you (cursor pages)"] = over_http(node, token, "/api/v1/vitascope/timelines/for_you", n, True)
        results["GET for_you, signed out"] = over_http(node, None, "/api/v1/vitascope/timelines/for_you", n)
        results["GET trends/statuses"] = over_http(node, None, "/api/v1/trends/statuses", n)
        print(f"\n{n} timed calls each (after 20 warm-up), milliseconds:\n")
        print(f"| {'what':<28} | p50 | p99 | mean | node CPU | PostgreSQL CPU |\n| --- | ---: | ---: | ---: | ---: | ---: |")
        cpu = iter([None, None] + list(CPU.values()))
        for name, values in results.items():
            used = next(cpu)
            print(f"| {name:<28} | {pct(values, 0.5):.1f} | {pct(values, 0.99):.1f} | {statistics.mean(values):.1f} | "
                  + (" | |" if used is None else f"{used[0]:.1f} | {used[1]:.1f} |"))
    finally:
        if node is not None:
            node.stop()
        postgres.stop()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    main(parser.parse_args().requests)
