"""Log lines of bounded size, whatever a client sent: one 99 KB request value must not grow the
log by 200 KB (quoted in a message, then again in each chained exception of a traceback)."""

from __future__ import annotations

import logging
import time

MAX_MESSAGE_CHARS = 2000
MAX_TRACEBACK_LINE_CHARS = 500


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text) - limit} more characters)"


class CappedFormatter(logging.Formatter):
    """Caps the message and every line of a traceback (a traceback keeps its shape, values lose their tails)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = _cap(record.message, MAX_MESSAGE_CHARS)
        return super().formatMessage(record)

    def formatException(self, ei) -> str:
        return "\n".join(_cap(line, MAX_TRACEBACK_LINE_CHARS) for line in super().formatException(ei).splitlines())

    def formatStack(self, stack_info: str) -> str:
        return "\n".join(_cap(line, MAX_TRACEBACK_LINE_CHARS) for line in stack_info.splitlines())


def configure(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(CappedFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])


class Throttled:
    """At most one warning per ``every`` seconds for a condition that every request meets (Redis
    away): the first at once, then one a while saying how many were left out."""

    def __init__(self, logger: logging.Logger, every: float = 60.0) -> None:
        self.logger, self.every = logger, every
        self.last, self.skipped = float("-inf"), 0

    def warning(self, message: str, *args) -> None:
        now = time.monotonic()
        if now - self.last < self.every:
            self.skipped += 1
            return
        more = f" ({self.skipped} more since the last such line)" if self.skipped else ""
        self.logger.warning(message + more, *args)
        self.last, self.skipped = now, 0
