"""Benchmark inbox ingestion: signed activities accepted per second by one node process.

Run from the repository root:  python bench/inbox.py [--count 2000] [--concurrency 32]
(about a minute on 2 cores; loopback only).

A node process (`vitascope serve`, SQLite, embedded Redis) receives pre-signed `Create{Note}`
activities from one remote actor served by this script, first all signed with draft-cavage, then
all with RFC 9421. Every one is verified (digest, signature, key owner, object origin) and stored
before the 202; processing runs in the same process (it yields to the inbox while POSTs arrive),
and the time until the last one was processed is printed too. The same requests then go to a
bare aiohttp handler (own process, reads the body, answers 202); the ratio of the rates is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

from federation.signatures import sign_cavage, sign_rfc9421  # noqa: E402
from provenance.keys import generate_rsa_private_pem, public_pem  # noqa: E402
from tests.support.nodes import LiveNode  # noqa: E402
from tests.support.servers import free_port  # noqa: E402

AS = "https://www.w3.org/ns/activitystreams"


def bare_server(port: int) -> None:
    """The baseline: the least an aiohttp inbox can do."""

    async def inbox(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post("/inbox", inbox)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def serve_actor(port: int, private_pem: str) -> web.AppRunner:
    actor_id = f"http://127.0.0.1:{port}/users/sender"

    async def actor(request: web.Request) -> web.Response:
        return web.json_response({
            "@context": [AS, "https://w3id.org/security/v1"], "id": actor_id, "type": "Person",
            "preferredUsername": "sender", "inbox": actor_id + "/inbox",
            "publicKey": {"id": actor_id + "#main-key", "owner": actor_id, "publicKeyPem": public_pem(private_pem)},
        }, content_type="application/activity+json")

    app = web.Application()
    app.router.add_get("/users/sender", actor)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def signed_requests(count: int, inbox_url: str, actor_port: int, private_pem: str,
                    scheme: str) -> list[tuple[bytes, dict]]:
    actor_id = f"http://127.0.0.1:{actor_port}/users/sender"
    sign = sign_cavage if scheme == "cavage" else sign_rfc9421
    out = []
    for i in range(count):
        note = {"id": f"{actor_id}/notes/{uuid.uuid4().hex}", "type": "Note", "attributedTo": actor_id,
                "content": f"<p>bench post {i}</p>", "to": [AS + "#Public"]}
        doc = {"@context": AS, "id": note["id"] + "/activity", "type": "Create", "actor": actor_id, "object": note,
               "to": [AS + "#Public"]}
        body = json.dumps(doc).encode()
        headers = {"Content-Type": "application/activity+json"}
        headers.update(sign("POST", inbox_url, headers, body, actor_id + "#main-key", private_pem))
        out.append((body, headers))
    return out


async def drained(node: LiveNode, marker: str, timeout: float = 300) -> float:
    """Seconds until the last activity sent shows in the public timeline (items are processed in order)."""
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        while time.perf_counter() - started < timeout:
            async with session.get(node.url + "/api/v1/timelines/public?remote=true&limit=1") as response:
                if marker in json.dumps(await response.json()):
                    return time.perf_counter() - started
            await asyncio.sleep(0.2)
    raise RuntimeError("the node did not process the backlog in time")


async def blast(url: str, requests: list[tuple[bytes, dict]], concurrency: int) -> tuple[float, dict[int, int]]:
    statuses: dict[int, int] = {}
    queue = list(reversed(requests))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker() -> None:
            while queue:
                body, headers = queue.pop()
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, statuses


async def main(count: int, concurrency: int) -> None:
    private_pem = generate_rsa_private_pem()
    actor_port = free_port()
    runner = await serve_actor(actor_port, private_pem)
    results = {}
    with tempfile.TemporaryDirectory(prefix="vitascope-bench-inbox-") as tmp:
        node = LiveNode(Path(tmp) / "node", database_url=None, redis_url=None, name="bench")
        await asyncio.to_thread(node.start)
        bare_port = free_port()
        bare = subprocess.Popen([sys.executable, __file__, "--bare-server", str(bare_port)])
        try:
            inbox = node.url + "/inbox"
            bare_url = f"http://127.0.0.1:{bare_port}/inbox"
            warm = signed_requests(1, inbox, actor_port, private_pem, "cavage")
            _, first = await blast(inbox, warm, 1)  # the node fetches and caches the sender's key
            assert first == {202: 1}, first
            for _ in range(100):
                try:
                    await blast(bare_url, warm, 1)
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            for scheme in ("cavage", "rfc9421"):
                work = signed_requests(count, inbox, actor_port, private_pem, scheme)
                node_seconds, node_statuses = await blast(inbox, work, concurrency)
                assert node_statuses == {202: count}, node_statuses
                drain = await drained(node, f"bench post {count - 1}<")
                bare_seconds, bare_statuses = await blast(bare_url, work, concurrency)
                assert bare_statuses == {202: count}, bare_statuses
                results[scheme] = (count / node_seconds, count / bare_seconds, node_seconds + drain)
        finally:
            bare.terminate()
            bare.wait()
            await asyncio.to_thread(node.stop)
            await runner.cleanup()
    print(f"{count} signed Create{{Note}} activities per scheme, {concurrency} concurrent, loopback, SQLite")
    print(f"{'signature':<10} {'node /s':>9} {'bare /s':>9} {'ratio':>6}  {'all processed after':>20}")
    for scheme, (node_rate, bare_rate, processed) in results.items():
        print(f"{scheme:<10} {node_rate:9.0f} {bare_rate:9.0f} {node_rate / bare_rate:6.2f}  {processed:18.1f} s")
    print("node: verified (digest, signature, key owner, object origin) and stored before the 202;")
    print("bare: an aiohttp handler that reads the body and answers 202. Goal: ratio >= 0.5.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--bare-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        bare_server(args.bare_server)
    else:
        asyncio.run(main(args.count, args.concurrency))
