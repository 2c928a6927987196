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
            name='SlaPolicy',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('targets', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('business_hours', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={'table': 'support_sla_policy', 'app': 'support', 'unique_together': (('organization',),), 'pk_attr': 'id', 'table_description': 'SLA targets of an organization per priority (minutes) and optional business hours'},
            bases=['BaseModel', 'TenantMixin'],
        ),
        ops.CreateModel(
            name='Ticket',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('subject', fields.CharField(max_length=200)),
                ('description', fields.TextField(unique=False)),
                ('priority', fields.CharField(db_index=True, max_length=10)),
                ('category', fields.CharField(null=True, max_length=100)),
                ('status', fields.CharField(default='open', db_index=True, max_length=20)),
                ('requester', fields.ForeignKeyField('auth.User', source_field='requester_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('assignee', fields.ForeignKeyField('auth.User', source_field='assignee_id', null=True, db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('first_response_due_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('resolution_due_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('first_responded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('first_response_breached', fields.BooleanField(default=False)),
                ('resolution_breached', fields.BooleanField(default=False)),
                ('sla_paused_at', fields.DatetimeField(null=True, description='Set while the ticket is pending (the SLA clock is stopped)', auto_now=False, auto_now_add=False)),
                ('sla_paused_seconds', fields.IntField(default=0, description='Total seconds the SLA clock was stopped')),
            ],
            options={'table': 'support_ticket', 'app': 'support', 'pk_attr': 'id', 'table_description': 'A support ticket of an organization, opened by its requester, with SLA times in UTC'},
            bases=['BaseModel', 'TenantMixin'],
        ),
        ops.CreateModel(
            name='TicketAttachment',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('ticket', fields.ForeignKeyField('support.Ticket', source_field='ticket_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('uploaded_by', fields.ForeignKeyField('auth.User', source_field='uploaded_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('filename', fields.CharField(max_length=255)),
                ('content_type', fields.CharField(max_length=100)),
                ('size', fields.BigIntField()),
                ('sha256', fields.CharField(max_length=64)),
                ('storage_key', fields.CharField(max_length=500)),
            ],
            options={'table': 'support_attachment', 'app': 'support', 'pk_attr': 'id', 'table_description': 'A file on a ticket, stored under a server-generated key, the name is for display only'},
            bases=['BaseModel', 'TenantMixin'],
        ),
        ops.CreateModel(
            name='TicketComment',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('ticket', fields.ForeignKeyField('support.Ticket', source_field='ticket_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('auth.User', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('body', fields.TextField(unique=False)),
                ('internal', fields.BooleanField(default=False)),
            ],
            options={'table': 'support_comment', 'app': 'support', 'pk_attr': 'id', 'table_description': 'A reply on a ticket, internal notes are visible to agents and admins only'},
            bases=['BaseModel', 'TenantMixin'],
        ),
    ]
