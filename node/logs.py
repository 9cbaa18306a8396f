"""Log lines of bounded size, whatever a client sent: one 99 KB request value must not grow the
log by 200 KB (quoted in a message, then again in each chained exception of a traceback)."""

from __future__ import annotations

import logging

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
