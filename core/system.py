"""Service routes at the server root: info, liveness, readiness, metrics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel
from quart import Blueprint, Response
from quart_schema import validate_response
from tortoise import connections

from vetrai import __version__
from vetrai.core.auth import bearer_token
from vetrai.core.errors import ProblemError, unauthorized
from vetrai.core.openapi import public
from vetrai.core.platform import current_platform
from vetrai.core.plugins import describe
from vetrai.core.security import constant_time_equals

blueprint = Blueprint("system", __name__)
log = logging.getLogger("vetrai.health")
CHECK_TIMEOUT = 2.0


class PluginDescription(BaseModel):
    name: str
    version: str
    description: str
    requires: list[str]
    hooks: list[str]


class ServiceInfo(BaseModel):
    name: str
    version: str
    docs: str
    openapi: str
    plugins: list[PluginDescription]


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


@blueprint.get("/")
@public
@validate_response(ServiceInfo)
async def service_info() -> dict[str, Any]:
    """Service name, version and the enabled plugins."""
    platform = current_platform()
    return {
        "name": "VetrAI Platform",
        "version": __version__,
        "docs": "/docs",
        "openapi": "/openapi.json",
        "plugins": describe(platform.plugins),
    }


@blueprint.get("/health")
@public
@validate_response(Health)
async def health() -> dict[str, Any]:
    """Liveness: the process answers."""
    return {"status": "ok"}


async def _check(name: str, probe: Callable[[], Awaitable[object]]) -> tuple[str, str]:
    try:
        await asyncio.wait_for(probe(), CHECK_TIMEOUT)
        return name, "ok"
    except Exception as exc:
        log.warning("readiness check %s failed: %r", name, exc)
        return name, "unavailable"


@blueprint.get("/health/ready")
@public
@validate_response(Readiness, 200)
@validate_response(Readiness, 503)
async def readiness() -> tuple[dict[str, Any], int]:
    """Readiness: the database and the broker (and Redis, when configured) answer."""
    platform = current_platform()

    async def database() -> None:
        await connections.get("default").execute_query("SELECT 1")

    probes: dict[str, Callable[[], Awaitable[object]]] = {"database": database}
    if platform.redis is not None:
        probes["redis"] = platform.redis.ping
    if platform.settings.broker_url.startswith(("redis://", "rediss://")):
        from redis.asyncio import Redis

        async def broker() -> None:
            client = Redis.from_url(platform.settings.broker_url)
            try:
                await client.ping()
            finally:
                await client.aclose()

        probes["broker"] = broker
    else:
        probes["broker"] = lambda: asyncio.sleep(0)
    checks = dict(await asyncio.gather(*(_check(name, probe) for name, probe in probes.items())))
    ready = all(value == "ok" for value in checks.values())
    return {"status": "ready" if ready else "unavailable", "checks": checks}, 200 if ready else 503


@blueprint.get("/metrics")
@public
async def metrics() -> Response:
    """Prometheus metrics: requests by route and status, latency, jobs by status.

    They show every route's traffic and every organization's job counts, so they are not
    public by default: the scraper sends ``VETRAI_METRICS_TOKEN`` as a bearer token, or the
    deployment opts in with ``VETRAI_METRICS_PUBLIC=true``.
    """
    platform = current_platform()
    settings = platform.settings
    if not settings.metrics_public:
        if not settings.metrics_token:
            raise ProblemError(403, "metrics are not exposed: set VETRAI_METRICS_TOKEN (or VETRAI_METRICS_PUBLIC=true)")
        presented = bearer_token()
        if presented is None or not constant_time_equals(presented, settings.metrics_token):
            raise unauthorized("GET /metrics needs the metrics token as a bearer token")
    body = await platform.metrics.render()
    return Response(body, content_type="text/plain; version=0.0.4; charset=utf-8")
