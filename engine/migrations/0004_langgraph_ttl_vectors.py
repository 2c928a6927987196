from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('core', '0002_organization_is_platform'), ('core', '0003_outbox'), ('core', '0004_tenant_list_index'), ('workers', '0003_tenant_list_index')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='StoreItem',
            name='expires_at',
            field=fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='StoreItem',
            name='ttl_minutes',
            field=fields.FloatField(null=True, description='The TTL a read with refresh_ttl renews'),
        ),
        ops.AddField(
            model_name='StoreItem',
            name='vectors',
            field=fields.JSONField(null=True, description='Embeddings of the indexed fields (semantic search)', encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='Thread',
            name='expires_at',
            field=fields.DatetimeField(null=True, db_index=True, description='When the TTL sweep acts on it', auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Thread',
            name='ttl',
            field=fields.JSONField(null=True, description='LangGraph thread TTL: {strategy, ttl (minutes)}', encoder=JSON_DUMPS, decoder=loads),
        ),
        # SQLite alters a column by rebuilding its table, which left the store's indexes and its
        # unique key behind, and neither backend indexes a field added with db_index: all made
        # here, idempotently (PostgreSQL has the store's already, under these names).
        ops.RunSQL(
            [
                'CREATE UNIQUE INDEX IF NOT EXISTS "uid_workers_sto_organiz_5deb1c" ON "workers_store_item" ("organization_id", "namespace", "key")',
                'CREATE INDEX IF NOT EXISTS "idx_workers_sto_created_c84c08" ON "workers_store_item" ("created_at")',
                'CREATE INDEX IF NOT EXISTS "idx_workers_sto_organiz_f217b5" ON "workers_store_item" ("organization_id")',
                'CREATE INDEX IF NOT EXISTS "idx_workers_sto_expires_cbbe5d" ON "workers_store_item" ("expires_at")',
                'CREATE INDEX IF NOT EXISTS "workers_store_item_org_created_id" ON "workers_store_item" ("organization_id", "created_at", "id")',
                'CREATE INDEX IF NOT EXISTS "workers_thread_expires_at" ON "workers_thread" ("expires_at")',
            ]
        ),
    ]
