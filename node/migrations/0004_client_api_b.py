"""Lists, filters v2 and direct conversations (issue 16, client API part B)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from node.ids import new_id
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0003_client_api_a')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Conversation',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='conversations', on_delete=OnDelete.CASCADE)),
                ('root_id', fields.BigIntField()),
                ('participant_ids', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('participants_key', fields.CharField(max_length=2048)),
                ('status_ids', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('last_status', fields.ForeignKeyField('models.Status', source_field='last_status_id', null=True, db_constraint=True, to_field='id', related_name='conversation_rows', on_delete=OnDelete.SET_NULL)),
                ('unread', fields.BooleanField(default=False)),
            ],
            options={'table': 'conversations', 'app': 'models', 'indexes': [Index(fields=['account_id', 'root_id'])], 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='Filter',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='filters', on_delete=OnDelete.CASCADE)),
                ('title', fields.CharField(max_length=255)),
                ('context', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('action', fields.CharField(default='warn', max_length=8)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'custom_filters', 'app': 'models', 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='FilterKeyword',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('custom_filter', fields.ForeignKeyField('models.Filter', source_field='custom_filter_id', db_constraint=True, to_field='id', related_name='keywords', on_delete=OnDelete.CASCADE)),
                ('keyword', fields.CharField(max_length=512)),
                ('whole_word', fields.BooleanField(default=True)),
            ],
            options={'table': 'custom_filter_keywords', 'app': 'models', 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='FilterStatus',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('custom_filter', fields.ForeignKeyField('models.Filter', source_field='custom_filter_id', db_constraint=True, to_field='id', related_name='statuses', on_delete=OnDelete.CASCADE)),
                ('status', fields.ForeignKeyField('models.Status', source_field='status_id', db_constraint=True, to_field='id', related_name='filtered_by', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'custom_filter_statuses', 'app': 'models', 'unique_together': (('custom_filter', 'status'),), 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='UserList',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='lists', on_delete=OnDelete.CASCADE)),
                ('title', fields.CharField(max_length=255)),
                ('replies_policy', fields.CharField(default='list', max_length=16)),
                ('exclusive', fields.BooleanField(default=False)),
            ],
            options={'table': 'lists', 'app': 'models', 'pk_attr': 'id', 'table_description': "`exclusive`: the members' posts show in this list only, not in the owner's home timeline."},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='ListAccount',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('list', fields.ForeignKeyField('models.UserList', source_field='list_id', db_constraint=True, to_field='id', related_name='list_accounts', on_delete=OnDelete.CASCADE)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='in_lists', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'list_accounts', 'app': 'models', 'unique_together': (('list', 'account'),), 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
    ]
