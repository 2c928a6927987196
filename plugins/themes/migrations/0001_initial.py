from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='Page',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('slug', fields.CharField(max_length=100)),
                ('title', fields.CharField(max_length=200)),
                ('content', fields.TextField(default='', unique=False)),
                ('meta_description', fields.CharField(null=True, max_length=300)),
                ('is_published', fields.BooleanField(default=False)),
                ('nav_order', fields.IntField(default=0, description='Position in the public navigation (then title)')),
            ],
            options={'table': 'themes_page', 'app': 'themes', 'unique_together': (('organization', 'slug'),), 'pk_attr': 'id', 'table_description': 'A public page of an organization, its HTML content sanitized on save'},
            bases=['BaseModel', 'TenantMixin'],
        ),
        ops.CreateModel(
            name='Theme',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('organization', fields.ForeignKeyField('core.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('primary_color', fields.CharField(max_length=64)),
                ('secondary_color', fields.CharField(max_length=64)),
                ('accent_color', fields.CharField(max_length=64)),
                ('background_color', fields.CharField(max_length=64)),
                ('text_color', fields.CharField(max_length=64)),
                ('font_family', fields.CharField(max_length=300)),
                ('custom_css', fields.TextField(default='', unique=False)),
                ('logo_key', fields.CharField(null=True, description='Storage key of the logo', max_length=300)),
                ('logo_content_type', fields.CharField(null=True, max_length=50)),
                ('favicon_key', fields.CharField(null=True, description='Storage key of the favicon', max_length=300)),
                ('favicon_content_type', fields.CharField(null=True, max_length=50)),
            ],
            options={'table': 'themes_theme', 'app': 'themes', 'unique_together': (('organization',),), 'pk_attr': 'id', 'table_description': 'The branding of an organization (at most one each), custom CSS stored sanitized'},
            bases=['BaseModel', 'TenantMixin'],
        ),
    ]
