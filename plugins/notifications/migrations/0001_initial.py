from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('auth', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('auth.User', source_field='user_id', null=True, db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('to', fields.CharField(null=True, description='Address, number or URL when not (only) a user', max_length=1000)),
                ('channel', fields.CharField(db_index=True, max_length=50)),
                ('category', fields.CharField(default='general', max_length=50)),
                ('event', fields.CharField(null=True, description='The domain event that caused it, if any', max_length=100)),
                ('template_id', fields.UUIDField(null=True)),
                ('template_name', fields.CharField(null=True, max_length=100)),
                ('locale', fields.CharField(default='en', max_length=20)),
                ('subject', fields.TextField(null=True, unique=False)),
                ('body', fields.TextField(null=True, unique=False)),
                ('html', fields.TextField(null=True, unique=False)),
                ('data', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('rendered', fields.BooleanField(default=False)),
                ('status', fields.CharField(default='queued', db_index=True, max_length=20)),
                ('attempts', fields.IntField(default=0)),
                ('error', fields.TextField(null=True, unique=False)),
                ('idempotency_key', fields.CharField(null=True, max_length=200)),
                ('created_by_id', fields.UUIDField(null=True)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notifications_notification', 'app': 'notifications', 'unique_together': (('organization', 'idempotency_key'),), 'pk_attr': 'id', 'table_description': 'One message to one recipient on one channel, and the state of its delivery.'},
            bases=['BaseModel', 'TenantMixin'],
        ),
        ops.CreateModel(
            name='NotificationPreference',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('auth.User', source_field='user_id', unique=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('opt_outs', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={'table': 'notifications_preference', 'app': 'notifications', 'pk_attr': 'id', 'table_description': 'The opt-outs of a user, a list of category and channel pairs (* matches any)'},
            bases=['BaseModel', 'TenantMixin'],
        ),
        ops.CreateModel(
            name='NotificationTemplate',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', null=True, db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('owner_key', fields.CharField(description='The organization id, or global (uniqueness with NULL organizations)', max_length=40)),
                ('name', fields.CharField(max_length=100)),
                ('channel', fields.CharField(max_length=50)),
                ('locale', fields.CharField(default='en', max_length=20)),
                ('subject', fields.TextField(null=True, unique=False)),
                ('body', fields.TextField(unique=False)),
                ('html', fields.TextField(null=True, description='HTML body of an email (autoescaped), default the text body as HTML', unique=False)),
            ],
            options={'table': 'notifications_template', 'app': 'notifications', 'unique_together': (('owner_key', 'name', 'channel', 'locale'),), 'pk_attr': 'id', 'table_description': 'A Jinja2 template of one channel, of an organization or (organization NULL) a global default'},
            bases=['BaseModel'],
        ),
    ]
