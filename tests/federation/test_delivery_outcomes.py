"""What one fan-out leaves in its delivery rows when its peers answer differently: the outcomes of the
jobs that ran together are committed together, each row with its own (delivered; pending with its
retry time and a deferred job; failed for good), and a job counts as done only once its row says so."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import redis
from aiohttp import web

from node import redis_keys
from tests.federation.test_delivery_recovery import FOLLOWERS
from tests.support.peers import Inboxes, followed_by_inboxes
from tests.federation.test_two_nodes import marker
from tests.support.waiting import wait_for

# Followers f0…f19 by what their inbox answers a Create.
ANSWERS = {**{n: 202 for n in range(0, 10)}, **{n: 503 for n in range(10, 15)}, **{n: 410 for n in range(15, 20)}}


class MixedInboxes(Inboxes):
    async def _post(self, request: web.Request) -> web.Response:
        document = json.loads(await request.read())
        if document.get("type") != "Create":
            return await super()._post(request)
        self.posts_received += 1
        return web.Response(status=ANSWERS[int(request.path.split("/")[2][1:])])


def delivery_rows(live) -> dict[str, dict]:
    """The node's Create deliveries by inbox path, read from its database."""
    sql = ("SELECT d.id, d.inbox, d.state, d.attempts, d.last_status, d.first_attempt_at, d.next_attempt_at, "
           "d.delivered_at FROM deliveries d JOIN outbox_activities a ON a.id = d.activity_id WHERE a.type = 'Create'")
    if live.database_url:
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(live.database_url.replace("postgres://", "postgresql://", 1), row_factory=dict_row) as db:
            rows = db.execute(sql).fetchall()
    else:
        import sqlite3

        db = sqlite3.connect(f"file:{live.data_dir / 'vitascope.sqlite3'}?mode=ro", uri=True)
        db.row_factory = sqlite3.Row
        try:
            rows = [dict(r) for r in db.execute(sql)]
        finally:
            db.close()
    for row in rows:
        for key in ("first_attempt_at", "next_attempt_at", "delivered_at"):
            if isinstance(row[key], str):
                row[key] = datetime.fromisoformat(row[key])
    return {row["inbox"].split("/", 3)[3]: row for row in rows}


def test_one_fan_out_with_mixed_answers_leaves_each_row_its_outcome(nodes):
    inboxes = MixedInboxes()
    inboxes.start()
    try:
        live = nodes("mixed-answers")
        alice = followed_by_inboxes(live, inboxes, FOLLOWERS)
        alice.status_post(marker("to peers answering 202, 503 and 410"))
        wait_for(lambda: inboxes.posts_received >= FOLLOWERS, what="a Create to every follower")

        def settled():
            rows = delivery_rows(live)
            return rows if len(rows) == FOLLOWERS and all(r["state"] != "pending" or r["next_attempt_at"]
                                                          for r in rows.values()) else None

        rows = wait_for(settled, what="every outcome written")
        queue = redis.Redis.from_url(live.redis_url)
        for n, answer in ANSWERS.items():
            row = rows[f"users/f{n}/inbox"]
            assert row["attempts"] == 1 and row["last_status"] == answer, row
            if answer == 202:
                assert row["state"] == "delivered" and row["delivered_at"] is not None, row
            elif answer == 503:
                # Pending, due again in about 30 s (±10 %), its next job queued for then.
                wait = row["next_attempt_at"] - row["first_attempt_at"]
                assert row["state"] == "pending" and timedelta(seconds=26) < wait < timedelta(seconds=34), row
                score = queue.zscore(redis_keys.DELIVERY_QUEUE, f"deliver:{row['id']}:1")
                assert score is not None and abs(score / 1000 - row["next_attempt_at"].timestamp()) < 1, (row, score)
            else:
                # A 410 to the RFC 9421 request, and to the cavage one sent at once after it: failed for good.
                assert row["state"] == "failed" and row["next_attempt_at"] is None, row
    finally:
        inboxes.stop()
