"""Generation through a live node: real `vitascope serve` and `vitascope worker` processes, the tiny model."""

from __future__ import annotations

import pytest

from tests.support.generation import tiny_models  # noqa: F401  (a session fixture)


@pytest.fixture(scope="session")
def gen_node(nodes, tiny_models):
    """A node with one `vitascope worker` (the tiny model's default 2 steps: fast)."""
    node = nodes("gen")
    worker = node.start_worker(models=tiny_models)
    node.worker = worker
    yield node
    worker.stop()
