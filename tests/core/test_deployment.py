"""The container deployment, checked without a Docker daemon: compose.yaml's settings exist, its
commands are real, the Grafana dashboard queries metrics the platform exports, the Dockerfile
is slim, non-root, starts `vetrai` and has a health check."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from pydantic import AliasChoices

ROOT = Path(__file__).resolve().parents[2]
VETRAI_SERVICES = ("migrate", "server", "worker")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def setting_variables() -> set[str]:
    """Every VETRAI_* variable any built-in plugin's settings read (names and aliases)."""
    from vetrai.core.config import Settings, env_name
    from vetrai.core.plugins import builtin_plugin_names, load_plugins

    loaded = load_plugins(Settings(plugins=builtin_plugin_names()))
    names: set[str] = set()
    for model in [Settings, *(type(value) for value in loaded.settings.values())]:
        for name, field in model.model_fields.items():
            names.add(env_name(model, name))
            if isinstance(field.validation_alias, AliasChoices):
                names.update(str(choice).upper() for choice in field.validation_alias.choices)
    return names


def test_every_vetrai_variable_in_compose_is_a_real_setting(compose):
    known = setting_variables()
    used = {
        (service, variable)
        for service, spec in compose["services"].items()
        for variable in (spec.get("environment") or {})
        if variable.startswith("VETRAI_")
    }
    assert {service for service, _ in used} >= set(VETRAI_SERVICES)
    assert sorted(f"{service}: {variable}" for service, variable in used if variable not in known) == []
    generated = {line.split("=", 1)[0] for line in _generated_env() if "=" in line and not line.startswith("#")}
    assert generated <= known


def _generated_env() -> list[str]:
    from click.testing import CliRunner

    from vetrai.entrypoints.cli import cli

    result = CliRunner().invoke(cli, ["secrets", "generate"])
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def test_compose_runs_the_platform_with_every_service(compose):
    from vetrai.entrypoints.cli import cli

    services = compose["services"]
    assert {"postgres", "redis", "minio", "migrate", "server", "worker", "prometheus", "grafana"} <= set(services)
    for name in VETRAI_SERVICES:
        spec = services[name]
        assert spec["env_file"] == ".env" and spec["build"] == "."
        assert spec["command"][0] in cli.commands, spec["command"]
        environment = spec["environment"]
        assert (
            environment["VETRAI_DATABASE_URL"].startswith("postgres://")
            and "@postgres:5432/" in environment["VETRAI_DATABASE_URL"]
        )
        assert environment["VETRAI_BROKER_URL"] == "redis://redis:6379/0"
        assert (
            environment["VETRAI_STORAGE_URL"].startswith("s3://") and "minio:9000" in environment["VETRAI_STORAGE_URL"]
        )
    assert services["server"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "8000:8000" in services["server"]["ports"]
    prometheus = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    assert prometheus["scrape_configs"][0]["static_configs"][0]["targets"] == ["server:8000"]
    assert prometheus["scrape_configs"][0]["metrics_path"] == "/metrics"
    mounts = services["grafana"]["volumes"]
    assert "./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro" in mounts
    provider = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/vetrai.yaml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    for mount in [*mounts, *services["prometheus"]["volumes"]]:
        source = mount.split(":")[0]
        if source.startswith("./"):
            assert (ROOT / source).exists(), source


async def test_every_metric_the_dashboard_queries_is_exported(full_app):
    client = full_app.test_client()
    assert (await client.get("/health")).status_code == 200
    assert (await client.get("/api/v1/me")).status_code == 401
    assert (await client.get("/metrics")).status_code == 401
    scrape = await client.get("/metrics", headers={"Authorization": "Bearer scrape"})
    exposition = await scrape.get_data(as_text=True)
    exported = {sample.name for family in text_string_to_metric_families(exposition) for sample in family.samples}
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/vetrai.json").read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    assert len(queries) >= 8
    queried = {name for query in queries for name in re.findall(r"\b(vetrai_[a-z0-9_]+)\b", query)}
    assert queried and sorted(queried - exported) == []
    assert all(target["datasource"]["uid"] == "prometheus" for p in dashboard["panels"] for target in p["targets"])
    datasource = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yaml").read_text())
    assert datasource["datasources"][0]["uid"] == "prometheus"


@pytest.fixture
async def full_app(settings_factory):
    from quart.testing.app import TestApp

    from vetrai.core.app import create_app

    async with TestApp(create_app(settings_factory(metrics_token="scrape")), startup_timeout=60) as test_app:
        yield test_app


def test_dockerfile_is_slim_non_root_and_checks_its_health():
    dockerfile = (ROOT / "Dockerfile").read_text()
    instructions = [
        line.split(None, 1)
        for line in dockerfile.splitlines()
        if line and not line[0].isspace() and not line.startswith("#")
    ]
    froms = [rest for keyword, rest in instructions if keyword == "FROM"]
    assert froms and all("-slim" in image for image in froms)
    users = [rest.strip() for keyword, rest in instructions if keyword == "USER"]
    assert users and users[-1] not in {"root", "0"}
    assert ("ENTRYPOINT", '["vetrai"]') in [(keyword, rest.strip()) for keyword, rest in instructions]
    assert "HEALTHCHECK" in dockerfile and "/health" in dockerfile
    for keyword, rest in instructions:
        if keyword == "COPY" and "--from" not in rest:
            for source in rest.split()[:-1]:
                assert (ROOT / source).exists(), source
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".vetrai", ".env"} <= set(ignored)
