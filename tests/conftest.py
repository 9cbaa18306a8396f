"""Session-wide real servers and live nodes.

VITASCOPE_TEST_DB=sqlite (default) or postgres selects the database every node uses; CI runs
the suite once with each.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.nodes import LiveNode
from tests.support.servers import PostgresServer, RedisServer


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs a CUDA GPU; skipped without one")


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_gpu = torch.cuda.is_available()
    except ImportError:
        has_gpu = False
    if not has_gpu:
        skip = pytest.mark.skip(reason="needs a CUDA GPU")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def test_db() -> str:
    value = os.environ.get("VITASCOPE_TEST_DB", "sqlite")
    assert value in ("sqlite", "postgres"), value
    return value


@pytest.fixture(scope="session")
def postgres(tmp_path_factory, test_db):
    if test_db != "postgres":
        yield None
        return
    import shutil
    import tempfile

    # Outside pytest's 0700 tmp tree: the cluster runs as the `postgres` user when we are root.
    directory = Path(tempfile.mkdtemp(prefix="vitascope-pg-"))
    directory.chmod(0o755)
    server = PostgresServer(directory)
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


class NodeFactory:
    """Starts nodes, each with its own database and its own real Redis server."""

    def __init__(self, base: Path, postgres: PostgresServer | None):
        self.base = base
        self.postgres = postgres
        self.started: list[LiveNode] = []
        self.redis: list[RedisServer] = []
        self.count = 0

    def __call__(self, name: str | None = None, *, overrides: dict | None = None, embedded_redis: bool = False,
                 start: bool = True) -> LiveNode:
        self.count += 1
        name = name or f"node{self.count}"
        directory = self.base / f"{name}-{self.count}"
        redis_url = None
        if not embedded_redis:
            server = RedisServer(directory / "redis-ext")
            self.redis.append(server)
            redis_url = server.url
        db_url = self.postgres.create_database(f"{name}_{self.count}".replace("-", "_")) if self.postgres else None
        node = LiveNode(directory, database_url=db_url, redis_url=redis_url, name=name, overrides=overrides)
        node.redis_server = None if embedded_redis else self.redis[-1]
        self.started.append(node)
        return node.start() if start else node

    def close(self) -> None:
        for node in self.started:
            node.stop()
        for server in self.redis:
            server.stop()


@pytest.fixture(scope="session")
def nodes(tmp_path_factory, postgres):
    factory = NodeFactory(tmp_path_factory.mktemp("nodes"), postgres)
    yield factory
    factory.close()


@pytest.fixture(scope="session")
def node(nodes) -> LiveNode:
    """One shared node for single-node API tests (each test makes its own users)."""
    return nodes("alpha")


@pytest.fixture(scope="session")
def node_b(nodes) -> LiveNode:
    return nodes("beta")
