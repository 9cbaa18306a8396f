"""What explore and profile screens show beyond accounts and statuses: trending hashtags, follow
suggestions and oEmbed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from node.context import Node
from node.models import Account, Status
from node.serializers.accounts import accounts_many


def trending_tag_json(node: Node, name: str, today: datetime, uses: dict[int, set], accounts: dict[int, set]
                      ) -> dict[str, Any]:
    """Mastodon's Tag with its 7-day history; ``uses`` and ``accounts``: by days before ``today``,
    the posts that used the tag and their authors."""
    return {"name": name, "url": node.urls.tag(name),
            "history": [{"day": str(int((today - timedelta(days=d)).timestamp())), "uses": str(len(uses[d])),
                         "accounts": str(len(accounts[d]))} for d in range(7)]}


async def suggestions_json(node: Node, picks: list[tuple[Account, str]]) -> list[dict[str, Any]]:
    """Mastodon's Suggestion entities; ``picks``: each account with why (`friends_of_friends`,
    `most_followed`)."""
    rendered = await accounts_many(node, [a for a, _ in picks])
    return [{"source": "past_interactions" if source == "friends_of_friends" else "global",
             "sources": [source], "account": account}
            for (_a, source), account in zip(picks, rendered)]


def oembed_json(node: Node, status: Status, frame: str, width: int, height: int | None) -> dict[str, Any]:
    """oEmbed's `rich` answer for a local post (`account` loaded); ``frame``: its iframe."""
    account = status.account
    return {
        "type": "rich", "version": "1.0", "title": f"New post by {account.display_name or account.username}",
        "author_name": account.display_name or account.username, "author_url": account.url or account.uri,
        "provider_name": node.config.domain, "provider_url": node.urls.base + "/", "cache_age": 86400,
        "html": frame, "width": width, "height": height}
