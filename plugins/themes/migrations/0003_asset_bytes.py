from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('themes', '0002_tenant_list_index')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Theme',
            name='logo_bytes',
            field=fields.IntField(default=0, description='Size of the stored logo (storage quota)'),
        ),
        ops.AddField(
            model_name='Theme',
            name='favicon_bytes',
            field=fields.IntField(default=0, description='Size of the stored favicon (storage quota)'),
        ),
    ]
