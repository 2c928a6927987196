from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('auth', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='Greeting',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('message', fields.CharField(max_length=500)),
                ('author', fields.ForeignKeyField('auth.User', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'hello_greeting', 'app': 'hello', 'pk_attr': 'id', 'table_description': 'A message shown to an organization (author is None for the automatic welcome greetings).'},
            bases=['BaseModel', 'TenantMixin'],
        ),
    ]
