from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('auth', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='BillingCustomer',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('stripe_customer_id', fields.CharField(unique=True, max_length=255)),
                ('email', fields.CharField(null=True, max_length=320)),
            ],
            options={'table': 'billing_customer', 'app': 'billing', 'unique_together': (('organization',),), 'pk_attr': 'id', 'table_description': 'The Stripe customer of an organization (one per organization)'},
            bases=['BaseModel', 'TenantMixin'],
        ),
        ops.CreateModel(
            name='BillingInvoice',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('stripe_invoice_id', fields.CharField(unique=True, max_length=255)),
                ('stripe_subscription_id', fields.CharField(null=True, max_length=255)),
                ('stripe_payment_intent_id', fields.CharField(null=True, max_length=255)),
                ('number', fields.CharField(null=True, max_length=100)),
                ('status', fields.CharField(max_length=30)),
                ('amount_due', fields.BigIntField(default=0)),
                ('amount_paid', fields.BigIntField(default=0)),
                ('currency', fields.CharField(default='usd', max_length=3)),
                ('hosted_invoice_url', fields.CharField(null=True, max_length=1000)),
                ('period_start', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('period_end', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('lines', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('stripe_version', fields.BigIntField(default=0)),
            ],
            options={'table': 'billing_invoice', 'app': 'billing', 'pk_attr': 'id', 'table_description': 'A Stripe invoice of an organization'},
            bases=['BaseModel', 'TenantMixin'],
        ),
        ops.CreateModel(
            name='BillingPayment',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('stripe_payment_intent_id', fields.CharField(unique=True, max_length=255)),
                ('stripe_invoice_id', fields.CharField(null=True, max_length=255)),
                ('stripe_charge_id', fields.CharField(null=True, db_index=True, max_length=255)),
                ('amount', fields.BigIntField(default=0)),
                ('amount_refunded', fields.BigIntField(default=0)),
                ('currency', fields.CharField(default='usd', max_length=3)),
                ('status', fields.CharField(max_length=30)),
                ('failure_reason', fields.CharField(null=True, max_length=500)),
                ('stripe_version', fields.BigIntField(default=0)),
            ],
            options={'table': 'billing_payment', 'app': 'billing', 'pk_attr': 'id', 'table_description': 'A payment (Stripe PaymentIntent) of an organization'},
            bases=['BaseModel', 'TenantMixin'],
        ),
        ops.CreateModel(
            name='BillingSubscription',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('stripe_subscription_id', fields.CharField(unique=True, max_length=255)),
                ('stripe_customer_id', fields.CharField(db_index=True, max_length=255)),
                ('stripe_price_id', fields.CharField(null=True, max_length=255)),
                ('plan', fields.CharField(max_length=50)),
                ('status', fields.CharField(db_index=True, max_length=30)),
                ('current_period_start', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('current_period_end', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('cancel_at_period_end', fields.BooleanField(default=False)),
                ('canceled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('stripe_version', fields.BigIntField(default=0, description='Stripe time (epoch s) of the newest state applied')),
            ],
            options={'table': 'billing_subscription', 'app': 'billing', 'pk_attr': 'id', 'table_description': 'A Stripe subscription of an organization, kept in step by verified webhooks'},
            bases=['BaseModel', 'TenantMixin'],
        ),
        ops.CreateModel(
            name='BillingUsage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('period', fields.CharField(description='UTC month YYYY-MM', max_length=7)),
                ('metric', fields.CharField(max_length=30)),
                ('quantity', fields.BigIntField(default=0)),
                ('reported_quantity', fields.BigIntField(default=0)),
                ('reporting_quantity', fields.BigIntField(null=True, description='Total being reported (same idempotency key on retry)')),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'billing_usage', 'app': 'billing', 'unique_together': (('organization', 'period', 'metric'),), 'pk_attr': 'id', 'table_description': 'Metered usage of an organization per billing period and metric, and how much reached Stripe'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BillingWebhookEvent',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=255)),
                ('type', fields.CharField(db_index=True, max_length=100)),
                ('stripe_created', fields.BigIntField()),
                ('organization_id', fields.UUIDField(null=True, db_index=True)),
                ('outcome', fields.CharField(description='applied, stale, unknown_type, unknown_customer, ignored', max_length=30)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'billing_webhook_event', 'app': 'billing', 'pk_attr': 'id', 'table_description': 'Every verified Stripe event, once: the primary key makes a redelivery a no-op'},
            bases=['Model'],
        ),
    ]
