from tortoise import migrations
from tortoise.migrations import operations as ops
from node.ids import new_id
from tortoise.fields.base import OnDelete
from tortoise import fields

"""Issue 15 (item 5): parental controls, guardian link requests and the feed videos a teen was served
today. Depends on the latest migration in main (0005), only for ordering."""


class Migration(migrations.Migration):
    dependencies = [('models', '0006_h11_media_paths')]

    initial = False

    operations = [
        ops.CreateModel(
            name='FeedView',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='feed_views', on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
                ('status_id', fields.BigIntField()),
            ],
            options={'table': 'feed_views', 'app': 'models', 'unique_together': (('account', 'day', 'status_id'),), 'pk_attr': 'id', 'table_description': "One video status served in the feed of a teen on one (local) day: what the daily limit counts."},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='GuardianRequest',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('guardian', fields.ForeignKeyField('models.Account', source_field='guardian_id', db_constraint=True, to_field='id', related_name='guardian_requests_made', on_delete=OnDelete.CASCADE)),
                ('teen', fields.ForeignKeyField('models.Account', source_field='teen_id', db_constraint=True, to_field='id', related_name='guardian_requests_received', on_delete=OnDelete.CASCADE)),
                ('by_guardian', fields.BooleanField()),
            ],
            options={'table': 'guardian_requests', 'app': 'models', 'unique_together': (('guardian', 'teen'),), 'pk_attr': 'id', 'table_description': 'A pending link: asked by one side (``by_guardian``), to be accepted or declined by the other.'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='ParentalControls',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('account', fields.OneToOneField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='parental_controls', on_delete=OnDelete.CASCADE)),
                ('guardian', fields.ForeignKeyField('models.Account', source_field='guardian_id', null=True, db_constraint=True, to_field='id', related_name='wards', on_delete=OnDelete.SET_NULL)),
                ('adult_on', fields.DateField(null=True)),
                ('personalisation', fields.BooleanField(default=False)),
                ('daily_feed_videos', fields.IntField(null=True)),
                ('direct_messages', fields.CharField(default='mutuals', max_length=16)),
                ('cameo', fields.CharField(default='nobody', max_length=16)),
                ('generations_per_day', fields.IntField(null=True)),
                ('timezone', fields.CharField(default='UTC', max_length=64)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'parental_controls', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The row makes the account a teen account, and its guardian (a local adult) alone may loosen it.'},
            bases=['SnowflakeModel'],
        ),
    ]
