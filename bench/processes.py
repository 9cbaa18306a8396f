"""Benchmark many web processes (issue 17): 200 clients against one node run with 1, then 2, web
processes (server.processes), in the same run, on the same PostgreSQL, Redis and data.

Run from the repository root:  python bench/processes.py [--clients 200] [--seconds 30] [--users 40]

Starts its own PostgreSQL and Redis and one node on them; makes --users users, each following ten
others and with five posts. Then, for each process count in --processes (default "1 2"), the node
is started with that many web processes and --clients concurrent clients (each its own keep-alive
connection, spread by the kernel among the processes) mix for --seconds: home timeline 40 %,
public timeline 30 %, a new post 15 %, a favourite of a post seen on a timeline 15 %. Prints per
process count: requests/s, p50/p99 latency, errors, how the requests were spread among the
processes (X-Vitascope-Process), and the node's CPU per request (all its processes; PostgreSQL
and Redis not included).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)

import aiohttp  # noqa: E402
import requests  # noqa: E402
import tomli_w  # noqa: E402

from tests.support.nodes import LiveNode  # noqa: E402
from tests.support.servers import PostgresServer, RedisServer  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] if values else float("nan")


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its descendants now alive (from /proc)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    family, grew = {pid}, True
    while grew:
        grew = False
        for child, parent in parents.items():
            if parent in family and child not in family:
                family.add(child)
                grew = True
    return sum(times.get(p, 0.0) for p in family)


async def seed(url: str, tokens: list[str]) -> None:
    """Each user follows ten others and posts five times."""
    async with aiohttp.ClientSession() as session:
        ids = []
        for token in tokens:
            async with session.get(f"{url}/api/v1/accounts/verify_credentials",
                                   headers={"Authorization": f"Bearer {token}"}) as r:
                ids.append((await r.json())["id"])

        async def user(n: int, token: str) -> None:
            headers = {"Authorization": f"Bearer {token}"}
            for k in range(1, min(11, len(ids))):
                async with session.post(f"{url}/api/v1/accounts/{ids[(n + k) % len(ids)]}/follow", headers=headers) as r:
                    r.raise_for_status()
            for k in range(5):
                async with session.post(f"{url}/api/v1/statuses", headers=headers,
                                        json={"status": f"seed {n}.{k}"}) as r:
                    r.raise_for_status()

        await asyncio.gather(*(user(n, token) for n, token in enumerate(tokens)))


async def load(url: str, tokens: list[str], clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors: Counter = Counter()
    served_by: Counter = Counter()
    deadline = time.monotonic() + seconds

    async def client(n: int) -> None:
        rng = random.Random(n)
        seen: list[str] = []
        headers = {"Authorization": f"Bearer {tokens[n % len(tokens)]}"}
        # a connection of its own, kept alive: the kernel places it on one of the processes
        async with aiohttp.ClientSession(headers=headers, connector=aiohttp.TCPConnector(limit=1)) as session:
            while time.monotonic() < deadline:
                roll = rng.random()
                if roll < 0.4:
                    method, path, body = "GET", "/api/v1/timelines/home?limit=20", None
                elif roll < 0.7:
                    method, path, body = "GET", "/api/v1/timelines/public?local=true&limit=20", None
                elif roll < 0.85 or not seen:
                    method, path, body = "POST", "/api/v1/statuses", {"status": f"load {n} {rng.random()}"}
                else:
                    method, path, body = "POST", f"/api/v1/statuses/{rng.choice(seen)}/favourite", None
                t0 = time.perf_counter()
                try:
                    async with session.request(method, url + path, json=body) as r:
                        data = await r.json(content_type=None)
                        latencies.append(time.perf_counter() - t0)
                        served_by[r.headers.get("X-Vitascope-Process", "-")] += 1
                        if r.status != 200:
                            errors[r.status] += 1
                        elif method == "GET":
                            seen[:] = [s["id"] for s in data][:20] or seen
                except aiohttp.ClientError as exc:
                    errors[type(exc).__name__] += 1

    t0 = time.monotonic()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.monotonic() - t0
    return {"requests": len(latencies), "elapsed": elapsed, "latencies": latencies, "errors": errors,
            "served_by": served_by}


def wait_for_processes(node: LiveNode, processes: int, timeout: float = 120) -> None:
    """Until every web process listens: new connections until each process has answered one."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < processes:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only web processes {sorted(seen)} answered:\n{node.log()}")
        response = requests.get(node.url + "/.well-known/nodeinfo", headers={"Connection": "close"}, timeout=10)
        seen.add(response.headers.get("X-Vitascope-Process", "0"))


def set_processes(node: LiveNode, processes: int) -> None:
    config = tomllib.loads(node.config_path.read_text())
    config["server"]["processes"] = processes
    node.config_path.write_text(tomli_w.dumps(config))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vitascope-bench-") as tmp:
        Path(tmp).chmod(0o755)  # the cluster runs as the `postgres` user when we are root
        pg = PostgresServer(Path(tmp) / "pg")
        redis = RedisServer(Path(tmp) / "redis")
        node = None
        try:
            node = LiveNode(Path(tmp) / "node", database_url=pg.create_database("bench"), redis_url=redis.url,
                            name="bench", overrides={"limits": {"rate_limit_per_minute": 1_000_000}}).start()
            tokens = [node.token(node.create_user()[0]) for _ in range(args.users)]
            asyncio.run(seed(node.url, tokens))
            print(f"{args.users} users, {args.clients} clients, {args.seconds:.0f} s per run, {os.cpu_count()} CPUs")
            print(f"\n{'processes':>9}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'errors':>8}{'CPU ms/req':>11}  spread")
            baseline = None
            for processes in args.processes:
                node.stop()
                set_processes(node, processes)
                node.start()
                wait_for_processes(node, processes)
                cpu0 = tree_cpu_seconds(node.process.pid)
                result = asyncio.run(load(node.url, tokens, args.clients, args.seconds))
                cpu = tree_cpu_seconds(node.process.pid) - cpu0
                rate = result["requests"] / result["elapsed"]
                baseline = baseline or rate
                lat = result["latencies"]
                spread = " ".join(f"{k}:{v}" for k, v in sorted(result["served_by"].items()))
                errors = sum(result["errors"].values())
                print(f"{processes:>9}{rate:>8.0f}{pct(lat, .5) * 1000:>8.0f}{pct(lat, .99) * 1000:>8.0f}"
                      f"{errors:>8}{cpu * 1000 / max(1, result['requests']):>11.1f}  {spread}"
                      f"  (×{rate / baseline:.2f} of the first){'  ' + str(dict(result['errors'])) if errors else ''}")
        finally:
            if node is not None:
                node.stop()
            redis.stop()
            pg.stop()


if __name__ == "__main__":
    main()
