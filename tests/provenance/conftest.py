"""Fixtures for provenance tests: real H.264 + AAC MP4 files, node identities and cameo owners."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from provenance.certificates import NodeIdentity
from tests.support.consent import Owner
from tests.support.media import make_mp4


@pytest.fixture(scope="session")
def source_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One unsigned clip shared by all tests (signing never modifies its source)."""
    return make_mp4(tmp_path_factory.mktemp("media") / "source.mp4")


@pytest.fixture(scope="session")
def node_identity(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], NodeIdentity]:
    """Factory for independent node identities (own CA each), cached per name."""
    base = tmp_path_factory.mktemp("identities")
    cache: dict[str, NodeIdentity] = {}

    def get(name: str) -> NodeIdentity:
        if name not in cache:
            cache[name] = NodeIdentity.load_or_create(base / name, name)
        return cache[name]

    return get


@pytest.fixture(scope="session")
def cameo_owner() -> Callable[[str], Owner]:
    cache: dict[str, Owner] = {}

    def get(host: str) -> Owner:
        if host not in cache:
            cache[host] = Owner(host)
        return cache[host]

    return get
