from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Organization',
            name='is_platform',
            field=fields.BooleanField(default=False, description="The platform operator's own organization, set only by `vetrai createsuperuser`"),
        ),
    ]
