from tortoise import migrations
from tortoise.migrations import operations as ops
from node.ids import new_id
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

"""Issue 16 (client API, part A): notification policy and requests, scheduled statuses, dismissed
follow suggestions. Depends only on 0001."""


class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='NotificationPermission',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='notification_permissions', on_delete=OnDelete.CASCADE)),
                ('from_account', fields.ForeignKeyField('models.Account', source_field='from_account_id', db_constraint=True, to_field='id', related_name='granted_notification_permissions', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'notification_permissions', 'app': 'models', 'unique_together': (('account', 'from_account'),), 'pk_attr': 'id', 'table_description': 'A sender whose request the recipient accepted: its notifications are never filtered again.'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='NotificationPolicy',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('account', fields.OneToOneField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='notification_policy', on_delete=OnDelete.CASCADE)),
                ('for_not_following', fields.CharField(default='accept', max_length=8)),
                ('for_not_followers', fields.CharField(default='accept', max_length=8)),
                ('for_new_accounts', fields.CharField(default='accept', max_length=8)),
                ('for_private_mentions', fields.CharField(default='accept', max_length=8)),
                ('for_limited_accounts', fields.CharField(default='filter', max_length=8)),
            ],
            options={'table': 'notification_policies', 'app': 'models', 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='NotificationRequest',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='notification_requests', on_delete=OnDelete.CASCADE)),
                ('from_account', fields.ForeignKeyField('models.Account', source_field='from_account_id', db_constraint=True, to_field='id', related_name='sent_notification_requests', on_delete=OnDelete.CASCADE)),
                ('last_status', fields.ForeignKeyField('models.Status', source_field='last_status_id', null=True, db_constraint=True, to_field='id', related_name='notification_requests', on_delete=OnDelete.SET_NULL)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'notification_requests', 'app': 'models', 'unique_together': (('account', 'from_account'),), 'pk_attr': 'id', 'table_description': 'The filtered notifications one sender caused a recipient, waiting to be accepted or dismissed.'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='ScheduledStatus',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='scheduled_statuses', on_delete=OnDelete.CASCADE)),
                ('scheduled_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('params', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('claimed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'scheduled_statuses', 'app': 'models', 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='SuggestionDismissal',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='suggestion_dismissals', on_delete=OnDelete.CASCADE)),
                ('target', fields.ForeignKeyField('models.Account', source_field='target_id', db_constraint=True, to_field='id', related_name='dismissed_as_suggestion', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'suggestion_dismissals', 'app': 'models', 'unique_together': (('account', 'target'),), 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
        ops.AddField(
            model_name='Notification',
            name='filtered',
            field=fields.BooleanField(default=False),
        ),
    ]
