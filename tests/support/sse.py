"""Server-Sent Events read in a thread (the generation job events), kept for the test to look through."""

from __future__ import annotations

import json
import socket
import threading
import time

import requests


class SseReader:
    """Reads a Server-Sent Events endpoint in a thread, keeping (event, data) pairs."""

    def __init__(self, url: str, token: str):
        self.events: list[tuple[str, dict | str]] = []
        self.response = requests.get(url, headers={"Authorization": f"Bearer {token}"}, stream=True, timeout=60)
        assert self.response.status_code == 200, self.response.text
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        event, data = None, []
        try:
            for line in self.response.iter_lines(decode_unicode=True):
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif not line and event:
                    text = "\n".join(data)
                    try:
                        payload = json.loads(text)
                    except ValueError:
                        payload = text
                    self.events.append((event, payload))
                    event, data = None, []
        except (requests.RequestException, AttributeError, ValueError):
            pass  # closed by the test

    def wait_for(self, predicate, timeout: float = 60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for item in list(self.events):
                if predicate(*item):
                    return item
            time.sleep(0.05)
        raise TimeoutError(f"no matching event; last: {self.events[-3:]}")

    def close(self) -> None:
        """Shut the socket down first: a plain close would wait for the reader's next heartbeat."""
        try:
            self.response.raw._fp.fp.raw._sock.shutdown(socket.SHUT_RDWR)
        except (AttributeError, OSError):
            pass
        self.response.close()
        self.thread.join(5)
