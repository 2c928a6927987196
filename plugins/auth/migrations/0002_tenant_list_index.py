from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('auth', '0001_initial')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='User',
            index=Index(fields=['organization_id', 'created_at', 'id'], name='auth_user_org_created_id'),
        ),
    ]
