from tortoise import migrations
from tortoise.migrations import operations as ops

"""Retention (node.services.retention) finds the finished deliveries and Web Push deliveries past
the retention by state and age: `(state, created_at)`, so each batch of a prune reads the rows it
deletes instead of every row of that state. Depends on 0013_cameo_use_status_uri."""


class Migration(migrations.Migration):
    dependencies = [('models', '0013_cameo_use_status_uri')]

    initial = False

    operations = [
        ops.RunSQL([
            "CREATE INDEX IF NOT EXISTS idx_deliveries_state_created_at ON deliveries (state, created_at)",
            "CREATE INDEX IF NOT EXISTS idx_push_deliveries_state_created_at ON push_deliveries (state, created_at)",
        ], reverse_sql=[
            "DROP INDEX IF EXISTS idx_deliveries_state_created_at",
            "DROP INDEX IF EXISTS idx_push_deliveries_state_created_at",
        ]),
    ]
