"""fediverse-pasture against a live node: `verify_actor` and every input set of `fediverse_pasture.send`.

Both pasture servers run in this process on loopback; the node (dev mode) fetches their actors.
"""

from __future__ import annotations

import asyncio
import json
import re

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.client_exceptions import ClientResponseError

from tests.support.servers import free_port

pasture_inputs = pytest.importorskip("fediverse_pasture_inputs")


async def _serve(app, port: int):
    stop = asyncio.Event()
    task = asyncio.create_task(app.run_task(host="127.0.0.1", port=port, shutdown_trigger=stop.wait))
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            try:
                async with session.get(f"http://127.0.0.1:{port}/nonexistent"):
                    break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
    return stop, task


@pytest_asyncio.fixture(scope="module")
async def verify_actor_server(tmp_path_factory):
    from fediverse_pasture.verify_actor import build_app

    port = free_port()
    import os

    cwd = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("pasture"))  # it keeps its generated keys in ./data.toml
    try:
        app = build_app(False, f"127.0.0.1:{port}", False, 20)
    finally:
        os.chdir(cwd)
    stop, task = await _serve(app, port)
    yield f"http://127.0.0.1:{port}"
    stop.set()
    await task


async def test_verify_actor_gives_the_ideal_result(node, verify_actor_server):
    username, _ = await asyncio.to_thread(node.create_user)
    async with aiohttp.ClientSession() as session:
        async with session.get(verify_actor_server + "/", params={"actor_uri": f"{node.url}/users/{username}"},
                               headers={"Accept": "application/json"}) as response:
            assert response.status == 200
            report = await response.json()
    result = report["result"]
    assert result["webfinger"] is True, report["messages"]
    # alice and dean do not sign: refused. The others sign (claire and frank also refuse unsigned
    # fetches of their own actor, so our key fetches must be signed): accepted.
    for name in ("alice", "dean"):
        assert result[name] == {"get_actor": True, "post_inbox": False}, (name, report["messages"])
    for name in ("bob", "claire", "emily", "frank"):
        assert result[name] == {"get_actor": True, "post_inbox": True}, (name, report["messages"])


@pytest_asyncio.fixture(scope="module")
async def one_actor():
    from fediverse_pasture.data_provider import DataProvider, bovine_actor_for_actor_data
    from fediverse_pasture.server.one_actor_app import app_for_data_provider

    port = free_port()
    provider = DataProvider.generate(with_possible_actors=False)
    stop, task = await _serve(app_for_data_provider(provider), port)
    async with aiohttp.ClientSession() as session:
        bovine_actor, actor = bovine_actor_for_actor_data(f"http://127.0.0.1:{port}/actor", provider.one_actor)
        await bovine_actor.init(session=session)
        yield bovine_actor, actor
    stop.set()
    await task


def _all_inputs() -> list[tuple[str, int]]:
    return [(name, i) for name, inputs in sorted(pasture_inputs.available.items()) for i in range(len(inputs.examples))]


async def test_every_pasture_input_is_accepted_or_cleanly_refused(node, one_actor):
    from fediverse_pasture.runner import ActivitySender

    bovine_actor, actor = one_actor
    username, _ = await asyncio.to_thread(node.create_user)
    target = f"{node.url}/users/{username}"
    outcomes: dict[tuple[str, int], int] = {}

    for name, number in _all_inputs():
        sender = ActivitySender.for_actor(bovine_actor, actor)
        sender.sleep_after_getting_inbox = False
        info = pasture_inputs.available[name].examples[number]

        async def record(inbox, create, key=(name, number)):
            try:
                response = await bovine_actor.post(inbox, create)
                outcomes[key] = response.status
            except ClientResponseError as exc:
                outcomes[key] = exc.status

        sender._perform_post = record
        sender.init_create_note(lambda note, info=info: {**note, "content": "text", **info})
        await sender.send(target)

    assert len(outcomes) == len(_all_inputs()) == sum(len(i.examples) for i in pasture_inputs.available.values())
    server_errors = {key: status for key, status in outcomes.items() if status >= 500}
    assert server_errors == {}
    assert all(200 <= s < 300 or 400 <= s < 500 for s in outcomes.values())
    refused = {key: status for key, status in outcomes.items() if status != 202}
    # Only the inputs that lack what an activity needs (necessary_properties) may be refused.
    assert {name for name, _ in refused} <= {"necessary_properties"}, refused

    # Items are processed in arrival order, except that a run of plain posts is stored together and
    # the run's posts that must go alone (attachments, replies within the run) are stored right after
    # it, with newer ids: look for the last post among the newest 40, not the newest 5.
    sentinel = "sentinel" + str(len(outcomes))
    sender = ActivitySender.for_actor(bovine_actor, actor)
    sender.sleep_after_getting_inbox = False
    sender.init_create_note(lambda note: {**note, "content": sentinel})
    await sender.send(target)
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            async with session.get(node.url + "/api/v1/timelines/public?remote=true&limit=40") as response:
                if sentinel in json.dumps(await response.json()):
                    break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the node did not process the pasture inputs in time")
    # Every accepted activity was processed without an error (failures are logged with the item).
    log = node.log_path.read_text(errors="replace")
    failures = re.findall(r"inbox item \d+ \(.*\) failed\n(?:[ T].*\n|\S*Error.*\n)*", log)
    assert failures == [], "\n".join(failures[:3])
