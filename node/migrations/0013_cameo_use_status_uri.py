from tortoise import migrations
from tortoise.migrations import operations as ops

"""The owner's ledger found by the Note that posted a remote use (`status_uri`): a remote Delete of
any post looks its uses up there (node.services.cameo_federation.on_status_removed). Partial: a use has
none until its post is known. Depends on 0012_c14_cameo_federation."""


class Migration(migrations.Migration):
    dependencies = [('models', '0012_c14_cameo_federation')]

    initial = False

    operations = [
        ops.RunSQL([
            "CREATE INDEX IF NOT EXISTS idx_cameo_uses_status_uri ON cameo_uses (status_uri) "
            "WHERE status_uri IS NOT NULL",
        ], reverse_sql=[
            "DROP INDEX IF EXISTS idx_cameo_uses_status_uri",
        ]),
    ]
