from tortoise import migrations
from tortoise.migrations import operations as ops
from node.ids import new_id
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

"""Issue 14 (cameos, node side): challenges, cameos and the ledger of their uses. Depends on
0007_parental_controls (only for ordering)."""


class Migration(migrations.Migration):
    dependencies = [('models', '0007_parental_controls')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CameoChallenge',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='cameo_challenges', on_delete=OnDelete.CASCADE)),
                ('phrase', fields.CharField(max_length=255)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'cameo_challenges', 'app': 'models', 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='Cameo',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='cameos', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=16)),
                ('name', fields.CharField(max_length=100)),
                ('handle', fields.CharField(max_length=30, unique=True)),
                ('state', fields.CharField(default='pending', max_length=16, db_index=True)),
                ('review_reason', fields.TextField(null=True)),
                ('evidence', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('challenge_phrase', fields.CharField(max_length=255, null=True)),
                ('challenge_issued_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('capture_path', fields.CharField(max_length=1024)),
                ('reference_path', fields.CharField(max_length=1024, null=True)),
                ('likeness_digest', fields.CharField(max_length=128, null=True)),
                ('policy', fields.CharField(default='only_me', max_length=16)),
                ('allow', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('deny', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('restrictions', fields.TextField(default='')),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_all_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'cameos', 'app': 'models', 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='CameoUse',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('cameo', fields.ForeignKeyField('models.Cameo', source_field='cameo_id', db_constraint=True, to_field='id', related_name='uses', on_delete=OnDelete.CASCADE)),
                ('creator', fields.ForeignKeyField('models.Account', source_field='creator_id', db_constraint=True, to_field='id', related_name='cameo_uses', on_delete=OnDelete.CASCADE)),
                ('job_id', fields.BigIntField(db_index=True)),
                ('prompt', fields.TextField()),
                ('state', fields.CharField(default='pending', max_length=16, db_index=True)),
                ('grant', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'cameo_uses', 'app': 'models', 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
    ]
