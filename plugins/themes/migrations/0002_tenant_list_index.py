from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('themes', '0001_initial')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Page',
            index=Index(fields=['organization_id', 'created_at', 'id'], name='themes_page_org_created_id'),
        ),
    ]
