from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0004_tenant_list_index'), ('models', '0001_initial')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Provider',
            index=Index(fields=['organization_id', 'created_at', 'id'], name='models_provider_org_created_id'),
        ),
        ops.AddIndex(
            model_name='Secret',
            index=Index(fields=['organization_id', 'created_at', 'id'], name='models_secret_org_created_id'),
        ),
    ]
