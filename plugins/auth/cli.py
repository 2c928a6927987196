"""``vetrai createsuperuser``: the first account of a deployment, created without the API."""

from __future__ import annotations

import json
from typing import Any

import click

from vetrai.core.config import Settings
from vetrai.core.errors import ProblemError
from vetrai.core.models import Organization
from vetrai.core.permissions import SUPER_ADMIN

PLATFORM_ORGANIZATION = "platform"


async def platform_organization() -> Organization:
    """The operator's own organization, found by its flag (never by name or slug).

    Anyone may register an organization called "Platform" before the operator runs this
    command, so the slug proves nothing; only this function sets ``is_platform``, and no
    API can set it. The slug is "platform" when free, else a derived one.
    """
    from vetrai.core.organizations.service import create_organization

    organization = await Organization.filter(is_platform=True).order_by("created_at").first()
    if organization is not None:
        return organization
    slug = None if await Organization.filter(slug=PLATFORM_ORGANIZATION).exists() else PLATFORM_ORGANIZATION
    organization = await create_organization("Platform", slug=slug)
    organization.is_platform = True
    await organization.save(update_fields=["is_platform", "updated_at"])
    return organization


async def create_superuser(platform: Any, email: str, password: str) -> Any:
    """A verified super_admin in the platform's own organization (created if missing)."""
    from vetrai.core.db import apply_migrations
    from vetrai.plugins.auth.service import create_user

    if platform.settings.should_auto_migrate:
        await apply_migrations(platform.db_config)
    organization = await platform_organization()
    return await create_user(organization, email, password, role=SUPER_ADMIN, email_verified=True)


def register_commands(group: click.Group) -> None:
    @group.command("generate-jwks")
    @click.option("--previous", default=None, help="The current JWKS JSON; its keys are kept after the new one.")
    def generate_jwks(previous: str | None) -> None:
        """Print a JWKS for VETRAI_AUTH_JWT_PRIVATE_KEYS: a new signing key first, old keys kept."""
        from vetrai.plugins.auth.jwt import new_private_jwk

        try:
            kept = json.loads(previous)["keys"] if previous else []
        except (ValueError, KeyError, TypeError):
            raise click.ClickException("--previous must be a JWKS JSON object with a keys list") from None
        click.echo(json.dumps({"keys": [new_private_jwk(), *kept]}))

    @group.command("createsuperuser")
    @click.option("--email", required=True, help="The super_admin's email address.")
    @click.option(
        "--password", required=True, envvar="VETRAI_SUPERUSER_PASSWORD", help="Password (or VETRAI_SUPERUSER_PASSWORD)."
    )
    def createsuperuser(email: str, password: str) -> None:
        """Create a super_admin in the "platform" organization (non-interactive)."""
        from vetrai.entrypoints.cli import run_async, with_database

        settings = Settings()
        try:
            user = run_async(
                lambda: with_database(settings, lambda platform: create_superuser(platform, email, password))
            )
        except ProblemError as exc:
            reasons = [str(error.get("msg")) for error in exc.extra.get("errors", [])]
            raise click.ClickException("; ".join(reasons) or exc.detail) from None
        click.echo(f"created super_admin {user.email} ({user.id})")
