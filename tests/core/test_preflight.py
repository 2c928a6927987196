"""Production start-up: `vetrai check`, the same checks before `serve`/`worker`, generated secrets,
effective settings, and the README's production snippet run as written (real processes)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKEND
from vetrai.core.conformance import free_port
from vetrai.core.conformance.backend import redis_url

VETRAI = [sys.executable, "-m", "vetrai.entrypoints"]
BIN = Path(sys.executable).parent
README = Path(__file__).parents[2] / "README.md"


def clean_env(tmp_path: Path, **values: str) -> dict[str, str]:
    """The parent's environment without any VETRAI_* (the tests' own must not leak in)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("VETRAI_")}
    env.update(VETRAI_DATA_DIR=str(tmp_path / "data"), VETRAI_LOG_LEVEL="WARNING", **values)
    return env


def vetrai(args: list[str], tmp_path: Path, timeout: float = 120, **values: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*VETRAI, *args],
        cwd=tmp_path,
        env=clean_env(tmp_path, **values),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_check_lists_every_problem_at_once_by_variable(tmp_path):
    result = vetrai(
        ["check"],
        tmp_path,
        VETRAI_ENV="production",
        VETRAI_PORT="eighty",
        VETRAI_STORAGE_URL="ftp://files",
        VETRAI_NOTIFICATIONS_SMTP_PORT="x",
    )
    assert result.returncode != 0
    for variable in (
        "VETRAI_PORT",
        "VETRAI_STORAGE_URL",
        "VETRAI_NOTIFICATIONS_SMTP_PORT",
        "VETRAI_SECRET_KEY",
        "VETRAI_AUTH_JWT_PRIVATE_KEYS",
        "VETRAI_NOTIFICATIONS_WEBHOOK_SECRET",
    ):
        assert re.search(rf"^  {variable}: ", result.stderr, re.MULTILINE), (variable, result.stderr)
    assert "Traceback" not in result.stderr


def test_check_reports_unreachable_services_and_unapplied_migrations(tmp_path):
    closed = free_port()
    unreachable = vetrai(
        ["check"],
        tmp_path,
        VETRAI_DATABASE_URL=f"postgres://vetrai:hunter2@127.0.0.1:{closed}/vetrai",
        VETRAI_BROKER_URL=f"redis://127.0.0.1:{closed}/0",
    )
    assert unreachable.returncode == 1
    assert "VETRAI_DATABASE_URL: cannot connect to postgres://vetrai:***@127.0.0.1" in unreachable.stderr
    assert "hunter2" not in unreachable.stderr
    behind = vetrai(["check"], tmp_path, VETRAI_AUTO_MIGRATE="false")
    assert behind.returncode == 1
    assert "VETRAI_DATABASE_URL:" in behind.stderr and "run `vetrai migrate`" in behind.stderr
    assert "core.0001_initial" in behind.stderr
    assert vetrai(["migrate"], tmp_path).returncode == 0
    ready = vetrai(["check"], tmp_path, VETRAI_AUTO_MIGRATE="false")
    assert ready.returncode == 0, ready.stderr
    assert f"data dir: {tmp_path / 'data'}" in ready.stderr


def test_a_malformed_jwks_is_named_before_start(tmp_path):
    result = vetrai(["check"], tmp_path, VETRAI_AUTH_JWT_PRIVATE_KEYS='{"keys": [}')
    assert result.returncode == 1
    assert "VETRAI_AUTH_JWT_PRIVATE_KEYS: not a JWKS" in result.stderr and "Traceback" not in result.stderr


def test_serve_and_worker_refuse_to_start_with_the_same_list(tmp_path):
    env = {"VETRAI_ENV": "production", "VETRAI_PORT": str(free_port())}
    served = vetrai(["serve"], tmp_path, timeout=60, **env)
    assert served.returncode == 1
    assert "VETRAI_SECRET_KEY:" in served.stderr and "VETRAI_AUTH_JWT_PRIVATE_KEYS:" in served.stderr
    assert "ready" not in served.stderr and "Traceback" not in served.stderr + served.stdout
    # A worker whose broker is not there exits at once with the list, instead of restarting forever.
    worker = vetrai(["worker"], tmp_path, timeout=60, VETRAI_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0", **env)
    assert worker.returncode == 1
    assert "VETRAI_BROKER_URL: cannot connect" in worker.stderr and "VETRAI_SECRET_KEY:" in worker.stderr
    assert "dead" not in worker.stderr + worker.stdout


def test_settings_shows_effective_values_with_secrets_masked(tmp_path):
    result = vetrai(
        ["settings", "--json"],
        tmp_path,
        VETRAI_PORT="9123",
        VETRAI_SECRET_KEY="do-not-show-me",
        VETRAI_DATABASE_URL="postgres://vetrai:hunter2@db:5432/vetrai",
        VETRAI_BILLING_STRIPE_API_KEY="sk_test_hidden",
    )
    assert result.returncode == 0, result.stderr
    rows = {row["variable"]: row for row in json.loads(result.stdout)}
    assert rows["VETRAI_PORT"]["value"] == "9123" and rows["VETRAI_PORT"]["default"] == "8000"
    assert rows["VETRAI_SECRET_KEY"]["value"] == "********"
    assert rows["VETRAI_BILLING_STRIPE_API_KEY"]["value"] == "********"
    assert rows["VETRAI_DATABASE_URL"]["value"] == "postgres://vetrai:***@db:5432/vetrai"
    assert rows["VETRAI_DATA_DIR"]["value"] == str(tmp_path / "data")
    assert "do-not-show-me" not in result.stdout and "hunter2" not in result.stdout
    text = vetrai(["settings"], tmp_path, VETRAI_PORT="9123")
    assert "VETRAI_PORT=9123  (default 8000)" in text.stdout


def test_secrets_generate_prints_every_production_secret(tmp_path):
    from dotenv import dotenv_values

    result = vetrai(["secrets", "generate"], tmp_path)
    assert result.returncode == 0, result.stderr
    (tmp_path / ".env").write_text(result.stdout)
    values = dotenv_values(tmp_path / ".env")
    assert values["VETRAI_ENV"] == "production"
    assert len(values["VETRAI_SECRET_KEY"] or "") >= 40
    assert len(values["VETRAI_NOTIFICATIONS_WEBHOOK_SECRET"] or "") >= 40
    assert json.loads(values["VETRAI_AUTH_JWT_PRIVATE_KEYS"] or "")["keys"][0]["crv"] == "P-256"
    again = vetrai(["secrets", "generate"], tmp_path)
    assert again.stdout != result.stdout  # fresh every time


async def test_models_ahead_of_migrations_are_found(tmp_path, monkeypatch):
    from vetrai.core.config import Settings
    from vetrai.core.hooks import ModelSpec
    from vetrai.core.plugins import builtin_plugin_names, load_plugins
    from vetrai.core.preflight import unmigrated_models

    package = tmp_path / "drift_app"
    (package / "migrations").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "migrations" / "__init__.py").write_text("")
    (package / "models.py").write_text(
        "from tortoise import fields\nfrom tortoise.models import Model\n\n\n"
        "class Drift(Model):\n    id = fields.IntField(primary_key=True)\n\n"
        "    class Meta:\n        table = 'drift_drift'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    models = dict(load_plugins(Settings(plugins=builtin_plugin_names())).models)
    assert await unmigrated_models(models) == []
    models["drift"] = ModelSpec("drift", ["drift_app.models"], "drift_app.migrations")
    assert [name.split(".")[0] for name in await unmigrated_models(models)] == ["drift"]


@pytest.mark.parametrize("env", ["production", "development"])
async def test_model_drift_stops_production_and_warns_in_development(env, tmp_path, monkeypatch):
    from vetrai.core import preflight
    from vetrai.plugins.auth.settings import _new_jwks

    async def drift(models):
        return ["workers.0002_auto"]

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(preflight, "unmigrated_models", drift)
    for name, value in {
        "VETRAI_ENV": env,
        "VETRAI_DATA_DIR": str(tmp_path / "data"),
        "VETRAI_SECRET_KEY": "s" * 40,
        "VETRAI_AUTH_JWT_PRIVATE_KEYS": _new_jwks(),
        "VETRAI_NOTIFICATIONS_WEBHOOK_SECRET": "w" * 40,
    }.items():
        monkeypatch.setenv(name, value)
    report = await preflight.run_checks(will_migrate=True)
    found = report.problems if env == "production" else report.warnings
    assert [problem.variable for problem in found] == ["vetrai makemigrations"]
    assert "workers.0002_auto" in found[0].message


def readme_production_snippet() -> str:
    text = README.read_text()
    section = text[text.index("## Production") :]
    return section[section.index("```sh\n") + 6 : section.index("\n```", section.index("```sh"))]


def test_readme_production_snippet_starts_a_production_server(tmp_path, empty_database_url):
    """The README's commands, as written, with only the host names and sizes of this machine."""
    port = free_port()
    storage = f"file://{tmp_path / 'files'}"
    database = empty_database_url
    broker = redis_url() if BACKEND == "postgres" else "memory://"
    snippet = (
        readme_production_snippet()
        .replace("postgres://vetrai:change-me@db:5432/vetrai", database)
        .replace("redis://redis:6379/0", broker)
        .replace("s3://vetrai-files?endpoint_url=http://minio:9000&create_bucket=true", storage)
        .replace("https://vetrai.example.com", f"http://127.0.0.1:{port}")
        .replace("--host 0.0.0.0 --workers 4", f"--host 127.0.0.1 --port {port} --workers 1")
        .replace("--concurrency 100", "--concurrency 4")
    )
    lines = snippet.splitlines()
    serve = next(line for line in lines if line.startswith("vetrai serve"))
    worker = next(line for line in lines if line.startswith("vetrai worker"))
    setup = "\n".join(lines[: lines.index(serve)])
    env = clean_env(tmp_path, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    if BACKEND == "postgres":
        # Redis is shared by every test run: keys and queue of this test's own
        env["VETRAI_REDIS_PREFIX"] = f"readme{port}:"
        env["VETRAI_BROKER_QUEUE"] = f"readme-{port}"
    prepared = subprocess.run(["bash", "-ec", setup], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert prepared.returncode == 0, prepared.stderr
    assert "VETRAI_ENV=production" in (tmp_path / ".env").read_text()
    processes = [subprocess.Popen(["bash", "-c", f"exec {serve}"], cwd=tmp_path, env=env, stderr=subprocess.PIPE)]
    if broker != "memory://":
        processes.append(subprocess.Popen(["bash", "-c", f"exec {worker}"], cwd=tmp_path, env=env))
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert processes[0].poll() is None, processes[0].stderr.read().decode() if processes[0].stderr else ""
            try:
                if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the production server did not become ready"
            time.sleep(0.2)
        registered = httpx.post(
            f"{base}/api/v1/register",
            json={"email": "ops@example.com", "password": "a long passphrase", "organization_name": "Ops"},
        )
        assert registered.status_code == 201, registered.text
        token = registered.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        job = httpx.post(f"{base}/api/v1/workers/jobs", json={"template": "echo", "input": {"a": 1}}, headers=headers)
        assert job.status_code == 202, job.text
        deadline = time.monotonic() + 60
        while (status := httpx.get(f"{base}/api/v1/workers/jobs/{job.json()['id']}", headers=headers).json())[
            "status"
        ] != "succeeded":
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def test_a_subfolder_of_the_project_finds_the_servers_data_dir(tmp_path, monkeypatch):
    from vetrai.core.config import Settings

    (tmp_path / ".vetrai").mkdir()
    (tmp_path / "examples" / "mine").mkdir(parents=True)
    monkeypatch.delenv("VETRAI_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path / "examples" / "mine")
    assert Settings().data_dir == tmp_path.resolve() / ".vetrai"
    monkeypatch.chdir(tmp_path.parent)
    assert Settings(data_dir=Path("elsewhere")).data_dir == tmp_path.parent.resolve() / "elsewhere"
