"""ASGI entry point: ``hypercorn vetrai.entrypoints.asgi:app``."""

from vetrai.core.app import create_app

app = create_app()
