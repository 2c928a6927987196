from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('auth', '0001_initial'), ('core', '0001_initial'), ('notifications', '0002_notification_external')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Notification',
            index=Index(fields=['organization_id', 'created_at', 'id'], name='notifications_notification_org_created_id'),
        ),
        ops.AddIndex(
            model_name='NotificationPreference',
            index=Index(fields=['organization_id', 'created_at', 'id'], name='notifications_preference_org_created_id'),
        ),
    ]
