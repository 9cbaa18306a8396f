"""Reads that cost what the page costs (issue 12).

1. An index for every foreign key and filter the read paths use (Tortoise indexes no foreign key by
   itself; those leading a unique-together already have one). The public timelines get partial
   indexes holding only what they list.
2. status_stats and account_stats, the counts a page shows, kept by triggers: every insert, delete
   and relevant update of statuses, favourites and follows adds or subtracts one in the same
   transaction (`n = n + 1`: concurrent writers never lose a count), whichever code or cascade
   made it. The tables start from a full recount.

The SQL is plain enough for SQLite and PostgreSQL alike but for the trigger wrapping and how each
spells a boolean. Frozen here: later changes go in later migrations.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

INDEXES = [
    # statuses: account pages and home (account_id, id); threads; reblogs, "did I reblog", remixes.
    "CREATE INDEX IF NOT EXISTS idx_statuses_account_id_id ON statuses (account_id, id)",
    "CREATE INDEX IF NOT EXISTS idx_statuses_in_reply_to_id ON statuses (in_reply_to_id) WHERE in_reply_to_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS idx_statuses_reblog_of_id_account_id ON statuses (reblog_of_id, account_id) "
    "WHERE reblog_of_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS idx_statuses_remix_of_id ON statuses (remix_of_id) WHERE remix_of_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS idx_statuses_in_reply_to_account_id ON statuses (in_reply_to_account_id) "
    "WHERE in_reply_to_account_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS idx_mentions_account_id_status_id ON mentions (account_id, status_id)",
    "CREATE INDEX IF NOT EXISTS idx_status_tags_tag_id_status_id ON status_tags (tag_id, status_id)",
    "CREATE INDEX IF NOT EXISTS idx_status_edits_status_id ON status_edits (status_id)",
    "CREATE INDEX IF NOT EXISTS idx_status_edits_account_id ON status_edits (account_id)",
    "CREATE INDEX IF NOT EXISTS idx_media_attachments_status_id ON media_attachments (status_id)",
    "CREATE INDEX IF NOT EXISTS idx_media_attachments_account_id ON media_attachments (account_id)",
    "CREATE INDEX IF NOT EXISTS idx_idempotency_keys_status_id ON idempotency_keys (status_id)",
    # favourites and bookmarks: a status's likers; a user's list, newest first.
    "CREATE INDEX IF NOT EXISTS idx_favourites_status_id ON favourites (status_id)",
    "CREATE INDEX IF NOT EXISTS idx_favourites_account_id_id ON favourites (account_id, id)",
    "CREATE INDEX IF NOT EXISTS idx_bookmarks_status_id ON bookmarks (status_id)",
    "CREATE INDEX IF NOT EXISTS idx_bookmarks_account_id_id ON bookmarks (account_id, id)",
    # relations seen from their target.
    "CREATE INDEX IF NOT EXISTS idx_follows_target_id ON follows (target_id)",
    "CREATE INDEX IF NOT EXISTS idx_follow_requests_target_id ON follow_requests (target_id)",
    "CREATE INDEX IF NOT EXISTS idx_blocks_target_id ON blocks (target_id)",
    "CREATE INDEX IF NOT EXISTS idx_mutes_target_id ON mutes (target_id)",
    "CREATE INDEX IF NOT EXISTS idx_accounts_moved_to_id ON accounts (moved_to_id) WHERE moved_to_id IS NOT NULL",
    # notifications: a user's list, newest first; cleared with their status or sender.
    "CREATE INDEX IF NOT EXISTS idx_notifications_account_id_id ON notifications (account_id, id)",
    "CREATE INDEX IF NOT EXISTS idx_notifications_status_id ON notifications (status_id)",
    "CREATE INDEX IF NOT EXISTS idx_notifications_from_account_id ON notifications (from_account_id)",
    "CREATE INDEX IF NOT EXISTS idx_notifications_account_warning_id ON notifications (account_warning_id)",
    # the remaining foreign keys (deletes cascade through them).
    "CREATE INDEX IF NOT EXISTS idx_account_warnings_account_id ON account_warnings (account_id)",
    "CREATE INDEX IF NOT EXISTS idx_account_warnings_report_id ON account_warnings (report_id)",
    "CREATE INDEX IF NOT EXISTS idx_account_warnings_target_account_id ON account_warnings (target_account_id)",
    "CREATE INDEX IF NOT EXISTS idx_copyright_opt_outs_created_by_id ON copyright_opt_outs (created_by_id)",
    "CREATE INDEX IF NOT EXISTS idx_deliveries_activity_id ON deliveries (activity_id)",
    "CREATE INDEX IF NOT EXISTS idx_generation_jobs_account_id ON generation_jobs (account_id)",
    "CREATE INDEX IF NOT EXISTS idx_generation_jobs_remix_of_id ON generation_jobs (remix_of_id)",
    "CREATE INDEX IF NOT EXISTS idx_generation_jobs_media_id ON generation_jobs (media_id)",
    "CREATE INDEX IF NOT EXISTS idx_oauth_codes_application_id ON oauth_codes (application_id)",
    "CREATE INDEX IF NOT EXISTS idx_oauth_codes_user_id ON oauth_codes (user_id)",
    "CREATE INDEX IF NOT EXISTS idx_oauth_tokens_application_id ON oauth_tokens (application_id)",
    "CREATE INDEX IF NOT EXISTS idx_oauth_tokens_user_id ON oauth_tokens (user_id)",
    "CREATE INDEX IF NOT EXISTS idx_outbox_activities_account_id ON outbox_activities (account_id)",
    "CREATE INDEX IF NOT EXISTS idx_prompt_refusals_account_id ON prompt_refusals (account_id)",
    "CREATE INDEX IF NOT EXISTS idx_reports_account_id ON reports (account_id)",
    "CREATE INDEX IF NOT EXISTS idx_reports_action_taken_by_account_id ON reports (action_taken_by_account_id)",
    "CREATE INDEX IF NOT EXISTS idx_reports_assigned_account_id ON reports (assigned_account_id)",
    "CREATE INDEX IF NOT EXISTS idx_reports_target_account_id ON reports (target_account_id)",
    # lists, filters, conversations, notification requests, scheduled posts, Web Push, parental controls
    # (0003 to 0007);
    # conversations (account_id, root_id) is indexed already.
    "CREATE INDEX IF NOT EXISTS idx_conversations_last_status_id ON conversations (last_status_id)",
    "CREATE INDEX IF NOT EXISTS idx_custom_filters_account_id ON custom_filters (account_id)",
    "CREATE INDEX IF NOT EXISTS idx_custom_filter_keywords_custom_filter_id ON custom_filter_keywords (custom_filter_id)",
    "CREATE INDEX IF NOT EXISTS idx_custom_filter_statuses_status_id ON custom_filter_statuses (status_id)",
    "CREATE INDEX IF NOT EXISTS idx_list_accounts_account_id ON list_accounts (account_id)",
    "CREATE INDEX IF NOT EXISTS idx_lists_account_id ON lists (account_id)",
    "CREATE INDEX IF NOT EXISTS idx_notification_permissions_from_account_id ON notification_permissions (from_account_id)",
    "CREATE INDEX IF NOT EXISTS idx_notification_requests_from_account_id ON notification_requests (from_account_id)",
    "CREATE INDEX IF NOT EXISTS idx_notification_requests_last_status_id ON notification_requests (last_status_id)",
    "CREATE INDEX IF NOT EXISTS idx_push_deliveries_subscription_id ON push_deliveries (subscription_id)",
    "CREATE INDEX IF NOT EXISTS idx_push_deliveries_notification_id ON push_deliveries (notification_id)",
    "CREATE INDEX IF NOT EXISTS idx_scheduled_statuses_account_id ON scheduled_statuses (account_id)",
    "CREATE INDEX IF NOT EXISTS idx_suggestion_dismissals_target_id ON suggestion_dismissals (target_id)",
    "CREATE INDEX IF NOT EXISTS idx_web_push_subscriptions_user_id ON web_push_subscriptions (user_id)",
    "CREATE INDEX IF NOT EXISTS idx_guardian_requests_teen_id ON guardian_requests (teen_id)",
    "CREATE INDEX IF NOT EXISTS idx_parental_controls_guardian_id ON parental_controls (guardian_id)",
]

# The public timelines: only what they list, in id order. {true} is the dialect's boolean literal,
# spelled as the ORM's queries spell it, so SQLite matches the partial index.
PUBLIC_INDEXES = [
    "CREATE INDEX IF NOT EXISTS idx_statuses_public_id ON statuses (id) "
    "WHERE visibility = 'public' AND reblog_of_id IS NULL AND deleted_at IS NULL",
    "CREATE INDEX IF NOT EXISTS idx_statuses_public_local_id ON statuses (id) "
    "WHERE local = {true} AND visibility = 'public' AND reblog_of_id IS NULL AND deleted_at IS NULL",
]


def _status_counts(row: str, sign: str) -> list[str]:
    """What one status row adds to the counts while it is not deleted."""
    live = f"{row}.deleted_at IS NULL"
    return [
        f"UPDATE account_stats SET statuses_count = statuses_count {sign} 1 WHERE id = {row}.account_id AND {live}",
        f"UPDATE status_stats SET replies_count = replies_count {sign} 1 WHERE id = {row}.in_reply_to_id AND {live}",
        f"UPDATE status_stats SET reblogs_count = reblogs_count {sign} 1 WHERE id = {row}.reblog_of_id AND {live}",
        f"UPDATE status_stats SET remixes_count = remixes_count {sign} 1 WHERE id = {row}.remix_of_id AND {live}",
    ]


def _follow_counts(row: str, sign: str) -> list[str]:
    return [
        f"UPDATE account_stats SET following_count = following_count {sign} 1 WHERE id = {row}.account_id",
        f"UPDATE account_stats SET followers_count = followers_count {sign} 1 WHERE id = {row}.target_id",
    ]


def _changed(columns: list[str], ne: str) -> str:
    return " OR ".join(f"OLD.{c} {ne} NEW.{c}" for c in columns)


def _triggers(ne: str) -> list[tuple[str, str, str, str | None, list[str]]]:
    """(name, event, table, WHEN condition, statements); `ne` is the dialect's null-safe ≠."""
    status_columns = ["account_id", "in_reply_to_id", "reblog_of_id", "remix_of_id"]
    return [
        ("account_stats_insert", "INSERT", "accounts", None,
         ["INSERT INTO account_stats (id, followers_count, following_count, statuses_count) VALUES (NEW.id, 0, 0, 0)"]),
        ("account_stats_delete", "DELETE", "accounts", None, ["DELETE FROM account_stats WHERE id = OLD.id"]),
        ("status_stats_insert", "INSERT", "statuses", None,
         ["INSERT INTO status_stats (id, replies_count, reblogs_count, favourites_count, remixes_count) "
          "VALUES (NEW.id, 0, 0, 0, 0)"] + _status_counts("NEW", "+")),
        ("status_stats_update", "UPDATE", "statuses",
         f"(OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL) OR {_changed(status_columns, ne)}",
         _status_counts("OLD", "-") + _status_counts("NEW", "+")),
        ("status_stats_delete", "DELETE", "statuses", None,
         _status_counts("OLD", "-") + ["DELETE FROM status_stats WHERE id = OLD.id"]),
        ("favourite_stats_insert", "INSERT", "favourites", None,
         ["UPDATE status_stats SET favourites_count = favourites_count + 1 WHERE id = NEW.status_id"]),
        ("favourite_stats_delete", "DELETE", "favourites", None,
         ["UPDATE status_stats SET favourites_count = favourites_count - 1 WHERE id = OLD.status_id"]),
        ("favourite_stats_update", "UPDATE", "favourites", _changed(["status_id"], ne),
         ["UPDATE status_stats SET favourites_count = favourites_count - 1 WHERE id = OLD.status_id",
          "UPDATE status_stats SET favourites_count = favourites_count + 1 WHERE id = NEW.status_id"]),
        ("follow_stats_insert", "INSERT", "follows", None, _follow_counts("NEW", "+")),
        ("follow_stats_delete", "DELETE", "follows", None, _follow_counts("OLD", "-")),
        ("follow_stats_update", "UPDATE", "follows", _changed(["account_id", "target_id"], ne),
         _follow_counts("OLD", "-") + _follow_counts("NEW", "+")),
    ]


def _trigger_sql(dialect: str) -> str:
    out = []
    if dialect == "sqlite":
        for name, event, table, when, body in _triggers("IS NOT"):
            cond = f" WHEN {when}" if when else ""
            out.append(f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {event} ON {table} FOR EACH ROW{cond} BEGIN\n  "
                       + ";\n  ".join(body) + ";\nEND;")
    else:
        for name, event, table, when, body in _triggers("IS DISTINCT FROM"):
            cond = f" WHEN ({when})" if when else ""
            out.append(f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  "
                       + ";\n  ".join(body) + ";\n  RETURN NULL;\nEND $$;")
            out.append(f"DROP TRIGGER IF EXISTS {name} ON {table};")
            out.append(f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW{cond} EXECUTE FUNCTION {name}();")
    return "\n".join(out)


BACKFILL = [
    "INSERT INTO account_stats (id, followers_count, following_count, statuses_count) "
    "SELECT a.id, (SELECT COUNT(*) FROM follows f WHERE f.target_id = a.id), "
    "(SELECT COUNT(*) FROM follows f WHERE f.account_id = a.id), "
    "(SELECT COUNT(*) FROM statuses s WHERE s.account_id = a.id AND s.deleted_at IS NULL) FROM accounts a",
    "INSERT INTO status_stats (id, replies_count, reblogs_count, favourites_count, remixes_count) "
    "SELECT s.id, (SELECT COUNT(*) FROM statuses r WHERE r.in_reply_to_id = s.id AND r.deleted_at IS NULL), "
    "(SELECT COUNT(*) FROM statuses r WHERE r.reblog_of_id = s.id AND r.deleted_at IS NULL), "
    "(SELECT COUNT(*) FROM favourites f WHERE f.status_id = s.id), "
    "(SELECT COUNT(*) FROM statuses r WHERE r.remix_of_id = s.id AND r.deleted_at IS NULL) FROM statuses s",
]


async def _apply(apps, schema_editor) -> None:
    dialect = schema_editor.DIALECT
    true = "1" if dialect == "sqlite" else "true"
    public = [sql.format(true=true) for sql in PUBLIC_INDEXES]
    script = ";\n".join(INDEXES + public + BACKFILL) + ";\n" + _trigger_sql(dialect)
    await schema_editor.client.execute_script(script)


class Migration(migrations.Migration):
    dependencies = [("models", "0008_cameos")]

    initial = False

    operations = [
        ops.CreateModel(
            name="AccountStats",
            fields=[
                ("id", fields.BigIntField(primary_key=True, unique=True, db_index=True)),
                ("followers_count", fields.BigIntField(default=0)),
                ("following_count", fields.BigIntField(default=0)),
                ("statuses_count", fields.BigIntField(default=0)),
            ],
            options={"table": "account_stats", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="StatusStats",
            fields=[
                ("id", fields.BigIntField(primary_key=True, unique=True, db_index=True)),
                ("replies_count", fields.BigIntField(default=0)),
                ("reblogs_count", fields.BigIntField(default=0)),
                ("favourites_count", fields.BigIntField(default=0)),
                ("remixes_count", fields.BigIntField(default=0)),
            ],
            options={"table": "status_stats", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.RunPython(_apply),
    ]
