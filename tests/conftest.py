"""Session-wide real servers and live nodes.

VITASCOPE_TEST_DB=sqlite (default) or postgres selects the database every node uses; CI runs
the suite once with each.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.nodes import LiveNode, NodeFactory
from tests.support.servers import PostgresServer


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
