"""Liveness, readiness (with real outages where the backend allows one) and metrics."""

from __future__ import annotations

import socket

from tortoise import connections

from tests.conftest import BACKEND
from vetrai.core.app import create_app
from vetrai.core.conformance.backend import pg_admin


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_ready_when_everything_answers(client):
    response = await client.get("/health/ready")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == "ok"


async def test_not_ready_when_redis_is_unreachable(settings_factory):
    app = create_app(settings_factory(plugins=[], redis_url=f"redis://127.0.0.1:{closed_port()}/0"))
    async with app.test_app() as test_app:
        response = await test_app.test_client().get("/health/ready")
        assert response.status_code == 503
        body = await response.get_json()
        assert body["checks"]["redis"] == "unavailable"
        assert body["checks"]["database"] == "ok"
        assert (await test_app.test_client().get("/health")).status_code == 200


async def test_not_ready_when_the_database_is_down(settings_factory, tmp_path, monkeypatch):
    if BACKEND == "postgres":
        name = f"vetrai_down_{tmp_path.name[-8:].replace('-', '_')}"
        await pg_admin(f'CREATE DATABASE "{name}"')
        settings = settings_factory(plugins=[], database_url=f"postgres://postgres@127.0.0.1:5432/{name}")
    else:
        settings = settings_factory(plugins=[])
    app = create_app(settings)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        assert (await client.get("/health/ready")).status_code == 200
        if BACKEND == "postgres":
            await pg_admin(f'DROP DATABASE "{name}" WITH (FORCE)')
        else:
            # An embedded SQLite file cannot be taken down from outside, so the query fails here.
            async def refuse(*args, **kwargs):
                raise OSError("database is down")

            monkeypatch.setattr(connections.get("default"), "execute_query", refuse)
        response = await client.get("/health/ready")
        assert response.status_code == 503
        assert (await response.get_json())["checks"]["database"] == "unavailable"
        monkeypatch.undo()


async def test_metrics_count_requests_by_route_and_status(app, client, monkeypatch):
    monkeypatch.setattr(app.app.extensions["vetrai"].settings, "metrics_token", "scrape-token")
    await client.get("/health")
    await client.get("/api/v1/organizations")
    scraped = await client.get("/metrics", headers={"Authorization": "Bearer scrape-token"})
    assert scraped.status_code == 200
    text = (await scraped.get_data()).decode()
    assert 'vetrai_http_requests_total{method="GET",route="/health",status="200"} 1.0' in text
    assert 'route="/api/v1/organizations",status="401"' in text
    assert "vetrai_http_request_duration_seconds_bucket" in text
