"""`vitascope delivery-worker`: a federation delivery worker besides the ones in the web process."""

from __future__ import annotations

import asyncio
import signal

from node import redis_keys
from node.cli.common import add_config_option, node_services


def register(sub) -> None:
    worker = sub.add_parser("delivery-worker", help="deliver federation activities (besides the web process)")
    add_config_option(worker)
    worker.set_defaults(func=lambda args: asyncio.run(run_delivery_worker(args)))


async def run_delivery_worker(args) -> int:
    from node.activitypub import blocked_domains, delivery, runtime

    async with node_services(args) as node:
        fed = await runtime.start(node)
        blocks = await blocked_domains.start(node)
        task = asyncio.create_task(delivery.run_worker(node))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        print(f"delivery worker for {node.urls.base} on queue {redis_keys.DELIVERY_QUEUE}", flush=True)
        try:
            await task
        except asyncio.CancelledError:
            pass
        finally:
            blocks.cancel()
            await fed.fetcher.__aexit__(None, None, None)
    return 0
