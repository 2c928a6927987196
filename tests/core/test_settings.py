"""Settings precedence (env > .env > defaults) and secrets that are never hard-coded."""

from __future__ import annotations

import pytest

from vetrai.core.config import Settings
from vetrai.core.errors import ConfigurationError
from vetrai.core.platform import Platform


def test_embedded_defaults_need_no_configuration(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # As `make run` leaves it; without it a `.vetrai` in any folder above the temporary one wins.
    (tmp_path / ".vetrai").mkdir()
    settings = Settings()
    assert settings.resolved_database_url == f"sqlite://{tmp_path.resolve() / '.vetrai' / 'vetrai.sqlite3'}"
    assert settings.broker_url == "memory://"
    assert settings.resolved_storage_url.startswith("file://")
    assert settings.resolved_redis_url is None
    assert settings.should_auto_migrate is True


def test_environment_overrides_dotenv_which_overrides_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("VETRAI_PORT=9001\nVETRAI_LOG_LEVEL=DEBUG\n")
    monkeypatch.setenv("VETRAI_PORT", "9002")
    settings = Settings()
    assert settings.port == 9002
    assert settings.log_level == "DEBUG"
    assert settings.host == "127.0.0.1"


def test_redis_broker_doubles_as_redis_and_postgres_disables_auto_migrate():
    settings = Settings(broker_url="redis://cache:6379/1", database_url="postgres://db/vetrai")
    assert settings.resolved_redis_url == "redis://cache:6379/1"
    assert settings.should_auto_migrate is False


def test_generated_secret_is_stable_and_private(tmp_path):
    settings = Settings(data_dir=tmp_path)
    first = settings.resolved_secret_key
    assert len(first) >= 40
    assert Settings(data_dir=tmp_path).resolved_secret_key == first
    assert (tmp_path / "secrets" / "secret_key").stat().st_mode & 0o077 == 0
    assert Settings(data_dir=tmp_path / "other").resolved_secret_key != first


def test_production_refuses_to_start_without_secrets(tmp_path):
    with pytest.raises(ConfigurationError, match="VETRAI_SECRET_KEY"):
        Platform.build(Settings(env="production", data_dir=tmp_path, plugins=[]))
    Platform.build(Settings(env="production", data_dir=tmp_path, plugins=[], secret_key="s" * 40))


def test_plugin_settings_derive_the_env_prefix_from_the_plugin_name(monkeypatch):
    from pydantic import Field

    from vetrai.core.config import PluginSettings

    class Greeting(PluginSettings, plugin="my-greeting"):
        text: str = Field("hi", description="What to say.")

    monkeypatch.setenv("VETRAI_MY_GREETING_TEXT", "hello")
    assert Greeting.model_config["env_prefix"] == "VETRAI_MY_GREETING_"
    assert Greeting().text == "hello"


def test_plugin_settings_refuse_an_undescribed_field_or_a_missing_plugin_name():
    from pydantic import Field

    from vetrai.core.config import PluginSettings

    with pytest.raises(TypeError, match=r"describe every setting.*\['quiet'\]"):

        class Undescribed(PluginSettings, plugin="undescribed"):
            loud: bool = Field(True, description="Shout.")
            quiet: bool = False

    with pytest.raises(TypeError, match="must name its plugin"):

        class Nameless(PluginSettings):
            loud: bool = Field(True, description="Shout.")


def test_every_installed_plugins_settings_describe_every_field(settings_factory):
    from vetrai.core.config import PluginSettings, describe_settings
    from vetrai.core.plugins import builtin_plugin_names, load_plugins

    loaded = load_plugins(settings_factory(plugins=None))
    assert loaded.settings, "no plugin declared settings"
    for name, value in loaded.settings.items():
        undescribed = [env for env, _default, description in describe_settings(type(value)) if not description.strip()]
        assert not undescribed, f"plugin {name}: undescribed settings {undescribed}"
        assert str(type(value).model_config.get("env_prefix", "")).startswith(f"VETRAI_{name.upper()}_")
    for name in builtin_plugin_names():
        if name in loaded.settings:
            assert isinstance(loaded.settings[name], PluginSettings), f"{name} settings are not PluginSettings"
