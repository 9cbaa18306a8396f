from tortoise import migrations
from tortoise.migrations import operations as ops
from node.ids import new_id
from tortoise import fields

"""Issue 14 fix: tombstones of the grants of deleted cameos (410 at their URL). Depends on 0009_read_indexes_and_counters (ordering only)."""


class Migration(migrations.Migration):
    dependencies = [('models', '0010_for_you')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CameoGrantTombstone',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'cameo_grant_tombstones', 'app': 'models', 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
    ]
