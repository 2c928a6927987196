from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('workers', '0004_langgraph_ttl_vectors')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Job',
            name='trace_context',
            field=fields.JSONField(null=True, description="W3C traceparent of the request that created it: its run spans join that trace"),
        ),
    ]
