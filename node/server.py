"""Serving the app: aiohttp's runner with the node's connection limits, and the requests aiohttp's
HTTP parser refuses (a request line over limits.max_url_bytes, a header over
limits.max_header_bytes, a broken header) answered in JSON like every other error.

Those requests never reach the app or its middleware: aiohttp answers them from its protocol
class with a plain-text 400. `web.run_app` offers no way to choose that class, so the node runs
the app itself, with its own runner.

With server.processes > 1, `serve_processes` is the parent: it does once what must happen once
(embedded Redis, migrations, the node's signing identity), then runs that many `vitascope serve`
children, each its own event loop and app, all listening on host:port with SO_REUSEPORT so the
kernel spreads connections among them; it starts again a child that dies and stops them all on
SIGTERM or SIGINT. What they share lives in PostgreSQL and Redis.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import time
from contextlib import suppress

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from node import db
from node.app import load_identity
from node.config import Config
from node.redis_server import embedded_for
from node.supervise import FIRST_PAUSE_S, HEALTHY_AFTER_S, MAX_PAUSE_S, dies_with_parent

log = logging.getLogger(__name__)


class _Protocol(web.RequestHandler):
    """aiohttp's protocol, answering what its parser refuses in JSON."""

    __slots__ = ()

    def handle_error(self, request, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if status >= 500:
            return super().handle_error(request, status, exc, message)
        reason = exc.message if isinstance(exc, HttpProcessingError) and exc.message else message
        reason = " ".join(str(reason or "malformed request").split())[:200]
        log.info("refused a malformed request from %s: %s", request.remote, reason)
        response = web.json_response({"error": f"Bad request: {reason}"}, status=status)
        response.force_close()
        return response


class _Server(web.Server):
    def __call__(self) -> web.RequestHandler:
        return _Protocol(self, loop=self._loop, **self._kwargs)


class _Runner(web.AppRunner):
    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _Server  # the server the app made, with the protocol class above
        return server


def serve(app: web.Application, config: Config, loop: asyncio.AbstractEventLoop) -> None:
    """Run until SIGINT or SIGTERM, then clean up (as `web.run_app` does)."""
    runner = _Runner(app, handle_signals=True, access_log=None, shutdown_timeout=5,
                     keepalive_timeout=config["server.keepalive_timeout_seconds"],
                     max_line_size=config["limits.max_url_bytes"], max_field_size=config["limits.max_header_bytes"],
                     # after answering a request whose body it did not read, aiohttp reads on (and
                     # discards) for this long before closing; a stalled client sends nothing more
                     lingering_time=min(10, config["limits.body_idle_timeout_seconds"]))

    async def run() -> None:
        await runner.setup()
        try:
            await web.TCPSite(runner, config.host, config.port, reuse_port=config["server.processes"] > 1).start()
            await asyncio.Event().wait()  # a signal ends it (GracefulExit)
        finally:
            await runner.cleanup()

    asyncio.set_event_loop(loop)
    main = loop.create_task(run())
    try:
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    finally:
        if not main.done():
            main.cancel()
            with suppress(asyncio.CancelledError):
                loop.run_until_complete(main)
        rest = asyncio.all_tasks(loop)
        for task in rest:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*rest, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


# How long a child has to finish its requests and clean up after SIGTERM before it is killed.
CHILD_STOP_TIMEOUT_S = 15


def serve_processes(config: Config, argv: list[str]) -> None:
    """Run server.processes children, ``argv`` + ``--process-index I --id-bits B`` each (B: bits of
    their own in new ids, node.ids), until SIGINT or SIGTERM."""
    asyncio.run(_serve_processes(config, argv))


async def _serve_processes(config: Config, argv: list[str]) -> None:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    embedded = None
    if config.embedded_redis:
        embedded = embedded_for(config.data_dir)
        await embedded.start()
        env["VITASCOPE_REDIS_URL"] = embedded.url  # the children's Redis: this one, not one each
    try:
        await db.migrate(config.database_url)
        await asyncio.to_thread(load_identity, config)  # made (or rotated) once, before any child reads it
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        first_bits = secrets.randbelow(64)  # consecutive id bits from a random start: distinct among the children
        children = [[*argv, "--process-index", str(i), "--id-bits", str((first_bits + i) % 64)]
                    for i in range(config["server.processes"])]
        await asyncio.gather(*(_keep_running(i, child, env, stopping) for i, child in enumerate(children)))
    finally:
        if embedded is not None:
            await embedded.stop()


async def _keep_running(index: int, argv: list[str], env: dict[str, str], stopping: asyncio.Event) -> None:
    """One child, started again (after a pause that grows while it keeps dying) until ``stopping``."""
    pause = FIRST_PAUSE_S
    while not stopping.is_set():
        started = time.monotonic()
        # its own process group: a Ctrl-C reaches this parent only, which stops the children in order
        child = await asyncio.create_subprocess_exec(*dies_with_parent(argv), env=env, process_group=0,
                                                     stdin=asyncio.subprocess.DEVNULL)
        exited = asyncio.ensure_future(child.wait())
        stop = asyncio.ensure_future(stopping.wait())
        await asyncio.wait({exited, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if stopping.is_set():
            if child.returncode is None:
                child.terminate()
                try:
                    await asyncio.wait_for(exited, CHILD_STOP_TIMEOUT_S)
                except TimeoutError:
                    child.kill()
                    await child.wait()
            return
        if time.monotonic() - started >= HEALTHY_AFTER_S:
            pause = FIRST_PAUSE_S
        log.warning("web process %s exited with %s; starting it again in %.2f s", index, child.returncode, pause)
        with suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), pause)
        pause = min(pause * 2, MAX_PAUSE_S)
