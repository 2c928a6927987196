from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0004_tenant_list_index'), ('workers', '0002_runs_langgraph')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Assistant',
            index=Index(fields=['organization_id', 'created_at', 'id'], name='workers_assistant_org_created_id'),
        ),
        ops.AddIndex(
            model_name='Cron',
            index=Index(fields=['organization_id', 'created_at', 'id'], name='workers_cron_org_created_id'),
        ),
        ops.AddIndex(
            model_name='Job',
            index=Index(fields=['organization_id', 'created_at', 'id'], name='workers_job_org_created_id'),
        ),
        ops.AddIndex(
            model_name='StoreItem',
            index=Index(fields=['organization_id', 'created_at', 'id'], name='workers_store_item_org_created_id'),
        ),
        ops.AddIndex(
            model_name='Thread',
            index=Index(fields=['organization_id', 'created_at', 'id'], name='workers_thread_org_created_id'),
        ),
    ]
