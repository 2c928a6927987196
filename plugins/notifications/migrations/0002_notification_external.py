from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('auth', '0001_initial'), ('core', '0001_initial'), ('notifications', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Notification',
            name='external',
            field=fields.BooleanField(default=False, description='Sent by an admin to an address outside the organization (counts against the plan)'),
        ),
    ]
