from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0004_tenant_list_index'), ('workers', '0005_outbox_trace_context')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Job',
            name='priority',
            field=fields.IntField(default=0, description="Higher first among its organization's waiting runs (the scheduler is fair across them)"),
        ),
        ops.AddIndex(
            model_name='Job',
            index=Index(fields=['organization_id', 'status', 'priority', 'created_at'], name='workers_job_org_next'),
        ),
        ops.AddIndex(
            model_name='Job',
            index=Index(fields=['organization_id', 'claimed_at'], name='workers_job_org_claimed'),
        ),
    ]
