"""``vetrai rotate-secrets``: re-wrap every stored secret with the newest encryption key."""

from __future__ import annotations

import click

from vetrai.core.config import Settings


def register_commands(group: click.Group) -> None:
    @group.command("rotate-secrets")
    def rotate_secrets() -> None:
        """Re-encrypt every provider key, header set and named secret's data key with the first
        key of VETRAI_MODELS_ENCRYPTION_KEYS; afterwards older keys can be removed."""
        from vetrai.entrypoints.cli import run_async, with_database
        from vetrai.plugins.models.crypto import SealError
        from vetrai.plugins.models.service import build_runtime
        from vetrai.plugins.models.service import rotate_secrets as rotate

        settings = Settings()
        try:
            changed = run_async(lambda: with_database(settings, lambda platform: rotate(build_runtime(platform))))
        except SealError as exc:
            raise click.ClickException(
                f"{exc}: keep the old key in VETRAI_MODELS_ENCRYPTION_KEYS until rotated"
            ) from None
        click.echo(f"re-encrypted {changed} stored values with the first encryption key")
