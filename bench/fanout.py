"""Benchmark delivery fan-out: one post to 10,000 remote followers behind 1,000 shared inboxes.

Run from the repository root:  python bench/fanout.py [--followers 10000] [--inboxes 1000]
(about a minute on 2 cores; loopback only).

The followers are remote accounts written straight into a fresh node's SQLite database, ten per
shared inbox, spread over 20 loopback inbox servers in this process. A local user posts through
the Mastodon API; the clock runs from the POST until every inbox has received the signed Create
(one job per inbox after shared-inbox de-duplication, the node's in-process delivery worker).
Then the same body goes from this process to the same inboxes with a raw aiohttp client at the
node's delivery concurrency (one session, connections kept alive), twice: unsigned, and signed — an
RFC 9421 signature (RSA-2048, PKCS#1 v1.5 over @method, @target-uri and content-digest) made for
every request, the body's digest computed once — which is the floor for any sender that signs each
delivery. Prints both and the ratio node / raw signed (goal: ≤ 3).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)

import aiohttp  # noqa: E402
import requests  # noqa: E402
from aiohttp import web  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: E402

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
        self.connections: set[tuple] = set()  # client (address, port): one per TCP connection
        self.signed = 0
        self.done = asyncio.Event()
        self.runners: list[web.AppRunner] = []
        self.last_body: bytes = b""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.last_body = body
        if "Signature" in request.headers:
            self.signed += 1
        self.connections.add(request.transport.get_extra_info("peername") if request.transport else None)
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
        self.connections.clear()
        self.signed = 0
        self.done = asyncio.Event()

    async def stop(self) -> None:
        for runner in self.runners:
            await runner.cleanup()


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used (user + system, all threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def raw_signer(body: bytes):
    """Headers for one request, signed as a minimal RFC 9421 sender would: the digest once per body,
    one RSA-2048 signature per request."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = serialization.load_pem_private_key(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()), None)
    digest = "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
    key_id = "http://127.0.0.1/users/raw#main-key"

    def headers(url: str) -> dict[str, str]:
        params = (f'("@method" "@target-uri" "content-digest");created={int(time.time())};keyid="{key_id}";'
                  'alg="rsa-v1_5-sha256"')
        base = f'"@method": POST\n"@target-uri": {url}\n"content-digest": {digest}\n"@signature-params": {params}'
        signature = base64.b64encode(key.sign(base.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()
        return {"Content-Type": "application/activity+json", "Content-Digest": digest,
                "Signature-Input": f"sig1={params}", "Signature": f"sig1=:{signature}:"}
    return headers


async def raw_fanout(urls: list[str], body: bytes, concurrency: int, *, signed: bool) -> float:
    queue = list(urls)
    sign = raw_signer(body) if signed else None
    plain = {"Content-Type": "application/activity+json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        async def worker() -> None:
            while queue:
                url = queue.pop()
                headers = sign(url) if sign else plain
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started


async def main(followers: int, inbox_count: int, concurrency: int | None) -> None:
    concurrency = concurrency or load_config(None, environ={})["federation.delivery_concurrency"]
    inboxes = Inboxes(inbox_count)
    await inboxes.start()
    with tempfile.TemporaryDirectory(prefix="vitascope-bench-fanout-") as tmp:
        node = LiveNode(Path(tmp) / "node", database_url=None, redis_url=None, name="fanout",
                        overrides={"federation": {"delivery_concurrency": concurrency}})
        try:
            await asyncio.to_thread(node.start)  # creates the database
            username, password = await asyncio.to_thread(node.create_user, "poster")
            await asyncio.to_thread(node.stop)
            await add_followers(node, username, followers, inboxes.urls)
            await asyncio.to_thread(node.start)
            token = await asyncio.to_thread(node.token, username)

            cpu_before = cpu_seconds(node.process.pid)
            started = time.perf_counter()
            response = await asyncio.to_thread(
                requests.post, node.url + "/api/v1/statuses", data={"status": "one post to everyone"},
                headers={"Authorization": f"Bearer {token}"}, timeout=120)
            response.raise_for_status()
            api_seconds = time.perf_counter() - started
            await asyncio.wait_for(inboxes.done.wait(), timeout=300)
            node_seconds = time.perf_counter() - started
            node_cpu = cpu_seconds(node.process.pid) - cpu_before
            signed, connections = inboxes.signed, len(inboxes.connections)
            body = inboxes.last_body
        finally:
            await asyncio.to_thread(node.stop)
    inboxes.reset()
    raw_seconds = await raw_fanout(inboxes.urls, body, concurrency, signed=False)
    inboxes.reset()
    signed_seconds = await raw_fanout(inboxes.urls, body, concurrency, signed=True)
    raw_signed, raw_connections = inboxes.signed, len(inboxes.connections)
    await inboxes.stop()
    print(f"one post, {followers} remote followers, {inbox_count} shared inboxes on {SERVERS} loopback servers")
    print(f"node:        {node_seconds:6.2f} s  (API answered after {api_seconds:.2f} s; "
          f"{signed} signed POSTs on {connections} connections, delivery concurrency {concurrency})")
    print(f"             node CPU {node_cpu:.2f} s, {node_cpu / inbox_count * 1000:.2f} ms per delivery")
    print(f"raw aiohttp: {raw_seconds:6.2f} s  (same body, same inboxes, {concurrency} concurrent, unsigned)")
    print(f"raw signed:  {signed_seconds:6.2f} s  (the same, RSA-2048 RFC 9421 signature per request; "
          f"{raw_signed} signed POSTs on {raw_connections} connections)")
    print(f"ratio node/raw signed: {node_seconds / signed_seconds:.1f}   goal: <= 3   "
          f"(node/raw unsigned: {node_seconds / raw_seconds:.1f})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--inboxes", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=None,
                        help="deliveries in flight, for the node and the raw senders (default: the node's default)")
    args = parser.parse_args()
    asyncio.run(main(args.followers, args.inboxes, args.concurrency))
