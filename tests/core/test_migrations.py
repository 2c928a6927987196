"""Every app's migrations match its models, and a behind schema stops the server."""

from __future__ import annotations

import pytest

from vetrai.core.config import Settings
from vetrai.core.db import apply_migrations, close_db, detect_changes, init_db, pending_migrations
from vetrai.core.errors import ConfigurationError
from vetrai.core.platform import Platform


async def test_models_and_migrations_agree(tmp_path):
    platform = Platform.build(Settings(data_dir=tmp_path, database_url="sqlite://:memory:", plugins=None))
    await init_db(platform.db_config)
    try:
        changes = await detect_changes(platform.db_config)
    finally:
        await close_db()
    assert [f"{writer.app_label}.{writer.name}" for writer in changes] == [], (
        "models changed without a migration: run `vetrai makemigrations`"
    )


async def test_every_app_migrates_from_zero(settings_factory, empty_database_url):
    settings = settings_factory(plugins=None, auto_migrate=False, database_url=empty_database_url)
    platform = Platform.build(settings)
    await init_db(platform.db_config)
    try:
        applied = await apply_migrations(platform.db_config)
        assert await pending_migrations(platform.db_config) == []
    finally:
        await close_db()
    assert {name.split(".")[0] for name in applied} >= {"core", "auth"}
    assert applied.index("core.0001_initial") < applied.index("auth.0001_initial")


async def test_server_refuses_a_schema_that_is_behind(settings_factory, empty_database_url):
    platform = Platform.build(settings_factory(plugins=["auth"], auto_migrate=False, database_url=empty_database_url))
    with pytest.raises(ConfigurationError, match="schema is behind.*vetrai migrate"):
        await platform.start()


async def test_a_semicolon_in_a_model_comment_is_refused_naming_the_app(tmp_path):
    from tortoise import Tortoise

    from vetrai.core.db import check_comments
    from vetrai.core.errors import PluginError

    platform = Platform.build(Settings(data_dir=tmp_path, database_url="sqlite://:memory:", plugins=["auth"]))
    await init_db(platform.db_config)
    user = Tortoise.apps["auth"]["User"]
    original = user._meta.table_description
    user._meta.table_description = "A person; with a semicolon"
    try:
        with pytest.raises(PluginError, match="plugin 'auth': User docstring contains ';'"):
            check_comments()
    finally:
        user._meta.table_description = original
        await close_db()


def test_postgres_connections_go_back_to_the_pool_without_a_reset_round_trip():
    from vetrai.core.db import tortoise_config

    postgres = tortoise_config("postgres://user@127.0.0.1:5432/db", {})["connections"]["default"]
    assert postgres["engine"] == "tortoise.backends.asyncpg" and callable(postgres["credentials"]["reset"])
    sqlite = tortoise_config("sqlite://:memory:", {})["connections"]["default"]
    assert "reset" not in sqlite["credentials"]
