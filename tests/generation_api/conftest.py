"""Generation through a live node: real `vitascope serve` and `vitascope worker` processes, the tiny model."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.support.generation import tiny_models  # noqa: F401  (a session fixture)


@pytest.fixture(scope="session")
def gen_node(nodes, tiny_models):
    """A node with one `vitascope worker` (the tiny model's default 2 steps: fast)."""
    node = nodes("gen")
    worker = node.start_worker(models=tiny_models)
    node.worker = worker
    yield node
    worker.stop()


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


def node_cas(node) -> list[str]:
    """The CA certificates the node publishes for its C2PA signatures."""
    response = requests.get(node.url + "/.well-known/vitascope/ca.pem", timeout=10)
    response.raise_for_status()
    return [block + "-----END CERTIFICATE-----\n" for block in response.text.split("-----END CERTIFICATE-----")
            if block.strip()]


def download(url: str, path: Path) -> Path:
    response = requests.get(url, timeout=30)
    response.raise_for_status()
    path.write_bytes(response.content)
    return path
