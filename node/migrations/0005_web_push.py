from tortoise import migrations
from tortoise.migrations import operations as ops
from node.ids import new_id
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

"""Issue 16 (client API, item 5): Web Push subscriptions and their deliveries. Depends on 0003 and 0004
(only for ordering: their tables are not used)."""


class Migration(migrations.Migration):
    dependencies = [('models', '0004_client_api_b')]

    initial = False

    operations = [
        ops.CreateModel(
            name='WebPushSubscription',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='push_subscriptions', on_delete=OnDelete.CASCADE)),
                ('token', fields.OneToOneField('models.OAuthToken', source_field='token_id', db_constraint=True, to_field='id', related_name='push_subscription', on_delete=OnDelete.CASCADE)),
                ('endpoint', fields.CharField(max_length=2048)),
                ('key_p256dh', fields.CharField(max_length=255)),
                ('key_auth', fields.CharField(max_length=255)),
                ('standard', fields.BooleanField(default=False)),
                ('alerts', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('policy', fields.CharField(default='all', max_length=16)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'web_push_subscriptions', 'app': 'models', 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='PushDelivery',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('subscription', fields.ForeignKeyField('models.WebPushSubscription', source_field='subscription_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('notification', fields.ForeignKeyField('models.Notification', source_field='notification_id', db_constraint=True, to_field='id', related_name='push_deliveries', on_delete=OnDelete.CASCADE)),
                ('state', fields.CharField(db_index=True, default='pending', max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_status', fields.IntField(null=True)),
                ('last_error', fields.TextField(null=True)),
            ],
            options={'table': 'push_deliveries', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One notification to one subscription, with its retry state (as `Delivery` for federation).'},
            bases=['SnowflakeModel'],
        ),
    ]
