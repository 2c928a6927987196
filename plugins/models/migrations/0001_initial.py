from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='Provider',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=100)),
                ('kind', fields.CharField(max_length=20)),
                ('base_url', fields.CharField(null=True, max_length=500)),
                ('api_key_sealed', fields.TextField(unique=False)),
                ('api_key_last4', fields.CharField(default='', max_length=4)),
                ('models', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('default_model', fields.CharField(max_length=200)),
                ('headers_sealed', fields.TextField(null=True, unique=False)),
                ('headers_masked', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('is_default', fields.BooleanField(default=False)),
            ],
            options={'table': 'models_provider', 'app': 'models', 'unique_together': (('organization', 'name'),), 'pk_attr': 'id', 'table_description': 'A model provider endpoint of an organization, its API key and headers sealed (never plaintext)'},
            bases=['BaseModel', 'TenantMixin'],
        ),
        ops.CreateModel(
            name='Secret',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=100)),
                ('description', fields.CharField(default='', max_length=500)),
                ('value_sealed', fields.TextField(unique=False)),
                ('value_last4', fields.CharField(default='', max_length=4)),
            ],
            options={'table': 'models_secret', 'app': 'models', 'unique_together': (('organization', 'name'),), 'pk_attr': 'id', 'table_description': 'A named secret of an organization for tools and graphs, sealed like provider keys'},
            bases=['BaseModel', 'TenantMixin'],
        ),
        ops.CreateModel(
            name='Usage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField(db_index=True)),
                ('model', fields.CharField(max_length=200)),
                ('calls', fields.IntField(default=0)),
                ('input_tokens', fields.BigIntField(default=0)),
                ('output_tokens', fields.BigIntField(default=0)),
                ('cost', fields.FloatField(default=0.0)),
            ],
            options={'table': 'models_usage', 'app': 'models', 'unique_together': (('organization', 'day', 'model'),), 'pk_attr': 'id', 'table_description': 'Tokens and cost of an organization per day and model, added to as each model call ends'},
            bases=['Model'],
        ),
    ]
