from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='AuditLog',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('organization_id', fields.UUIDField(null=True, db_index=True)),
                ('actor_id', fields.UUIDField(null=True)),
                ('actor_kind', fields.CharField(default='system', max_length=20)),
                ('action', fields.CharField(db_index=True, max_length=100)),
                ('target_type', fields.CharField(null=True, max_length=50)),
                ('target_id', fields.CharField(null=True, max_length=100)),
                ('ip', fields.CharField(null=True, max_length=64)),
                ('user_agent', fields.CharField(null=True, max_length=300)),
                ('data', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={'table': 'core_audit_log', 'app': 'core', 'pk_attr': 'id', 'table_description': 'Append-only record of security-relevant actions, written through ``core.audit``.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Organization',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('name', fields.CharField(max_length=200)),
                ('slug', fields.CharField(unique=True, max_length=100)),
                ('plan', fields.CharField(default='free', max_length=50)),
                ('limits', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('settings', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('is_active', fields.BooleanField(default=True)),
            ],
            options={'table': 'core_organization', 'app': 'core', 'pk_attr': 'id'},
            bases=['BaseModel'],
        ),
    ]
