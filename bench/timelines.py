"""Benchmark the read path at scale (issue 12): timelines, account statuses and notifications.

Run from the repository root:  python bench/timelines.py [--scale 1.0] [--runs 50] [--seconds 10]

Starts its own PostgreSQL and a node on it (with `database.count_statements`, which adds the
X-Vitascope-Statements header), then loads straight into the node's schema with generate_series:
10,000 accounts, 1,000,000 statuses over 60 days (10 % replies, 5 % reblogs), 200 follows per
account, 2,000,000 favourites, 5 % of statuses mentioning someone (and the notifications of
those mentions and of the favourites) — all times --scale. The viewer is a real local user
who follows 200 accounts, writes like everyone else and is mentioned like everyone else.

For home, public (local and federated), account statuses and notifications, first page and
page 6 (20 per page): p50/p99 of the bare SQL (the same page as a hand-written query, through
psycopg), p50/p99 of the API, their ratio, p50/p99 of HTTP and JSON alone (the same page's JSON
served by a bare aiohttp handler to the same client), what the API's p99 takes beyond twice the
bare query's (`fixed`, ms: the goal's "fixed few ms", which must not grow with --scale or the
page), how far the API's p99 is over "2 x bare + HTTP and JSON" (`over`, ms; `strict`: the same
against the bare query's p99 when it runs back to back, `in a row`, its connection never idle),
the node's CPU per request (ms, from /proc, while the timed requests ran), the statements per
request, requests/s with 16 concurrent clients, and the shared buffers the bare query reads
(EXPLAIN (ANALYZE, BUFFERS)). The bare query, the API and HTTP and JSON alone are timed in turn,
one request of each per round, so that whatever else the machine does meanwhile falls on all
three alike.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)

import aiohttp  # noqa: E402
import psycopg  # noqa: E402
import requests  # noqa: E402

from tests.support.nodes import LiveNode  # noqa: E402
from tests.support.servers import PostgresServer  # noqa: E402

DAY_MS = 86_400_000
PAGE = 20


def load(conn, *, accounts: int, statuses: int, follows: int, favourites: int, viewer: int) -> None:
    """The data set, straight into the node's tables. Counting triggers are off while loading; the
    counts are computed once at the end, as `vitascope admin recount` would."""
    now_ms = int(time.time() * 1000)
    start_ms = now_ms - 60 * DAY_MS
    step = 60 * DAY_MS // statuses
    a0 = 1 << 40  # synthetic account ids; the viewer keeps the one the node gave it
    # author of status g: account number (g mod (accounts+1)), the last of them being the viewer;
    # every 50th status is by account 10, a prolific local one (its page 6 exists at any scale).
    idx = f"(CASE WHEN g % 50 = 25 THEN 10 ELSE g % {accounts + 1} END)"
    author = f"(CASE WHEN {idx} = {accounts} THEN {viewer} ELSE {a0} + {idx} END)"
    sid = f"((({start_ms} + g * {step})::bigint << 16) | (g & 1023))"
    t = conn.execute
    for table in ("statuses", "favourites", "follows", "accounts"):
        t(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    t(f"""INSERT INTO accounts (id, created_at, username, domain, display_name, note, locked, bot, discoverable,
          fields_json, uri, actor_type, suspended_remotely, also_known_as)
          SELECT {a0} + g, now() - interval '90 days', 'u' || g,
                 CASE WHEN g % 10 = 0 THEN NULL ELSE 'r' || (g % 50) || '.example' END, 'User ' || g, '', false,
                 false, true, '[]', 'https://r' || (g % 50) || '.example/users/u' || g, 'Person', false, '[]'
          FROM generate_series(0, {accounts - 1}) g""")
    t(f"""INSERT INTO statuses (id, created_at, account_id, uri, text, content, spoiler_text, sensitive, visibility,
          local, remixable, in_reply_to_id, reblog_of_id)
          SELECT {sid}, to_timestamp(({start_ms} + g * {step}) / 1000.0), {author}, 'https://x.example/s/' || g,
                 '', '<p>status ' || g || '</p>', '', false,
                 CASE WHEN g % 20 < 14 THEN 'public' WHEN g % 20 < 17 THEN 'unlisted'
                      WHEN g % 20 < 19 THEN 'private' ELSE 'direct' END,
                 {idx} % 10 = 0 OR {idx} = {accounts}, true,
                 CASE WHEN g % 10 = 3 AND g > 1000 THEN ((({start_ms} + (g - 1 - g % 997) * {step})::bigint << 16)
                      | ((g - 1 - g % 997) & 1023)) END,
                 CASE WHEN g % 20 = 7 AND g > 1000 THEN ((({start_ms} + (g - 3 - g % 991) * {step})::bigint << 16)
                      | ((g - 3 - g % 991) & 1023)) END
          FROM generate_series(0::bigint, {statuses - 1}) g""")
    t("UPDATE statuses SET visibility = 'public', content = '' WHERE reblog_of_id IS NOT NULL")
    everyone = f"(SELECT {a0} + g AS id FROM generate_series(0, {accounts - 1}) g UNION ALL SELECT {viewer})"
    t(f"""INSERT INTO follows (id, created_at, account_id, target_id, show_reblogs, notify)
          SELECT row_number() OVER (), now(), a.id, {a0} + (abs(hashint8(a.id)::bigint + k * 7919) % {accounts}), true, false
          FROM {everyone} a, generate_series(1, {follows}) k ON CONFLICT DO NOTHING""")
    t(f"""INSERT INTO favourites (id, created_at, account_id, status_id)
          SELECT f, now(), {a0} + abs(hashint8(f)::bigint) % {accounts}, s.id
          FROM generate_series(1::bigint, {favourites}) f
          JOIN statuses s ON s.id = ((({start_ms} + (abs(hashint8(f * 31)::bigint) % {statuses}) * {step})::bigint << 16)
                                     | ((abs(hashint8(f * 31)::bigint) % {statuses}) & 1023))
          ON CONFLICT DO NOTHING""")
    t(f"""INSERT INTO mentions (id, created_at, status_id, account_id)
          SELECT s.id, now(), s.id, CASE WHEN s.id % 7 = 0 THEN {viewer}
                                         ELSE {a0} + abs(hashint8(s.id)::bigint) % {accounts} END
          FROM statuses s WHERE s.id % 20 = 1 AND s.reblog_of_id IS NULL""")
    t(f"""INSERT INTO notifications (id, created_at, account_id, from_account_id, type, status_id, filtered)
          SELECT m.status_id, now(), m.account_id, s.account_id, 'mention', s.id, false
          FROM mentions m JOIN statuses s ON s.id = m.status_id
          JOIN accounts a ON a.id = m.account_id AND a.domain IS NULL""")
    t(f"""INSERT INTO notifications (id, created_at, account_id, from_account_id, type, status_id, filtered)
          SELECT (s.id & ~1023) | (f.id & 1023) + 1, now(), s.account_id, f.account_id, 'favourite', s.id, false
          FROM favourites f JOIN statuses s ON s.id = f.status_id JOIN accounts a ON a.id = s.account_id
          AND a.domain IS NULL ON CONFLICT DO NOTHING""")
    for table in ("statuses", "favourites", "follows", "accounts"):
        t(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    t("DELETE FROM account_stats")
    t("DELETE FROM status_stats")
    t("""INSERT INTO account_stats (id, followers_count, following_count, statuses_count)
         SELECT a.id, coalesce(fr.n, 0), coalesce(fg.n, 0), coalesce(st.n, 0) FROM accounts a
         LEFT JOIN (SELECT target_id, count(*) n FROM follows GROUP BY 1) fr ON fr.target_id = a.id
         LEFT JOIN (SELECT account_id, count(*) n FROM follows GROUP BY 1) fg ON fg.account_id = a.id
         LEFT JOIN (SELECT account_id, count(*) n FROM statuses WHERE deleted_at IS NULL GROUP BY 1) st
                ON st.account_id = a.id""")
    t("""INSERT INTO status_stats (id, replies_count, reblogs_count, favourites_count, remixes_count)
         SELECT s.id, coalesce(r.n, 0), coalesce(b.n, 0), coalesce(f.n, 0), 0 FROM statuses s
         LEFT JOIN (SELECT in_reply_to_id i, count(*) n FROM statuses WHERE in_reply_to_id IS NOT NULL
                    AND deleted_at IS NULL GROUP BY 1) r ON r.i = s.id
         LEFT JOIN (SELECT reblog_of_id i, count(*) n FROM statuses WHERE reblog_of_id IS NOT NULL
                    AND deleted_at IS NULL GROUP BY 1) b ON b.i = s.id
         LEFT JOIN (SELECT status_id i, count(*) n FROM favourites GROUP BY 1) f ON f.i = s.id""")
    conn.commit()
    conn.autocommit = True
    t("VACUUM ANALYZE")
    t("CHECKPOINT")  # the load's pages written out now, not by the checkpointer while timing
    conn.autocommit = False


# The pages as a person would write them by hand (what the API's p99 is held against).
BARE = {
    "home": """SELECT s.* FROM statuses s JOIN accounts a ON a.id = s.account_id
        LEFT JOIN statuses r ON r.id = s.reblog_of_id LEFT JOIN accounts ra ON ra.id = r.account_id
        WHERE s.deleted_at IS NULL AND a.suspended_at IS NULL AND ra.suspended_at IS NULL AND s.id < %(max_id)s
          AND (s.account_id = %(me)s
               OR (s.account_id IN (SELECT target_id FROM follows WHERE account_id = %(me)s)
                   AND s.visibility IN ('public', 'unlisted', 'private'))
               OR (s.id IN (SELECT status_id FROM mentions WHERE account_id = %(me)s) AND a.silenced_at IS NULL))
        ORDER BY s.id DESC LIMIT 20""",
    "public_local": """SELECT s.* FROM statuses s JOIN accounts a ON a.id = s.account_id
        WHERE s.deleted_at IS NULL AND s.visibility = 'public' AND s.reblog_of_id IS NULL AND s.local
          AND a.suspended_at IS NULL AND a.silenced_at IS NULL AND s.id < %(max_id)s ORDER BY s.id DESC LIMIT 20""",
    "public": """SELECT s.* FROM statuses s JOIN accounts a ON a.id = s.account_id
        WHERE s.deleted_at IS NULL AND s.visibility = 'public' AND s.reblog_of_id IS NULL
          AND a.suspended_at IS NULL AND a.silenced_at IS NULL AND s.id < %(max_id)s ORDER BY s.id DESC LIMIT 20""",
    "account": """SELECT s.* FROM statuses s WHERE s.account_id = %(author)s AND s.deleted_at IS NULL
          AND s.visibility IN ('public', 'unlisted') AND s.id < %(max_id)s ORDER BY s.id DESC LIMIT 20""",
    "notifications": """SELECT n.* FROM notifications n JOIN accounts a ON a.id = n.from_account_id
        WHERE n.account_id = %(me)s AND NOT n.filtered AND a.suspended_at IS NULL AND n.id < %(max_id)s ORDER BY n.id DESC LIMIT 20""",
}


def buffers(conn, sql: str, params: dict) -> int:
    """Shared buffers the bare query touches (EXPLAIN (ANALYZE, BUFFERS)): what grows with the table
    when an index is missing."""
    plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params).fetchone()[0][0]["Plan"]
    return plan["Shared Hit Blocks"] + plan["Shared Read Blocks"]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` so far, all its threads (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def interleaved(session: requests.Session, url: str, conn, sql: str, params: dict, floor_url: str,
                runs: int, pid: int) -> tuple[list[float], list[float], list[float], float, int]:
    """The bare query, the API and HTTP and JSON alone, one of each in turn, `runs` times: what the
    machine does meanwhile (another tenant, PostgreSQL's background work) then falls on all three
    alike, not on whichever was being timed (a run of slow samples used to land on one of them).
    Returns their times (ms), the node's CPU per API request (ms) and its statements."""
    bare, api, floor = [], [], []
    cpu = 0.0
    statements = 0
    for _ in range(runs):
        bare.append(timed(lambda: conn.execute(sql, params).fetchall()))
        c0 = cpu_seconds(pid)
        t0 = time.perf_counter()
        r = session.get(url)
        api.append((time.perf_counter() - t0) * 1000)
        cpu += cpu_seconds(pid) - c0
        r.raise_for_status()
        statements = int(r.headers["X-Vitascope-Statements"])
        floor.append(timed(lambda: session.get(floor_url).raise_for_status()))
    return bare, api, floor, cpu * 1000 / runs, statements


async def throughput(url: str, token: str, seconds: float, clients: int = 16) -> float:
    done = 0
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
        async def client() -> None:
            nonlocal done
            while time.monotonic() < deadline:
                async with session.get(url) as r:
                    await r.read()
                    r.raise_for_status()
                done += 1

        t0 = time.monotonic()
        await asyncio.gather(*(client() for _ in range(clients)))
        return done / (time.monotonic() - t0)


FLOOR_SERVER = """
import sys
import orjson, uvloop
from aiohttp import web
pages = {}
async def handle(request):
    data, link = pages[request.match_info["name"]]
    return web.Response(body=orjson.dumps(data), content_type="application/json", charset="utf-8",
                        headers={"Link": link} if link else {})
async def put(request):
    pages[request.match_info["name"]] = orjson.loads(await request.read())
    return web.Response(status=204)
app = web.Application(client_max_size=16 << 20)
app.router.add_get("/{name}", handle)
app.router.add_put("/{name}", put)
uvloop.install()
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


@contextlib.contextmanager
def floor_server() -> Iterator[str]:
    """The fixed cost of HTTP and JSON, the "fixed few ms of HTTP and JSON" of the goal: a bare
    aiohttp handler on uvloop that serves a page's JSON (as the API served it, with its Link
    header, PUT to it first) encoded by orjson. Yields its base URL."""
    import socket
    import subprocess
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-c", FLOOR_SERVER, str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.put(f"{base}/ready", data=b"[[], \"\"]").raise_for_status()
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield base
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the issue's data set (0.1: a tenth)")
    parser.add_argument("--runs", type=int, default=50, help="timed requests per page")
    parser.add_argument("--seconds", type=float, default=10, help="length of each 16-client run")
    args = parser.parse_args()
    accounts, statuses = int(10_000 * args.scale), int(1_000_000 * args.scale)
    favourites = int(2_000_000 * args.scale)
    with tempfile.TemporaryDirectory(prefix="vitascope-bench-") as tmp:
        Path(tmp).chmod(0o755)  # the cluster runs as the `postgres` user when we are root
        pg = PostgresServer(Path(tmp) / "pg")
        node = None
        try:
            url = pg.create_database("bench")
            node = LiveNode(Path(tmp) / "node", database_url=url, redis_url=None, name="bench",
                            overrides={"database": {"count_statements": True}}).start()
            username, password = node.create_user()
            token = node.token(username, password)
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {token}"
            me = int(session.get(f"{node.url}/api/v1/accounts/verify_credentials").json()["id"])
            conn = psycopg.connect(url.replace("postgres://", "postgresql://"))
            t0 = time.monotonic()
            load(conn, accounts=accounts, statuses=statuses, follows=200, favourites=favourites, viewer=me)
            counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                      for t in ("accounts", "statuses", "follows", "favourites", "mentions", "notifications")}
            print(f"loaded in {time.monotonic() - t0:.0f} s: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()))
            author = (1 << 40) + 10
            endpoints = {
                "home": "/api/v1/timelines/home",
                "public_local": "/api/v1/timelines/public?local=true",
                "public": "/api/v1/timelines/public",
                "account": f"/api/v1/accounts/{author}/statuses",
                "notifications": "/api/v1/notifications",
            }
            results = []
            with floor_server() as floor_base:
                for name, path in endpoints.items():
                    sep = "&" if "?" in path else "?"
                    url_page = f"{node.url}{path}{sep}limit={PAGE}"
                    max_id = 1 << 62
                    for page in range(1, 7):
                        r = session.get(url_page)
                        rows = r.json()
                        if not rows:
                            print(f"{name:<16}{page:>5}  (no such page at this scale)")
                            break
                        if page in (1, 6):
                            params = {"me": me, "author": author, "max_id": max_id}
                            floor_url = f"{floor_base}/{name}-{page}"
                            requests.put(floor_url, data=json.dumps([rows, r.headers.get("Link", "")])).raise_for_status()
                            interleaved(session, url_page, conn, BARE[name], params, floor_url, 3, node.process.pid)  # warm
                            bare, api, floor, cpu, statements = interleaved(
                                session, url_page, conn, BARE[name], params, floor_url, args.runs, node.process.pid)
                            # the bare query again, back to back (its connection never idle): the stricter baseline
                            in_a_row = [timed(lambda: conn.execute(BARE[name], params).fetchall()) for _ in range(args.runs)]
                            rps = asyncio.run(throughput(url_page, token, args.seconds)) if page == 1 else float("nan")
                            results.append((name, page, bare, in_a_row, api, floor, cpu, statements, rps,
                                            buffers(conn, BARE[name], params)))
                        max_id = int(rows[-1]["id"])
                        url_page = f"{node.url}{path}{sep}limit={PAGE}&max_id={max_id}"
            print(f"\n{'endpoint':<16}{'page':>5}{'SQL p50':>9}{'p99':>8}{'in a row':>9}{'API p50':>9}{'p99':>8}"
                  f"{'p99 ratio':>10}{'HTTP+JSON p50':>14}{'p99':>6}{'fixed':>7}{'over':>6}{'strict':>7}{'CPU':>6}{'stmts':>7}"
                  f"{'req/s@16':>10}{'buffers':>9}")
            fixed_parts = []
            for name, page, bare, in_a_row, api, floor, cpu, statements, rps, read in results:
                # `fixed`: what the API's p99 takes beyond twice its bare query's (the goal's "fixed few
                # ms"); `over`: beyond that and the HTTP and JSON of its page as a bare handler serves
                # it; `strict`: the same against the bare query's back-to-back p99 ("in a row").
                fixed = pct(api, .99) - 2 * pct(bare, .99)
                fixed_parts.append(fixed)
                over = pct(api, .99) - 2 * pct(bare, .99) - pct(floor, .99)
                strict = pct(api, .99) - 2 * pct(in_a_row, .99) - pct(floor, .99)
                print(f"{name:<16}{page:>5}{pct(bare, .5):>9.2f}{pct(bare, .99):>8.2f}{pct(in_a_row, .99):>9.2f}"
                      f"{pct(api, .5):>9.1f}{pct(api, .99):>8.1f}{pct(api, .99) / pct(bare, .99):>10.0f}"
                      f"{pct(floor, .5):>14.1f}{pct(floor, .99):>6.1f}{fixed:>7.1f}{over:>6.1f}{strict:>7.1f}{cpu:>6.1f}"
                      f"{statements:>7}{rps:>10.0f}{read:>9}")
            if fixed_parts:
                print(f"\nAPI p99 beyond 2 x its bare query's p99 (`fixed`): {min(fixed_parts):.1f} to "
                      f"{max(fixed_parts):.1f} ms over {len(fixed_parts)} pages at --scale {args.scale:g}")
            conn.close()
        finally:
            if node is not None:
                node.stop()
            pg.stop()


if __name__ == "__main__":
    main()
