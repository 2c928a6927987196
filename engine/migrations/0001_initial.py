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
            name='WorkflowTemplate',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', null=True, db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=200)),
                ('description', fields.TextField(default='', unique=False)),
                ('workflow', fields.CharField(db_index=True, description='Name of the package workflow it runs', max_length=200)),
                ('version', fields.CharField(default='', max_length=50)),
                ('source', fields.CharField(description='package or organization', max_length=20)),
                ('package_key', fields.CharField(null=True, unique=True, description='The workflow name of a package template, one row each', max_length=200)),
                ('defaults', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('is_active', fields.BooleanField(default=True)),
            ],
            options={'table': 'workers_template', 'app': 'workers', 'pk_attr': 'id', 'table_description': 'A runnable template: a package workflow, global and read-only and synced at start-up, or an organization template built on one with its own defaults'},
            bases=['BaseModel'],
        ),
        ops.CreateModel(
            name='Job',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('template', fields.ForeignKeyField('workers.WorkflowTemplate', source_field='template_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('template_name', fields.CharField(max_length=200)),
                ('workflow', fields.CharField(max_length=200)),
                ('user_id', fields.UUIDField(null=True)),
                ('status', fields.CharField(default='queued', db_index=True, max_length=20)),
                ('input', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('output', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('error', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('interrupt', fields.JSONField(null=True, description='Pending interrupt values while interrupted', encoder=JSON_DUMPS, decoder=loads)),
                ('resume_value', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('has_resume', fields.BooleanField(default=False)),
                ('attempts', fields.IntField(default=0)),
                ('max_attempts', fields.IntField(default=1)),
                ('timeout_seconds', fields.FloatField(default=300)),
                ('retry_backoff_seconds', fields.FloatField(default=1)),
                ('recursion_limit', fields.IntField(default=50)),
                ('current_node', fields.CharField(null=True, max_length=200)),
                ('idempotency_key', fields.CharField(null=True, db_index=True, max_length=200)),
                ('webhook_url', fields.CharField(null=True, max_length=2000)),
                ('cancel_requested', fields.BooleanField(default=False)),
                ('lease_owner', fields.CharField(null=True, max_length=100)),
                ('lease_expires_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('run_after', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('queued_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('claimed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'workers_job', 'app': 'workers', 'pk_attr': 'id', 'table_description': 'One run of a template, the row is the source of truth, the broker only the transport'},
            bases=['BaseModel', 'TenantMixin'],
        ),
        ops.CreateModel(
            name='JobEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('job', fields.ForeignKeyField('workers.Job', source_field='job_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('type', fields.CharField(max_length=30)),
                ('node', fields.CharField(null=True, max_length=200)),
                ('data', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'workers_job_event', 'app': 'workers', 'pk_attr': 'id', 'table_description': 'What happened in a run, in order, the id is the sequence number and the SSE id'},
            bases=['Model'],
        ),
    ]
