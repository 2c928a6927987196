"""The ``vetrai`` command line, run as a user would (separate processes, real environment)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

VETRAI = [sys.executable, "-m", "vetrai.entrypoints"]


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "VETRAI_DATA_DIR": str(tmp_path / "data"), "VETRAI_LOG_LEVEL": "WARNING", **env}
    return subprocess.run([*VETRAI, *args], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120)


def test_plugins_lists_the_built_ins_with_versions_and_hooks(tmp_path):
    result = run(["plugins", "--json"], tmp_path)
    assert result.returncode == 0, result.stderr
    plugins = {plugin["name"]: plugin for plugin in json.loads(result.stdout)}
    assert {"core", "auth", "keys", "billing", "support", "themes", "notifications", "workers"} <= set(plugins)
    assert "vetrai_authenticate" in plugins["auth"]["hooks"]


def test_disabled_plugin_disappears_and_broken_selection_is_a_clear_error(tmp_path):
    result = run(["plugins", "--json"], tmp_path, VETRAI_DISABLE_PLUGINS="billing")
    assert "billing" not in {plugin["name"] for plugin in json.loads(result.stdout)}
    broken = run(["plugins"], tmp_path, VETRAI_PLUGINS="auth,nonexistent")
    assert broken.returncode == 2
    assert "plugin 'nonexistent'" in broken.stderr


def test_migrate_then_makemigrations_check_finds_nothing(tmp_path):
    migrated = run(["migrate"], tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert "core.0001_initial" in migrated.stderr
    again = run(["migrate"], tmp_path)
    assert "applied 0 migration(s)" in again.stderr
    check = run(["makemigrations", "--check"], tmp_path)
    assert check.returncode == 0, check.stderr + check.stdout
    # One plugin's app alone still resolves its dependencies on core and auth.
    one_app = run(["makemigrations", "keys", "--check"], tmp_path)
    assert one_app.returncode == 0, one_app.stderr + one_app.stdout


def test_routes_and_settings_are_listed(tmp_path):
    routes = run(["routes"], tmp_path)
    assert "/api/v1/organizations" in routes.stdout
    settings = run(["settings"], tmp_path)
    assert "VETRAI_DATABASE_URL=" in settings.stdout
    assert "VETRAI_AUTH_ACCESS_TOKEN_TTL_SECONDS=900" in settings.stdout


def test_every_setting_is_documented_in_the_readme():
    from vetrai.core.config import Settings, describe_settings
    from vetrai.core.plugins import builtin_plugin_names, load_plugins

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    # built-in plugins only: installed examples (examples/*) document their settings themselves
    loaded = load_plugins(Settings(plugins=builtin_plugin_names()))
    models = [Settings, *(type(value) for value in loaded.settings.values())]
    missing = [env for model in models for env, _default, _ in describe_settings(model) if f"`{env}`" not in readme]
    assert missing == [], f"README.md does not document: {missing}"


def test_a_command_loads_no_route_task_or_model_client_module(tmp_path):
    """Plugins are loaded before click parses (they add commands), but only their hook modules:
    routes, tasks and the engine's LangChain imports are seconds of every one-line command."""
    probe = (
        "import sys\n"
        "from vetrai.entrypoints.cli import main\n"
        "sys.argv = ['vetrai', 'run', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    environment = {**os.environ, "VETRAI_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120
    )
    assert "Run a workflow TEMPLATE" in result.stdout
    loaded = result.stderr.split()
    heavy = [
        name
        for name in loaded
        if name.startswith("vetrai.") and name.endswith((".routes", ".tasks")) or name.startswith("langchain_core")
    ]
    assert "vetrai.plugins.billing" in loaded and not heavy, heavy
