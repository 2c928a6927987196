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
            name='ApiKey',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=200)),
                ('prefix', fields.CharField(description='The first characters of the key, to recognise it in lists', max_length=16)),
                ('key_hash', fields.CharField(unique=True, max_length=64)),
                ('scopes', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('created_by', fields.ForeignKeyField('auth.User', source_field='created_by_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('rate_limit_requests', fields.IntField(null=True)),
                ('rate_limit_window_seconds', fields.IntField(null=True)),
                ('is_active', fields.BooleanField(default=True)),
                ('revoked_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('rotated_from_id', fields.UUIDField(null=True)),
                ('replaced_by_id', fields.UUIDField(null=True)),
            ],
            options={'table': 'keys_api_key', 'app': 'keys', 'pk_attr': 'id', 'table_description': 'An API key of an organization, stored as the SHA-256 of the secret only (never the secret)'},
            bases=['BaseModel', 'TenantMixin'],
        ),
        ops.CreateModel(
            name='ApiKeyUsage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('api_key', fields.ForeignKeyField('keys.ApiKey', source_field='api_key_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
                ('method', fields.CharField(max_length=10)),
                ('route', fields.CharField(max_length=200)),
                ('status', fields.SmallIntField()),
                ('requests', fields.IntField(default=0)),
            ],
            options={'table': 'keys_api_key_usage', 'app': 'keys', 'unique_together': (('api_key', 'day', 'method', 'route', 'status'),), 'pk_attr': 'id', 'table_description': 'Requests of one key per day, route and status, added to in batches by the usage flusher'},
            bases=['Model'],
        ),
    ]
