"""What a live node publishes, fetched as a client does: its C2PA CAs and files by URL."""

from __future__ import annotations

from pathlib import Path

import requests


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
