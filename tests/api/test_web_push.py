"""Issue 16 item 5, Web Push: subscriptions through Mastodon.py and raw HTTP, and pushes received by a
local push service (an aiohttp server) that decrypts them with the keys the test made."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import threading

import http_ece
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.api.test_client_api_a import user_api, wait_for
from tests.api.test_js_clients import run_js
from tests.support.servers import free_port

SUB_KEYS = {"id", "endpoint", "standard", "alerts", "server_key", "policy"}
PAYLOAD_KEYS = {"access_token", "preferred_locale", "notification_id", "notification_type", "icon", "title", "body"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class PushService:
    """A push service on loopback: records each POST per path and answers the next scripted status."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: dict[str, list[tuple[dict[str, str], bytes]]] = {}
        self.script: dict[str, list[int]] = {}
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        threading.Thread(target=self._run, args=(started,), daemon=True).start()
        assert started.wait(30)

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_post("/push/{name}", self._receive)
        runner = web.AppRunner(app)
        self.loop.run_until_complete(runner.setup())
        self.loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        started.set()
        self.loop.run_forever()

    async def _receive(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.received.setdefault(name, []).append((dict(request.headers), await request.read()))
        statuses = self.script.get(name) or [201]
        return web.Response(status=statuses.pop(0) if len(statuses) > 1 else statuses[0])

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/push/{name}"

    def wait(self, name: str, count: int = 1):
        return wait_for(lambda: len(self.received.get(name, [])) >= count and self.received[name], 90,
                        f"{count} push(es) at {name}")


class Receiver:
    """A browser's side of one subscription: its ECDH key pair and auth secret."""

    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.public = self.private.public_key().public_bytes(serialization.Encoding.X962,
                                                             serialization.PublicFormat.UncompressedPoint)

    def decrypt_standard(self, headers: dict[str, str], body: bytes) -> dict:
        assert headers["Content-Encoding"] == "aes128gcm"
        assert headers["Authorization"].startswith("vapid t=")
        return json.loads(http_ece.decrypt(body, private_key=self.private, auth_secret=self.auth,
                                           version="aes128gcm"))

    def decrypt_legacy(self, headers: dict[str, str], body: bytes) -> dict:
        """The aesgcm draft: salt in `Encryption`, the sender's ECDH key in `Crypto-Key`."""
        assert headers["Content-Encoding"] == "aesgcm" and headers["Authorization"].startswith("WebPush ")
        params = dict(part.split("=", 1) for part in headers["Crypto-Key"].split(";"))
        assert params["p256ecdsa"]  # the VAPID key, as Mastodon sends it

        def unb64(value: str) -> bytes:
            return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))

        return json.loads(http_ece.decrypt(body, salt=unb64(headers["Encryption"].removeprefix("salt=")),
                                           dh=unb64(params["dh"]), private_key=self.private, auth_secret=self.auth,
                                           keylabel="P-256", version="aesgcm"))


@pytest.fixture(scope="module")
def push_service():
    return PushService()


def subscribe(api, endpoint: str, receiver: Receiver, **data):
    body = {"subscription": {"endpoint": endpoint, "standard": True,
                             "keys": {"p256dh": b64(receiver.public), "auth": b64(receiver.auth)}}, "data": data}
    return api.post("/api/v1/push/subscription", json=body)


def test_mastodon_py_subscribes_and_decrypts_a_legacy_push(node, push_service):
    """Mastodon.py's own key helpers and decryption (the aesgcm draft it implements)."""
    client = node.mastodon()
    other = node.mastodon()
    private, public = client.push_subscription_generate_keys()
    sub = client.push_subscription_set(push_service.url("mpy"), public, follow_events=True, mention_events=False)
    assert SUB_KEYS <= sub.keys() and sub["standard"] is False and sub["policy"] == "all"
    assert sub["alerts"] == {"follow": True, "mention": False}
    instance = client.instance_v2()
    assert sub["server_key"] == instance["configuration"]["vapid"]["public_key"] != ""
    assert client.push_subscription()["id"] == sub["id"]

    me = client.me()
    other.status_post(f"@{client.vs_username} hello")  # mention: not wanted
    other.account_follow(me["id"])
    headers, body = push_service.wait("mpy")[0]
    assert headers["Content-Encoding"] == "aesgcm" and headers["Authorization"].startswith("WebPush ")
    push = client.push_subscription_decrypt_push(body, private, headers["Encryption"], headers["Crypto-Key"])
    assert PAYLOAD_KEYS <= push.keys()
    assert push["notification_type"] == "follow" and push["access_token"] == client.access_token
    assert str(push["notification_id"]) == client.notifications(types=["follow"])[0]["id"]
    assert len(push_service.received["mpy"]) == 1  # the mention was never pushed

    updated = client.push_subscription_update(follow_events=False, mention_events=True, policy="none")
    assert updated["alerts"] == {"follow": False, "mention": True} and updated["policy"] == "none"
    client.push_subscription_delete()
    with pytest.raises(Exception):
        client.push_subscription()


def test_standard_push_is_rfc8291_and_respects_alerts_and_policy(node, push_service):
    api, stranger, friend = user_api(node), user_api(node), user_api(node)
    receiver = Receiver()
    created = subscribe(api, push_service.url("std"), receiver, alerts={"mention": True, "favourite": "1"},
                        policy="followed")
    assert created.status_code == 200, created.text
    sub = created.json()
    assert sub["standard"] is True and sub["alerts"] == {"mention": True, "favourite": True}
    assert sub["policy"] == "followed" and SUB_KEYS <= sub.keys()
    me = api.me
    api.post(f"/api/v1/accounts/{friend.me['id']}/follow")
    hide = api.post("/api/v2/filters", json={"title": "rude", "context": ["notifications"], "filter_action": "hide",
                                             "keywords_attributes": [{"keyword": "rude"}]})
    assert hide.status_code == 200, hide.text
    stranger.post("/api/v1/statuses", data={"status": f"@{me['username']} from a stranger"})
    friend.post("/api/v1/statuses", data={"status": f"@{me['username']} something rude"})  # hidden: not pushed
    friend.post("/api/v1/statuses", data={"status": f"@{me['username']} from a friend", "spoiler_text": ""})
    headers, body = push_service.wait("std")[0]
    push = receiver.decrypt_standard(headers, body)
    assert push["notification_type"] == "mention" and "from a friend" in push["body"]
    assert push["title"].endswith(friend.me["display_name"] or friend.me["username"])
    assert push["access_token"] == api.session.headers["Authorization"].removeprefix("Bearer ")
    # A second POST replaces the token's subscription; GET shows the new one.
    again = subscribe(api, push_service.url("std2"), receiver, alerts={"follow": True})
    assert again.json()["id"] != sub["id"] and api.get("/api/v1/push/subscription").json()["endpoint"].endswith("std2")
    assert api.delete("/api/v1/push/subscription").json() == {}
    assert api.get("/api/v1/push/subscription").status_code == 404
    assert len(push_service.received["std"]) == 1  # neither the stranger's mention nor the filtered one


def test_gone_subscription_is_removed_and_5xx_is_retried(node, push_service):
    api, other = user_api(node), user_api(node)
    receiver = Receiver()
    push_service.script["flaky"] = [500, 201]
    assert subscribe(api, push_service.url("flaky"), receiver, alerts={"follow": True}).status_code == 200
    other.post(f"/api/v1/accounts/{api.me['id']}/follow")
    first, second = push_service.wait("flaky", 2)[:2]
    assert receiver.decrypt_standard(*second)["notification_type"] == "follow"
    assert first[1] != second[1]  # encrypted afresh for the retry

    push_service.script["gone"] = [410]
    assert subscribe(api, push_service.url("gone"), receiver, alerts={"follow": True}).status_code == 200
    user_api(node).post(f"/api/v1/accounts/{api.me['id']}/follow")
    push_service.wait("gone")
    wait_for(lambda: api.get("/api/v1/push/subscription").status_code == 404, 60, "the subscription removed")


def test_bad_subscriptions_are_refused(node):
    api = user_api(node)
    receiver = Receiver()
    read_only = node.api(node.token(*node.create_user(), scopes="read"))
    assert subscribe(read_only, "https://push.example/x", receiver).status_code == 403
    assert api.get("/api/v1/push/subscription").status_code == 404
    assert api.put("/api/v1/push/subscription", json={"data": {"alerts": {"follow": True}}}).status_code == 404
    bad = [{"endpoint": "ftp://push.example/x"}, {"endpoint": ""}, {}]
    for given in bad:
        r = api.post("/api/v1/push/subscription", json={"subscription": {
            **given, "keys": {"p256dh": b64(receiver.public), "auth": b64(receiver.auth)}}})
        assert r.status_code == 422 and "error" in r.json(), r.text
    off_curve = b64(b"\x04" + b"\x01" * 64)
    for keys in ({"p256dh": "short", "auth": b64(receiver.auth)}, {"p256dh": off_curve, "auth": b64(receiver.auth)},
                 {"p256dh": b64(receiver.public)}, {"p256dh": b64(receiver.public), "auth": "c2hvcnQ"}, None):
        r = api.post("/api/v1/push/subscription", json={"subscription": {"endpoint": "https://push.example/x",
                                                                          "keys": keys}})
        assert r.status_code == 422, r.text
    r = subscribe(api, "https://push.example/x", receiver, policy="everyone")
    assert r.status_code == 422
    assert api.get("/api/v1/push/subscription").status_code == 404  # nothing half-written


def test_a_failed_push_is_retried_from_its_row_after_a_restart_that_lost_the_queue(nodes, push_service):
    """The row is the truth: with the node stopped and its Redis emptied, the retry still happens."""
    import redis

    live = nodes("push", overrides={"limits": {"push_retry_seconds": 2}, "federation": {"sweep_seconds": 1}})
    api, other = user_api(live), user_api(live)
    receiver = Receiver()
    push_service.script["durable"] = [503, 201]
    sub = subscribe(api, push_service.url("durable"), receiver, alerts={"follow": True}).json()
    key = live.data_dir / "push" / "vapid.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    other.post(f"/api/v1/accounts/{api.me['id']}/follow")
    push_service.wait("durable")
    live.stop()
    redis.Redis(unix_socket_path=live.redis_url.removeprefix("unix://")).flushall()
    live.start()
    headers, body = push_service.wait("durable", 2)[1]
    assert receiver.decrypt_standard(headers, body)["notification_type"] == "follow"
    assert api.get("/api/v1/push/subscription").json()["server_key"] == sub["server_key"]  # the same key pair


def test_masto_js_and_megalodon_subscribe_and_their_pushes_decrypt(node, push_service):
    tokens, ids, receivers = {}, {}, {"masto": Receiver(), "megalodon": Receiver()}
    for name in receivers:
        username, password = node.create_user()
        tokens[name] = node.token(username, password)
        ids[name] = node.api(tokens[name]).get("/api/v1/accounts/verify_credentials").json()["id"]
    out = run_js("push_flows.mjs", {"url": node.url, **{
        name: {"token": tokens[name], "endpoint": push_service.url(f"js-{name}"), "p256dh": b64(r.public),
               "auth": b64(r.auth)} for name, r in receivers.items()}})
    server_key = node.api().get("/api/v2/instance").json()["configuration"]["vapid"]["public_key"]
    assert out["masto"]["serverKey"] == out["megalodon"]["serverKey"] == server_key
    assert out["masto"]["policy"] == "all" and out["mastoFetched"] == out["masto"]["id"]
    assert out["mastoUpdated"] == {"follow": True, "favourite": True}
    assert out["megalodonFetched"] == out["megalodon"]["id"]
    assert out["megalodonUpdated"] == {"follow": True, "poll": True}
    follower = user_api(node)
    for name, receiver in receivers.items():
        follower.post(f"/api/v1/accounts/{ids[name]}/follow")
        push = receiver.decrypt_legacy(*push_service.wait(f"js-{name}")[0])
        assert push["notification_type"] == "follow" and push["access_token"] == tokens[name]
