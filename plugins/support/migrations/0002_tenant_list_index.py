from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('auth', '0001_initial'), ('core', '0001_initial'), ('support', '0001_initial')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Ticket',
            index=Index(fields=['organization_id', 'created_at', 'id'], name='support_ticket_org_created_id'),
        ),
        ops.AddIndex(
            model_name='TicketAttachment',
            index=Index(fields=['organization_id', 'created_at', 'id'], name='support_attachment_org_created_id'),
        ),
        ops.AddIndex(
            model_name='TicketComment',
            index=Index(fields=['organization_id', 'created_at', 'id'], name='support_comment_org_created_id'),
        ),
    ]
