"""Web Push delivery (RFC 8030, encrypted per RFC 8291, signed per RFC 8292 VAPID), as Mastodon does.

Each notification a subscription wants becomes a `PushDelivery` row and a `web_push` job, queued by
node.services.push on the federation delivery queue (node.activitypub.delivery's worker runs this
module's `push`), which makes one attempt and writes the outcome: delivered, the subscription
removed (the push service answered 4xx other than 408/429: it is gone, as Mastodon's
Web::PushNotificationWorker decides), or pending again with a doubling delay, `MAX_ATTEMPTS` in all.
The delivery sweeper queues again rows whose job was lost.

Encryption and VAPID come from pywebpush / py-vapid; the POST goes through the federation SafeFetcher,
so a user-supplied endpoint obeys the same address rules as any federation request (loopback and
private addresses only in dev mode).
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid01, Vapid02
from pywebpush import WebPusher, WebPushException

from federation.fetcher import FetchError, FetchFailed
from node.activitypub.runtime import federation, secret_file
from node.context import Node
from node.models import PushDelivery, WebPushSubscription
from node.serializers import account_json
from node.serializers.notifications import NOTICES
from node.services import push as push_service
from node.services.accounts import login_refusal
from node.text import html_to_text

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6  # the first try and Mastodon's five retries
TTL_SECONDS = 48 * 3600
BODY_LENGTH = 140
# Mastodon's English notification_mailer subjects (and admin mailer ones for the admin types).
TITLES = {
    "mention": "You were mentioned by {name}", "status": "{name} just posted", "reblog": "{name} boosted your post",
    "follow": "{name} is now following you", "follow_request": "Pending follower: {name}",
    "favourite": "{name} favorited your post", "poll": "A poll by {name} has ended", "update": "{name} edited a post",
    "admin.sign_up": "{name} signed up", "admin.report": "New report from {name}",
    "remix": "{name} remixed your video", "generation": "Your video is ready",
    "move": "{name} has moved", "moderation_warning": "A moderation decision about your account",
    "vitascope.cameo_use": "{name} used your cameo", "vitascope.cameo_use_deleted": "{name} deleted a video of you",
}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64decode(value: str) -> bytes | None:
    """Base64url with or without padding (apps send both), or None."""
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (ValueError, TypeError):
        return None


async def endpoint_refusal(node: Node, endpoint: str) -> str | None:
    """Why a push endpoint may not be used (the federation address rules), or None. A name that does
    not resolve yet passes: it is checked again on every connection."""
    try:
        await federation(node).fetcher.check_url(endpoint)
    except FetchFailed:
        return None
    except FetchError as exc:
        return exc.reason
    return None


def valid_p256dh(value: str) -> bool:
    """Whether a subscription's `p256dh` is a point on P-256, as RFC 8291 needs."""
    raw = b64decode(value)
    if raw is None or len(raw) != 65:
        return False
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        return False
    return True


def _new_vapid_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def vapid_key(node: Node) -> ec.EllipticCurvePrivateKey:
    """The node's VAPID key pair, made on first use and kept under the data dir (mode 0600)."""
    if "vapid_key" not in node.extras:
        pem = secret_file(node.config.data_dir / "push" / "vapid.pem", _new_vapid_pem)
        node.extras["vapid_key"] = serialization.load_pem_private_key(pem.encode(), password=None)
    return node.extras["vapid_key"]


def server_key(node: Node) -> str:
    """The VAPID public key apps pass to the browser's PushManager (`applicationServerKey`)."""
    public = vapid_key(node).public_key().public_bytes(serialization.Encoding.X962,
                                                       serialization.PublicFormat.UncompressedPoint)
    return _b64(public)


def retry_delay(node: Node, attempts: int) -> timedelta | None:
    """After the ``attempts``-th failure: `limits.push_retry_seconds`, doubled each time; None once the
    attempts are spent."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return timedelta(seconds=node.config["limits.push_retry_seconds"] * 2 ** (attempts - 1))


def payload(node: Node, subscription: WebPushSubscription, note) -> dict[str, Any]:
    """Mastodon's Web::NotificationSerializer: what the app's service worker shows."""
    sender = note.from_account
    name = sender.display_name or sender.username
    shown = account_json(node, sender)
    if note.type in NOTICES:  # pushed as the `mention` the API shows, with its notice's words
        source = f"@{shown['acct']} {NOTICES[note.type]}."
    elif note.status is not None:
        source = note.status.spoiler_text or html_to_text(note.status.content) or note.status.text
    else:
        source = html_to_text(sender.note)
    body = source if len(source) <= BODY_LENGTH else source[:BODY_LENGTH - 3] + "..."
    return {
        "access_token": subscription.token.token,
        "preferred_locale": subscription.user.locale or "en",
        "notification_id": note.id,
        "notification_type": push_service.alert_type(note.type),
        "icon": shown["avatar_static"],
        "title": TITLES.get(note.type, "{name}").format(name=name),
        "body": body,
    }


def encrypt(node: Node, subscription: WebPushSubscription, data: bytes) -> tuple[bytes, dict[str, str]]:
    """The encrypted body and headers: RFC 8291 with `vapid` auth for standard subscriptions, the aesgcm
    draft with `WebPush` auth and `Crypto-Key` for the others (as Mastodon's WebPushRequest)."""
    keys = {"p256dh": subscription.key_p256dh, "auth": subscription.key_auth}
    pusher = WebPusher({"endpoint": subscription.endpoint, "keys": keys})
    parts = urlsplit(subscription.endpoint)
    email = node.config["server.contact_email"]
    claims = {"aud": f"{parts.scheme}://{parts.netloc}", "sub": f"mailto:{email}" if email else node.urls.base,
              "exp": int(_now().timestamp()) + 12 * 3600}
    headers = {"Content-Type": "application/octet-stream", "TTL": str(TTL_SECONDS), "Urgency": "normal"}
    if subscription.standard:
        encoded = pusher.encode(data, "aes128gcm")
        headers["Content-Encoding"] = "aes128gcm"
        headers.update(Vapid02(vapid_key(node), conf={"no-strict": True}).sign(claims))
    else:
        encoded = pusher.encode(data, "aesgcm")
        signed = Vapid01(vapid_key(node), conf={"no-strict": True}).sign(claims)
        headers["Content-Encoding"] = "aesgcm"
        headers["Encryption"] = f"salt={encoded['salt'].decode()}"
        headers["Authorization"] = signed["Authorization"]
        headers["Crypto-Key"] = f"dh={encoded['crypto_key'].decode()};{signed['Crypto-Key']}"
    return encoded["body"], headers


def _refusal(subscription: WebPushSubscription, note) -> str | None:
    """Why a queued push may no longer be sent: what the recipient could not see or use by now."""
    token = subscription.token
    if token.revoked_at is not None or (token.expires_at is not None and token.expires_at < _now()):
        return "the access token is no longer valid"
    if refusal := login_refusal(subscription.user):
        return refusal
    if note.status is not None and note.status.deleted_at is not None:
        return "the status was deleted"
    return None


async def push(ctx: dict[str, Any], row_id: int) -> str:
    """The arq job: one attempt at one push."""
    node: Node = ctx["node"]
    row = await PushDelivery.get_or_none(id=row_id).prefetch_related(
        "subscription__token", "subscription__user__account", "notification__from_account", "notification__status")
    if row is None or row.state != "pending":
        return "nothing to do"
    note, subscription = row.notification, row.subscription
    if refusal := _refusal(subscription, note):
        row.state, row.last_error = "failed", refusal
        await row.save(update_fields=["state", "last_error"])
        return row.state
    try:
        body, headers = encrypt(node, subscription, json.dumps(payload(node, subscription, note)).encode())
    except (ValueError, WebPushException) as exc:  # keys that passed the API's checks yet do not work
        row.state, row.last_error = "failed", f"cannot encrypt for this subscription: {exc}"
        await row.save(update_fields=["state", "last_error"])
        return row.state
    status, error, retryable = None, None, True
    try:
        status, text = await federation(node).fetcher.post(subscription.endpoint, body, headers)
        if not 200 <= status < 300:
            error = f"HTTP {status}: {text[:200]}"
    except FetchFailed as exc:  # network trouble or timeout: try again
        error = exc.reason
    except FetchError as exc:  # the endpoint is not allowed here: no use retrying
        error, retryable = exc.reason, False
    row.attempts += 1
    row.last_status, row.last_error = status, error
    if status is not None and 400 <= status < 500 and status not in (408, 429):
        log.info("push subscription %s is gone (%s); removing it", subscription.id, error)
        await push_service.remove(subscription)
        return "removed"
    delay = retry_delay(node, row.attempts) if retryable and error else None
    if error is None:
        row.state, row.next_attempt_at = "delivered", None
    elif delay is None:
        row.state, row.next_attempt_at = "failed", None
    else:
        row.next_attempt_at = _now() + delay
    await row.save()
    if row.state == "pending":
        await push_service.enqueue(node, [row.id], attempts=row.attempts, at=row.next_attempt_at)
    if error:
        log.info("push %s to subscription %s: %s (%s)", row.id, subscription.id, row.state, error)
    return row.state


async def requeue_lost(node: Node, cutoff: datetime) -> int:
    """Queue again pending pushes whose job should have run before ``cutoff`` (their job was lost)."""
    rows = await PushDelivery.filter(state="pending", created_at__lt=cutoff, next_attempt_at__isnull=True).values(
        "id", "attempts")
    rows += await PushDelivery.filter(state="pending", next_attempt_at__lt=cutoff).values("id", "attempts")
    for row in rows:
        await push_service.enqueue(node, [row["id"]], attempts=row["attempts"])
    return len(rows)
