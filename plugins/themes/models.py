from __future__ import annotations

from tortoise import fields

from vetrai.core.models import BaseModel, TenantMixin, tenant_list_index


class Theme(BaseModel, TenantMixin):
    """The branding of an organization (at most one each), custom CSS stored sanitized"""

    primary_color = fields.CharField(max_length=64)
    secondary_color = fields.CharField(max_length=64)
    accent_color = fields.CharField(max_length=64)
    background_color = fields.CharField(max_length=64)
    text_color = fields.CharField(max_length=64)
    font_family = fields.CharField(max_length=300)
    custom_css = fields.TextField(default="")
    logo_key = fields.CharField(max_length=300, null=True, description="Storage key of the logo")
    logo_content_type = fields.CharField(max_length=50, null=True)
    favicon_key = fields.CharField(max_length=300, null=True, description="Storage key of the favicon")
    favicon_content_type = fields.CharField(max_length=50, null=True)
    logo_bytes = fields.IntField(default=0, description="Size of the stored logo (storage quota)")
    favicon_bytes = fields.IntField(default=0, description="Size of the stored favicon (storage quota)")

    class Meta:
        table = "themes_theme"
        unique_together = (("organization",),)


class Page(BaseModel, TenantMixin):
    """A public page of an organization, its HTML content sanitized on save"""

    slug = fields.CharField(max_length=100)
    title = fields.CharField(max_length=200)
    content = fields.TextField(default="")
    meta_description = fields.CharField(max_length=300, null=True)
    is_published = fields.BooleanField(default=False)
    nav_order = fields.IntField(default=0, description="Position in the public navigation (then title)")

    class Meta:
        table = "themes_page"
        indexes = (tenant_list_index("themes_page"),)
        unique_together = (("organization", "slug"),)
