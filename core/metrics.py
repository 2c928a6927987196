"""Prometheus metrics, one registry per platform so test apps do not share counters."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "vetrai_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "vetrai_http_request_duration_seconds", "HTTP request latency", ["method", "route"], registry=self.registry
        )

    async def render(self) -> bytes:
        return generate_latest(self.registry)
