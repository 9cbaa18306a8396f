"""A Mastodon.py stream listener for tests: collects what arrives and knows when it is subscribed."""

from __future__ import annotations

from mastodon import StreamListener

from tests.support.waiting import wait_for


class Listener(StreamListener):
    """Collects updates, edits and notifications. The node sends its first comment (`:)`) once the
    stream is subscribed, so `subscribed` says that nothing published from then on is missed."""

    def __init__(self) -> None:
        self.subscribed = False
        self.updates: list[dict] = []
        self.status_updates: list[dict] = []
        self.notifications: list[dict] = []

    def handle_heartbeat(self) -> None:
        self.subscribed = True

    def on_update(self, status: dict) -> None:
        self.updates.append(status)

    def on_status_update(self, status: dict) -> None:
        self.status_updates.append(status)

    def on_notification(self, notification: dict) -> None:
        self.notifications.append(notification)


def wait_subscribed(*listeners: Listener) -> None:
    wait_for(lambda: all(listener.subscribed for listener in listeners), what="the streams to be subscribed")
