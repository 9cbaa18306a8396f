"""Fixtures shared by the federation tests."""

from __future__ import annotations

import pytest_asyncio

from tests.support.peers import FakeServer


@pytest_asyncio.fixture(scope="module")
async def fake():
    server = FakeServer()
    await server.start()
    yield server
    await server.runner.cleanup()
