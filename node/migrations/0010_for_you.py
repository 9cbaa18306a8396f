from tortoise import migrations
from tortoise.migrations import operations as ops
from node.ids import new_id
from tortoise.fields.base import OnDelete
from tortoise import fields

"""Issue 15 (For You ranking): viewer signals, their per-status sums, steering preferences, and the
index of the ranking's video test; the per-status indexes its counts read come with 0009."""


class Migration(migrations.Migration):
    dependencies = [('models', '0009_read_indexes_and_counters')]

    initial = False

    operations = [
        ops.CreateModel(
            name='StatusViewerSignal',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('status', fields.ForeignKeyField('models.Status', source_field='status_id', db_constraint=True, to_field='id', related_name='viewer_signals', on_delete=OnDelete.CASCADE)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='status_signals', on_delete=OnDelete.CASCADE)),
                ('plays', fields.IntField(default=0)),
                ('watched_ms', fields.BigIntField(default=0)),
                ('completed', fields.BooleanField(default=False)),
                ('shared', fields.BooleanField(default=False)),
                ('not_interested', fields.BooleanField(default=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'status_viewer_signals', 'app': 'models', 'unique_together': (('status', 'account'),), 'pk_attr': 'id', 'table_description': "One viewer's history with one status: what the player reported and what the viewer said."},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='StatusEngagement',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('status', fields.OneToOneField('models.Status', source_field='status_id', db_constraint=True, to_field='id', related_name='engagement', on_delete=OnDelete.CASCADE)),
                ('viewers', fields.IntField(default=0)),
                ('completions', fields.IntField(default=0)),
                ('watched_ms', fields.BigIntField(default=0)),
                ('shares', fields.IntField(default=0)),
            ],
            options={'table': 'status_engagement', 'app': 'models', 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='ForYouPreference',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('account', fields.OneToOneField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='for_you_preference', on_delete=OnDelete.CASCADE)),
                ('more', fields.TextField(default='')),
                ('less', fields.TextField(default='')),
                ('personalized', fields.BooleanField(default=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'for_you_preferences', 'app': 'models', 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
        ops.RunSQL([
            "CREATE INDEX IF NOT EXISTS idx_media_status ON media_attachments (status_id, type)",
        ], reverse_sql=[
            "DROP INDEX IF EXISTS idx_media_status",
        ]),
    ]
