from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('workers', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Assistant',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('user_id', fields.UUIDField(null=True)),
                ('graph_id', fields.CharField(db_index=True, max_length=200)),
                ('name', fields.CharField(default='', max_length=200)),
                ('description', fields.TextField(null=True, unique=False)),
                ('config', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('context', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('metadata', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('version', fields.IntField(default=1)),
            ],
            options={'table': 'workers_assistant', 'app': 'workers', 'pk_attr': 'id', 'table_description': "An organization's assistant: a graph with its own config, context and metadata, versioned"},
            bases=['BaseModel', 'TenantMixin'],
        ),
        ops.CreateModel(
            name='AssistantVersion',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('assistant', fields.ForeignKeyField('workers.Assistant', source_field='assistant_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('version', fields.IntField()),
                ('graph_id', fields.CharField(max_length=200)),
                ('name', fields.CharField(default='', max_length=200)),
                ('description', fields.TextField(null=True, unique=False)),
                ('config', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('context', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('metadata', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'workers_assistant_version', 'app': 'workers', 'unique_together': (('assistant', 'version'),), 'pk_attr': 'id', 'table_description': 'One saved version of an assistant (every update adds one)'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Cron',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('user_id', fields.UUIDField(null=True)),
                ('assistant_id', fields.UUIDField()),
                ('graph_id', fields.CharField(max_length=200)),
                ('thread_id', fields.UUIDField(null=True)),
                ('schedule', fields.CharField(max_length=200)),
                ('timezone', fields.CharField(default='UTC', max_length=100)),
                ('payload', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('metadata', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('end_time', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('next_run_date', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('enabled', fields.BooleanField(default=True)),
            ],
            options={'table': 'workers_cron', 'app': 'workers', 'pk_attr': 'id', 'table_description': "A schedule that creates runs (on a thread or stateless) as its organization's runs"},
            bases=['BaseModel', 'TenantMixin'],
        ),
        ops.CreateModel(
            name='RunQuota',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('month', fields.CharField(max_length=7)),
                ('runs', fields.IntField(default=0)),
            ],
            options={'table': 'workers_run_quota', 'app': 'workers', 'unique_together': (('organization', 'month'),), 'pk_attr': 'id', 'table_description': 'Runs created per organization and month: the monthly limit is one conditional UPDATE'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StoreItem',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('namespace', fields.CharField(description="Namespace labels joined by '.'", max_length=1000)),
                ('key', fields.CharField(max_length=500)),
                ('value', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'workers_store_item', 'app': 'workers', 'unique_together': (('organization', 'namespace', 'key'),), 'pk_attr': 'id', 'table_description': "A long-term memory item, its namespace is its organization's and never shared"},
            bases=['BaseModel', 'TenantMixin'],
        ),
        ops.CreateModel(
            name='Thread',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('user_id', fields.UUIDField(null=True)),
                ('graph_id', fields.CharField(null=True, max_length=200)),
                ('status', fields.CharField(default='idle', db_index=True, max_length=20)),
                ('metadata', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('values', fields.JSONField(null=True, description="The state's values after its last run", encoder=JSON_DUMPS, decoder=loads)),
                ('interrupts', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={'table': 'workers_thread', 'app': 'workers', 'pk_attr': 'id', 'table_description': 'A conversation: its state lives in the checkpointer under this id'},
            bases=['BaseModel', 'TenantMixin'],
        ),
        ops.AlterModelOptions(
            name='Job',
            options={'table': 'workers_job', 'app': 'workers', 'unique_together': (('organization', 'idempotency_key'),), 'pk_attr': 'id', 'table_description': 'One run of a graph on a thread (a job is a run on its own thread), the row is the source of truth, the broker only the transport'},
        ),
        ops.AddField(
            model_name='Job',
            name='api',
            field=fields.CharField(default='jobs', description='jobs or langgraph: the API that created it', max_length=20),
        ),
        ops.AddField(
            model_name='Job',
            name='assistant_id',
            field=fields.UUIDField(null=True),
        ),
        ops.AddField(
            model_name='Job',
            name='assistant_version',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Job',
            name='event_bytes',
            field=fields.BigIntField(default=0, description='Bytes of its stored events (storage usage)'),
        ),
        ops.AddField(
            model_name='Job',
            name='event_count',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='Job',
            name='fence',
            field=fields.IntField(default=0, description='Fencing token: raised by every claim, checked by every write'),
        ),
        ops.AddField(
            model_name='Job',
            name='graph_version',
            field=fields.CharField(default='', description='Version of the workflow package', max_length=50),
        ),
        ops.AddField(
            model_name='Job',
            name='metadata',
            field=fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='Job',
            name='multitask_strategy',
            field=fields.CharField(null=True, max_length=20),
        ),
        ops.AddField(
            model_name='Job',
            name='options',
            field=fields.JSONField(default=dict, description='LangGraph run options: config, context, command, checkpoint_id, interrupts', encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='Job',
            name='reason',
            field=fields.CharField(null=True, description='Why it ended as it did (worker_lost, ...)', max_length=50),
        ),
        ops.AddField(
            model_name='Job',
            name='stream_mode',
            field=fields.JSONField(default=list, description='LangGraph stream modes recorded as events', encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='Job',
            name='thread_id',
            field=fields.UUIDField(null=True, db_index=True, description='The thread it runs on (a job: its own id)'),
        ),
        ops.AddField(
            model_name='Job',
            name='usage',
            field=fields.JSONField(null=True, description='Tokens used: input, output, total and by model', encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddConstraint(
            model_name='Job',
            constraint=UniqueConstraint(fields=('organization', 'idempotency_key'), name=None),
        ),
    ]
