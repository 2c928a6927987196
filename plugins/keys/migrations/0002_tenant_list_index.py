from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('auth', '0001_initial'), ('core', '0001_initial'), ('keys', '0001_initial')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='ApiKey',
            index=Index(fields=['organization_id', 'created_at', 'id'], name='keys_api_key_org_created_id'),
        ),
    ]
