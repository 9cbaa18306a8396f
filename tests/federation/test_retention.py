"""Finished delivery rows do not pile up: past federation.delivery_retention_days, delivered and failed
deliveries go, and the sent activities no delivery names any more, by `vitascope admin prune` and by the
node's own sweep on start; pending deliveries, recent rows and sent Follows stay (docs/admin.md, "Retention")."""

from __future__ import annotations

from tests.federation.test_delivery_outcomes import ANSWERS, FOLLOWERS, MixedInboxes
from tests.federation.test_two_nodes import marker
from tests.support.peers import followed_by_inboxes
from tests.support.waiting import wait_for

LONG_AGO = "2000-01-01 00:00:00+00:00"
DELIVERED = sum(1 for answer in ANSWERS.values() if answer == 202)
PENDING = sum(1 for answer in ANSWERS.values() if answer == 503)


def sql(live, statement: str, params: tuple = ()) -> list[tuple]:
    """Run one statement on the node's database (SQLite or PostgreSQL), committed."""
    if live.database_url:
        import psycopg

        with psycopg.connect(live.database_url.replace("postgres://", "postgresql://", 1)) as db:
            cursor = db.execute(statement.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []
    import sqlite3

    db = sqlite3.connect(live.data_dir / "vitascope.sqlite3", timeout=30)
    try:
        with db:
            return db.execute(statement, params).fetchall()
    finally:
        db.close()


def backdate(live) -> None:
    """Every delivery and sent activity so far made long ago, past any retention."""
    for table in ("deliveries", "outbox_activities"):
        sql(live, f"UPDATE {table} SET created_at = ?", (LONG_AGO,))


def create_states(live, text: str) -> dict[str, int]:
    """How many of the Create deliveries of the post ``text`` are in each state."""
    rows = sql(live, "SELECT d.state FROM deliveries d JOIN outbox_activities a ON a.id = d.activity_id "
                     "WHERE a.type = 'Create' AND a.document::text LIKE ?" if live.database_url else
                     "SELECT d.state FROM deliveries d JOIN outbox_activities a ON a.id = d.activity_id "
                     "WHERE a.type = 'Create' AND a.document LIKE ?", (f"%{text}%",))
    states: dict[str, int] = {}
    for (state,) in rows:
        states[state] = states.get(state, 0) + 1
    return states


def post_and_settle(live, alice, inboxes, text: str) -> None:
    alice.status_post(text)
    wait_for(lambda: create_states(live, text) == {"delivered": DELIVERED, "pending": PENDING,
                                                   "failed": FOLLOWERS - DELIVERED - PENDING},
             what="every outcome of the post written")


def activities(live, kind: str) -> int:
    return sql(live, "SELECT count(*) FROM outbox_activities WHERE type = ?", (kind,))[0][0]


def follow_deliveries(live) -> list[tuple]:
    return sql(live, "SELECT d.state FROM deliveries d JOIN outbox_activities a ON a.id = d.activity_id "
                     "WHERE a.type = 'Follow'")


def test_finished_deliveries_past_the_retention_are_pruned_and_pending_or_recent_ones_stay(nodes):
    inboxes = MixedInboxes()
    inboxes.start()
    try:
        live = nodes("retention", overrides={"federation": {"delivery_retention_days": 7}})
        alice = followed_by_inboxes(live, inboxes, FOLLOWERS)  # our Accepts: delivered activities too
        wait_for(lambda: activities(live, "Accept") == FOLLOWERS and not sql(
            live, "SELECT 1 FROM deliveries WHERE state = 'pending'"), what="the Accepts delivered")
        old, recent = marker("old post"), marker("recent post")
        post_and_settle(live, alice, inboxes, old)
        backdate(live)
        post_and_settle(live, alice, inboxes, recent)

        out = live.cli("admin", "prune").stdout
        assert f"pruned {FOLLOWERS + FOLLOWERS - PENDING} deliveries" in out and f"{FOLLOWERS} sent activities" in out
        # The old post's pending deliveries stay, and so does the activity they send; the recent post's all stay.
        assert create_states(live, old) == {"pending": PENDING}
        assert create_states(live, recent) == {"delivered": DELIVERED, "pending": PENDING,
                                               "failed": FOLLOWERS - DELIVERED - PENDING}
        assert activities(live, "Accept") == 0 and activities(live, "Create") == 2
        assert "pruned 0 deliveries" in live.cli("admin", "prune").stdout

        # A Follow stands for a relationship a peer may still dereference it for: kept, however old.
        f0 = alice.search_v2(inboxes.actor("f0"), resolve=True)["accounts"][0]
        alice.account_follow(f0["id"])
        wait_for(lambda: follow_deliveries(live) == [("delivered",)], what="the Follow delivered")

        # The node's own sweep, run on start, does the same.
        backdate(live)
        live.stop()
        live.start()
        wait_for(lambda: create_states(live, recent) == {"pending": PENDING}, what="the sweep on start")
        assert create_states(live, old) == {"pending": PENDING} and activities(live, "Create") == 2
        wait_for(lambda: follow_deliveries(live) == [], what="the Follow's delivery pruned")
        assert activities(live, "Follow") == 1
    finally:
        inboxes.stop()

