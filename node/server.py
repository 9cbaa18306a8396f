"""Serving the app: aiohttp's runner with the node's connection limits, and the requests aiohttp's
HTTP parser refuses (a request line over limits.max_url_bytes, a header over
limits.max_header_bytes, a broken header) answered in JSON like every other error.

Those requests never reach the app or its middleware: aiohttp answers them from its protocol
class with a plain-text 400. `web.run_app` offers no way to choose that class, so the node runs
the app itself, with its own runner.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from node.config import Config

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
            await web.TCPSite(runner, config.host, config.port).start()
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
