"""Prometheus metrics, one registry per platform so test apps do not share counters.

Gauges that describe the database (outbox backlog, jobs by status, queue depth) are refreshed
at scrape time by async refreshers (``on_scrape``): plugins add theirs with the
``vetrai_metrics`` hook. A refresher that fails is logged and leaves its gauges as they were,
so one broken query never breaks the scrape.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    from vetrai.core.plugins import LoadedPlugins

log = logging.getLogger("vetrai.metrics")
JOB_TABLE = "workers_job"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "vetrai_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "vetrai_http_request_duration_seconds", "HTTP request latency", ["method", "route"], registry=self.registry
        )
        self.outbox_deliveries = Counter(
            "vetrai_outbox_deliveries_total",
            "Outbox delivery attempts by kind and outcome (delivered, retried, failed)",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.outbox_backlog = Gauge(
            "vetrai_outbox_backlog",
            "Undelivered outbox messages by kind and status (pending, claimed)",
            ["kind", "status"],
            registry=self.registry,
        )
        self.outbox_oldest_age = Gauge(
            "vetrai_outbox_oldest_pending_age_seconds",
            "Seconds since the oldest pending outbox message of a kind became due",
            ["kind"],
            registry=self.registry,
        )
        self._refreshers: list[Callable[[], Awaitable[None]]] = []
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one request and its latency; the labelled children are looked up once per
        (method, route, status), since ``labels()`` costs more than the update itself."""
        children = self._children.get((method, route, status))
        if children is None:
            children = self._children[(method, route, status)] = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
        children[0].inc()
        children[1].observe(seconds)

    def gauge(self, name: str, documentation: str, labels: list[str]) -> Gauge:
        return Gauge(name, documentation, labels, registry=self.registry)

    def on_scrape(self, refresh: Callable[[], Awaitable[None]]) -> None:
        """Run ``refresh`` before each scrape, e.g. to count jobs by status in the database."""
        self._refreshers.append(refresh)

    async def render(self) -> bytes:
        for refresh in self._refreshers:
            try:
                await refresh()
            except Exception:
                log.exception("a metrics refresher failed")
        return generate_latest(self.registry)

    def add_job_collectors(self) -> None:
        """Jobs by status, queue depth and the oldest queued job's age, read from ``workers_job``.

        Registered by the core when the engine (plugin ``workers``) is enabled; plain SQL on the
        engine's table, so the core imports nothing of the engine.
        """
        jobs = self.gauge("vetrai_jobs", "Jobs by status", ["status"])
        depth = self.gauge("vetrai_queue_depth", "Jobs waiting to run", [])
        oldest = self.gauge("vetrai_queue_oldest_age_seconds", "Seconds the oldest queued job has waited", [])

        async def refresh() -> None:
            from tortoise import connections

            connection = connections.get("default")
            _count, rows = await connection.execute_query(
                f"SELECT status, COUNT(*) AS n FROM {JOB_TABLE} GROUP BY status"
            )
            jobs.clear()
            queued = 0
            for row in rows:
                jobs.labels(row["status"]).set(row["n"])
                if row["status"] == "queued":
                    queued = row["n"]
            depth.set(queued)
            _count, rows = await connection.execute_query(
                f"SELECT MIN(created_at) AS oldest FROM {JOB_TABLE} WHERE status = 'queued'"
            )
            first = rows[0]["oldest"] if rows else None
            oldest.set(_age(first))

        self.on_scrape(refresh)


def _age(value: object) -> float:
    """Seconds since a timestamp the driver returned (a datetime on asyncpg, text on SQLite)."""
    if value is None:
        return 0.0
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return 0.0
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - value).total_seconds())


def register_plugin_metrics(metrics: Metrics, plugins: LoadedPlugins) -> None:
    """Every plugin's ``vetrai_metrics``, then the jobs collectors unless the engine registered its own."""
    plugins.call_each("vetrai_metrics", metrics=metrics)
    if "workers" in plugins.infos and "vetrai_jobs" not in metrics.registry._names_to_collectors:
        metrics.add_job_collectors()
