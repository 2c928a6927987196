from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('billing', '0001_initial'), ('core', '0001_initial')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='BillingInvoice',
            index=Index(fields=['organization_id', 'created_at', 'id'], name='billing_invoice_org_created_id'),
        ),
        ops.AddIndex(
            model_name='BillingPayment',
            index=Index(fields=['organization_id', 'created_at', 'id'], name='billing_payment_org_created_id'),
        ),
        ops.AddIndex(
            model_name='BillingSubscription',
            index=Index(fields=['organization_id', 'created_at', 'id'], name='billing_subscription_org_created_id'),
        ),
    ]
