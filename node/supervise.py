"""Supervision of the long-running coroutines of a process: the in-process arq workers, the sweepers,
and every Redis pub/sub subscriber (background listeners and the streams of connected clients).

Redis can go away under them (the embedded one killed and restarted by its watchdog, an external
one restarted or failed over). A connection lost mid-command raises in whatever was using it; left
alone, a worker or a listener would end there and never come back. `supervise` runs the coroutine
again, after a pause that grows while it keeps failing, until it returns or is cancelled: each run
starts from a fresh connection and re-reads what it may have missed (queued jobs, subscriptions,
the state a stream shows).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

# What a lost or refused Redis connection raises (redis-py wraps the socket's errors in these).
REDIS_LOST: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)
FIRST_PAUSE_S = 0.25
MAX_PAUSE_S = 5.0
# A run that lasted this long was healthy: the next failure starts the pauses from the first again.
HEALTHY_AFTER_S = 30.0


async def supervise(name: str, run: Callable[[], Awaitable[object]], *,
                    restart_on: tuple[type[BaseException], ...] = (Exception,)) -> None:
    """Await ``run()`` until it returns; when it raises one of ``restart_on``, run it again after a
    pause (FIRST_PAUSE_S, doubling up to MAX_PAUSE_S). Anything else, and cancellation, ends it.

    Background tasks restart on any exception (a bug in one run must not stop the work for good);
    a client's stream restarts only on a lost Redis, so that its client going away ends it.
    """
    pause = FIRST_PAUSE_S
    while True:
        started = time.monotonic()
        try:
            await run()
            return
        except REDIS_LOST as exc:
            if not isinstance(exc, restart_on):
                raise
            log.warning("%s lost Redis (%s); starting it again in %.2f s", name, exc, pause)
        except restart_on:
            log.exception("%s failed; starting it again in %.2f s", name, pause)
        if time.monotonic() - started >= HEALTHY_AFTER_S:
            pause = FIRST_PAUSE_S
        await asyncio.sleep(pause)
        pause = min(pause * 2, MAX_PAUSE_S)


def start(name: str, run: Callable[[], Awaitable[object]]) -> asyncio.Task:
    """A background task that runs ``run()`` under `supervise`, for `app["background"]`."""
    return asyncio.create_task(supervise(name, run), name=name)


def every(name: str, seconds: float, run: Callable[[], Awaitable[object]]) -> asyncio.Task:
    """A background task that runs ``run()`` now and every ``seconds`` after, for work whose rows are
    the truth (a round that fails, on a database hiccup say, is logged; the next one does it)."""
    async def rounds() -> None:
        while True:
            try:
                await run()
            except Exception:
                log.exception("%s failed; trying again in %s s", name, seconds)
            await asyncio.sleep(seconds)

    return asyncio.create_task(rounds(), name=name)


# Linux: the child asks to get SIGTERM when this process dies (even by SIGKILL), then becomes the command.
_LAUNCHER = ("import ctypes, os, signal, sys; ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM); "
             "os.execv(sys.argv[1], sys.argv[1:])")


def dies_with_parent(argv: list[str]) -> list[str]:
    """``argv`` (a Python command, argv[0] the interpreter) run so that it ends when this process does."""
    return [sys.executable, "-c", _LAUNCHER, *argv] if sys.platform == "linux" else argv
