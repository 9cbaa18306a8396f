"""Benchmark delivery fan-out: one post to 10,000 remote followers behind 1,000 shared inboxes.

Run from the repository root:  python bench/fanout.py [--followers 10000] [--inboxes 1000]
(about a minute on 2 cores; loopback only).

The followers are remote accounts written straight into a fresh node's SQLite database, ten per
shared inbox, spread over 20 loopback inbox servers in this process. A local user posts through
the Mastodon API; the clock runs from the POST until every inbox has received the signed Create
(one job per inbox after shared-inbox de-duplication, the node's in-process delivery worker).
Then the same body goes from this process to the same inboxes with a raw aiohttp client at the
node's delivery concurrency, and the ratio of the two times is printed (goal: node ≤ 15 s).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)

import aiohttp  # noqa: E402
import requests  # noqa: E402
from aiohttp import web  # noqa: E402

from node.config import load_config  # noqa: E402
from tests.support.nodes import LiveNode  # noqa: E402
from tests.support.servers import free_port  # noqa: E402

SERVERS = 20


class Inboxes:
    """Loopback inbox servers counting the first POST to each inbox."""

    def __init__(self, count: int) -> None:
        self.ports = [free_port() for _ in range(SERVERS)]
        self.urls = [f"http://127.0.0.1:{self.ports[i % SERVERS]}/inbox/{i}" for i in range(count)]
        self.seen: set[str] = set()
        self.signed = 0
        self.done = asyncio.Event()
        self.runners: list[web.AppRunner] = []
        self.last_body: bytes = b""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.last_body = body
        if "Signature" in request.headers:
            self.signed += 1
        self.seen.add(f"http://{request.host}{request.path}")
        if len(self.seen) == len(self.urls):
            self.done.set()
        return web.Response(status=202)

    async def start(self) -> None:
        for port in self.ports:
            app = web.Application()
            app.router.add_post("/inbox/{n}", self.handle)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            self.runners.append(runner)

    def reset(self) -> None:
        self.seen.clear()
        self.signed = 0
        self.done = asyncio.Event()

    async def stop(self) -> None:
        for runner in self.runners:
            await runner.cleanup()


async def add_followers(node: LiveNode, username: str, followers: int, inboxes: list[str]) -> None:
    """Remote followers straight into the database (the node is stopped meanwhile)."""
    from node import db
    from node.models import Account, Follow

    await db.connect(f"sqlite://{node.directory / 'data' / 'vitascope.sqlite3'}")
    try:
        target = await Account.get(domain=None, username=username)
        accounts = []
        for i in range(followers):
            inbox = inboxes[i % len(inboxes)]
            host = inbox.split("/")[2]
            uri = f"http://{host}/users/f{i}"
            accounts.append(Account(username=f"f{i}", domain=host, uri=uri, inbox_uri=uri + "/inbox",
                                    shared_inbox_uri=inbox, url=uri))
        await Account.bulk_create(accounts, batch_size=1000)
        await Follow.bulk_create([Follow(account_id=a.id, target_id=target.id) for a in accounts], batch_size=1000)
    finally:
        await db.close()


async def raw_fanout(urls: list[str], body: bytes, concurrency: int) -> float:
    queue = list(urls)
    headers = {"Content-Type": "application/activity+json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        async def worker() -> None:
            while queue:
                async with session.post(queue.pop(), data=body, headers=headers) as response:
                    await response.read()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started


async def main(followers: int, inbox_count: int) -> None:
    inboxes = Inboxes(inbox_count)
    await inboxes.start()
    with tempfile.TemporaryDirectory(prefix="vitascope-bench-fanout-") as tmp:
        node = LiveNode(Path(tmp) / "node", database_url=None, redis_url=None, name="fanout")
        try:
            await asyncio.to_thread(node.start)  # creates the database
            username, password = await asyncio.to_thread(node.create_user, "poster")
            await asyncio.to_thread(node.stop)
            await add_followers(node, username, followers, inboxes.urls)
            await asyncio.to_thread(node.start)
            token = await asyncio.to_thread(node.token, username)

            started = time.perf_counter()
            response = await asyncio.to_thread(
                requests.post, node.url + "/api/v1/statuses", data={"status": "one post to everyone"},
                headers={"Authorization": f"Bearer {token}"}, timeout=120)
            response.raise_for_status()
            api_seconds = time.perf_counter() - started
            await asyncio.wait_for(inboxes.done.wait(), timeout=300)
            node_seconds = time.perf_counter() - started
            signed = inboxes.signed
            body = inboxes.last_body
        finally:
            await asyncio.to_thread(node.stop)
    inboxes.reset()
    concurrency = load_config(None, environ={})["federation.delivery_concurrency"]
    raw_seconds = await raw_fanout(inboxes.urls, body, concurrency)
    await inboxes.stop()
    print(f"one post, {followers} remote followers, {inbox_count} shared inboxes on {SERVERS} loopback servers")
    print(f"node:        {node_seconds:6.2f} s  (API answered after {api_seconds:.2f} s; "
          f"{signed} signed POSTs, delivery concurrency {concurrency})")
    print(f"raw aiohttp: {raw_seconds:6.2f} s  (same body, same inboxes, {concurrency} concurrent, unsigned)")
    print(f"ratio node/raw: {node_seconds / raw_seconds:.1f}   goal: node <= 15 s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--inboxes", type=int, default=1_000)
    args = parser.parse_args()
    asyncio.run(main(args.followers, args.inboxes))
