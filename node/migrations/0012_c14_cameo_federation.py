from tortoise import migrations
from tortoise.migrations import operations as ops
from node.ids import new_id
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

"""Issue 14, cameos between nodes: the owner's ledger learns remote uses (the request answered, the
post bound, what the renderer reported) and the renderer keeps the requests it sent
(cameo_requests_out), and every node the grants its stored posts depend on (cameo_grant_checks).
Depends on 0011_cameo_grant_tombstones."""


class Migration(migrations.Migration):
    dependencies = [('models', '0011_cameo_grant_tombstones')]

    initial = False

    operations = [
        ops.AddField(model_name='CameoUse', name='post_uri', field=fields.CharField(max_length=2048, null=True)),
        ops.AddField(model_name='CameoUse', name='request_uri', field=fields.CharField(max_length=2048, null=True)),
        ops.AddField(model_name='CameoUse', name='remote_state', field=fields.CharField(max_length=16, null=True)),
        ops.AddField(model_name='CameoUse', name='status_uri', field=fields.CharField(max_length=2048, null=True)),
        ops.CreateModel(
            name='CameoRequestOut',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('job_id', fields.BigIntField(db_index=True)),
                ('creator', fields.ForeignKeyField('models.Account', source_field='creator_id', db_constraint=True, to_field='id', related_name='cameo_requests_out', on_delete=OnDelete.CASCADE)),
                ('cameo_uri', fields.CharField(max_length=2048)),
                ('owner_uri', fields.CharField(max_length=2048)),
                ('request_uri', fields.CharField(max_length=2048, unique=True)),
                ('post_uri', fields.CharField(max_length=2048)),
                ('prompt', fields.TextField()),
                ('state', fields.CharField(default='pending', max_length=16, db_index=True)),
                ('reason', fields.TextField(null=True)),
                ('grant_uri', fields.CharField(max_length=2048, null=True, db_index=True)),
                ('grant', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('owner_key', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'cameo_requests_out', 'app': 'models', 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='CameoGrantCheck',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('status', fields.ForeignKeyField('models.Status', source_field='status_id', db_constraint=True, to_field='id', related_name='cameo_grant_checks', on_delete=OnDelete.CASCADE)),
                ('grant_uri', fields.CharField(max_length=2048, db_index=True)),
                ('owner_uri', fields.CharField(max_length=2048)),
                ('recheck_at', fields.DatetimeField(auto_now=False, auto_now_add=False, db_index=True)),
            ],
            options={'table': 'cameo_grant_checks', 'app': 'models', 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
    ]
