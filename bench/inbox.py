"""Benchmark inbox ingestion: signed activities accepted per second by one node process.

Run from the repository root:  python bench/inbox.py [--count 2000] [--concurrency 32] [--rounds 3]
(about two minutes on 2 cores; loopback only).

A node process (`vitascope serve`, SQLite, embedded Redis) receives pre-signed `Create{Note}`
activities from one remote actor served by this script, signed with draft-cavage and with RFC 9421
in turn, round by round. Every one is verified (digest, signature, key owner, object origin) and stored
before the 202; processing runs in the same process (it yields to the inbox while POSTs arrive),
and the time until the last one was processed is printed too, with the processing rate (from the
first of the round's inbox rows claimed to the last processed) and the node's CPU per activity,
accepting and processing together. Once the node has processed a round,
the same requests go to a bare aiohttp handler (own process, same event loop as the node: uvloop;
reads the body, answers 202), so each
round gives one ratio of the two rates. After one untimed warm-up round, `--rounds` rounds per
scheme are measured and their medians printed: load from other processes on the machine comes and
goes, and this way weighs on both sides alike. The CPU time each server process spent per request
(all its threads, from /proc) is printed too; it depends far less on that load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
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

    import uvloop

    app = web.Application()
    app.router.add_post("/inbox", inbox)
    # The node's default event loop, so the two differ only in what the handler does.
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, loop=uvloop.new_event_loop())


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
                    scheme: str, batch: str = "") -> list[tuple[bytes, dict]]:
    """Activity i says "bench post i <batch>", so the end of each batch can be told apart."""
    actor_id = f"http://127.0.0.1:{actor_port}/users/sender"
    sign = sign_cavage if scheme == "cavage" else sign_rfc9421
    out = []
    for i in range(count):
        note = {"id": f"{actor_id}/notes/{uuid.uuid4().hex}", "type": "Note", "attributedTo": actor_id,
                "content": f"<p>bench post {i} {batch}</p>", "to": [AS + "#Public"]}
        doc = {"@context": AS, "id": note["id"] + "/activity", "type": "Create", "actor": actor_id, "object": note,
               "to": [AS + "#Public"]}
        body = json.dumps(doc).encode()
        headers = {"Content-Type": "application/activity+json"}
        headers.update(sign("POST", inbox_url, headers, body, actor_id + "#main-key", private_pem))
        out.append((body, headers))
    return out


async def drained(node: LiveNode, marker: str, timeout: float = 300) -> float:
    """Seconds until the last activity sent shows in the public timeline.

    Items are processed in the order they were stored, and with N requests in flight the last one
    sent is among the last N stored, not always the very last: so the newest 40 posts are looked at
    (the API's most; --concurrency is 32), and the time may be short by the processing of a few items.
    """
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        while time.perf_counter() - started < timeout:
            async with session.get(node.url + "/api/v1/timelines/public?remote=true&limit=40") as response:
                if response.status == 200 and marker in json.dumps(await response.json()):
                    return time.perf_counter() - started
            await asyncio.sleep(0.2)
    raise RuntimeError("the node did not process the backlog in time")


async def processing_rate(node: LiveNode, since_id: int, timeout: float = 60) -> tuple[float, int]:
    """(activities processed per second, newest row id) over the inbox rows stored after ``since_id``.

    The span runs from the first of those rows being claimed to the last being processed, read from
    the rows themselves: processing waits while POSTs arrive, so this is the rate of the processor
    alone, however long the accept phase took.
    """
    deadline = time.perf_counter() + timeout
    while True:
        with sqlite3.connect(f"file:{node.data_dir / 'vitascope.sqlite3'}?mode=ro", uri=True) as db:
            count, left, first, last, newest = db.execute(
                "SELECT count(*), count(*) - count(processed_at), min(julianday(claimed_at)), "
                "max(julianday(processed_at)), max(id) FROM inbox_items WHERE id > ?", (since_id,)).fetchone()
        if not left:
            return count / ((last - first) * 86400), newest
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{left} inbox rows were not processed in time")
        await asyncio.sleep(0.1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def blast(url: str, requests: list[tuple[bytes, dict]], concurrency: int,
                server_pid: int | None = None) -> tuple[float, dict[int, int], float]:
    """(seconds, status counts, server CPU seconds) for sending every request."""
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

        cpu = cpu_seconds(server_pid) if server_pid else 0.0
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        return elapsed, statuses, (cpu_seconds(server_pid) - cpu if server_pid else 0.0)


async def main(count: int, concurrency: int, rounds: int) -> None:
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
            _, first, _ = await blast(inbox, warm, 1)  # the node fetches and caches the sender's key
            assert first == {202: 1}, first
            for _ in range(100):
                try:
                    await blast(bare_url, warm, 1)
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            # One untimed round first: both servers start measured rounds warm (the node's database
            # file and write-ahead log have grown, its caches are filled).
            warm_up = signed_requests(count, inbox, actor_port, private_pem, "cavage", "warm-up")
            await blast(inbox, warm_up, concurrency)
            await drained(node, f"bench post {count - 1} warm-up<")
            await blast(bare_url, warm_up, concurrency)
            _, newest_row = await processing_rate(node, 0)
            measured: dict[str, list[tuple[float, ...]]] = {"cavage": [], "rfc9421": []}
            # The schemes take turns, round by round: the database grows with every round, and neither
            # should always meet the larger one.
            for round_number in range(rounds):
                for scheme in measured:
                    batch = f"{scheme}-{round_number}"
                    work = signed_requests(count, inbox, actor_port, private_pem, scheme, batch)
                    cpu_before = cpu_seconds(node.process.pid)
                    node_seconds, node_statuses, node_cpu = await blast(inbox, work, concurrency, node.process.pid)
                    assert node_statuses == {202: count}, node_statuses
                    drain = await drained(node, f"bench post {count - 1} {batch}<")  # the node is idle again
                    # CPU per activity: accepting and processing it, all of the node's threads.
                    total_cpu = cpu_seconds(node.process.pid) - cpu_before
                    processed_rate, newest_row = await processing_rate(node, newest_row)
                    bare_seconds, bare_statuses, bare_cpu = await blast(bare_url, work, concurrency, bare.pid)
                    assert bare_statuses == {202: count}, bare_statuses
                    measured[scheme].append((count / node_seconds, count / bare_seconds, bare_seconds / node_seconds,
                                             node_seconds + drain, processed_rate, node_cpu / count * 1e6,
                                             total_cpu / count * 1e6, bare_cpu / count * 1e6))
            results = {scheme: [statistics.median(column) for column in zip(*rows)] for scheme, rows in measured.items()}
        finally:
            bare.terminate()
            bare.wait()
            await asyncio.to_thread(node.stop)
            await runner.cleanup()
    print(f"{count} signed Create{{Note}} activities per scheme and round, {concurrency} concurrent, loopback, "
          f"SQLite; medians of {rounds} rounds")
    print(f"{'signature':<10} {'accept /s':>9} {'bare /s':>8} {'ratio':>6} {'processing /s':>14}"
          f" {'processed after':>16} {'accept CPU':>11} {'CPU/activity':>13} {'bare CPU/req':>13}")
    for scheme, (node_rate, bare_rate, ratio, processed, rate, node_cpu, total_cpu, bare_cpu) in results.items():
        print(f"{scheme:<10} {node_rate:9.0f} {bare_rate:8.0f} {ratio:6.2f} {rate:14.0f} {processed:14.1f} s"
              f" {node_cpu:8.0f} us {total_cpu:10.0f} us {bare_cpu:10.0f} us")
    print("node: verified (digest, signature, key owner, object origin) and stored before the 202;")
    print("bare: an aiohttp handler that reads the body and answers 202. Goal: ratio >= 0.5.")
    print("processing /s: inbox rows from the first claimed to the last processed (the processor alone);")
    print("CPU/activity: the node's CPU for accepting and processing one activity. Goal: processing >= 1500/s.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bare-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not 1 <= args.concurrency <= 40:
        parser.error("--concurrency must be 1 to 40 (the last POST must be among the 40 newest posts)")
    if args.bare_server:
        bare_server(args.bare_server)
    else:
        asyncio.run(main(args.count, args.concurrency, args.rounds))
