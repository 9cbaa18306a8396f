"""Counts shown on statuses and accounts, as Mastodon's status_stats and account_stats.

Kept in their own tables, keyed by the status's or account's id, so that saving a Status or an
Account (whose rows the node rewrites whole) never writes back a stale count. Database triggers
(migration 0008) add and subtract as rows of statuses, favourites and follows come and go, in the
same transaction and as `n = n + 1`, so concurrent writers never lose a count;
`vitascope admin recount` recomputes them all.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class StatusStats(Model):
    id = fields.BigIntField(primary_key=True, generated=False)  # the status's id
    replies_count = fields.BigIntField(default=0)
    reblogs_count = fields.BigIntField(default=0)
    favourites_count = fields.BigIntField(default=0)
    remixes_count = fields.BigIntField(default=0)

    class Meta:
        table = "status_stats"


class AccountStats(Model):
    id = fields.BigIntField(primary_key=True, generated=False)  # the account's id
    followers_count = fields.BigIntField(default=0)
    following_count = fields.BigIntField(default=0)
    statuses_count = fields.BigIntField(default=0)

    class Meta:
        table = "account_stats"
