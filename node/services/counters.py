"""The counts statuses and accounts show (status_stats, account_stats): database triggers keep them
as rows come and go (migration 0008); this recomputes them all, for `vitascope admin recount`
(after a restore, a manual edit of the database, or a doubt)."""

from __future__ import annotations

from tortoise.transactions import in_transaction

LIVE = "deleted_at IS NULL"

# (table, column, the count it should hold for the row `t`)
COUNTS = [
    ("account_stats", "followers_count", "SELECT COUNT(*) FROM follows x WHERE x.target_id = t.id"),
    ("account_stats", "following_count", "SELECT COUNT(*) FROM follows x WHERE x.account_id = t.id"),
    ("account_stats", "statuses_count", f"SELECT COUNT(*) FROM statuses x WHERE x.account_id = t.id AND x.{LIVE}"),
    ("status_stats", "replies_count", f"SELECT COUNT(*) FROM statuses x WHERE x.in_reply_to_id = t.id AND x.{LIVE}"),
    ("status_stats", "reblogs_count", f"SELECT COUNT(*) FROM statuses x WHERE x.reblog_of_id = t.id AND x.{LIVE}"),
    ("status_stats", "favourites_count", "SELECT COUNT(*) FROM favourites x WHERE x.status_id = t.id"),
    ("status_stats", "remixes_count", f"SELECT COUNT(*) FROM statuses x WHERE x.remix_of_id = t.id AND x.{LIVE}"),
]

# (stats table, the table its rows belong to, the columns a new row starts with)
TABLES = [
    ("account_stats", "accounts", "followers_count, following_count, statuses_count", "0, 0, 0"),
    ("status_stats", "statuses", "replies_count, reblogs_count, favourites_count, remixes_count", "0, 0, 0, 0"),
]


async def recount() -> dict[str, int]:
    """Set every count to what the rows say; returns how many rows each count had wrong (and, as
    `rows`, how many stats rows were missing or orphaned). One transaction: readers never see half."""
    fixed: dict[str, int] = {"rows": 0}
    async with in_transaction() as conn:
        for stats, table, columns, zeros in TABLES:
            missing = f"FROM {table} o WHERE NOT EXISTS (SELECT 1 FROM {stats} t WHERE t.id = o.id)"
            fixed["rows"] += (await conn.execute_query(f"SELECT COUNT(*) AS n {missing}"))[1][0]["n"]
            await conn.execute_query(f"INSERT INTO {stats} (id, {columns}) SELECT o.id, {zeros} {missing}")
            fixed["rows"] += (await conn.execute_query(
                f"DELETE FROM {stats} WHERE NOT EXISTS (SELECT 1 FROM {table} o WHERE o.id = {stats}.id)"))[0]
        for stats, column, count in COUNTS:
            count = count.replace("t.id", f"{stats}.id")  # SQLite's UPDATE takes no alias
            fixed[column] = (await conn.execute_query(
                f"UPDATE {stats} SET {column} = ({count}) WHERE {column} <> ({count})"))[0]
    return fixed
