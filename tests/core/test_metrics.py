"""Prometheus: plugins' metrics through ``vetrai_metrics``, and the jobs gauges read at scrape time."""

from __future__ import annotations

from typing import Any

from vetrai.core.hooks import PluginInfo, hookimpl


class MetricsPlugin:
    def __init__(self) -> None:
        self.scrapes = 0

    @hookimpl
    def vetrai_plugin_info(self) -> PluginInfo:
        return PluginInfo(name="metricscheck", version="0.0.1")

    @hookimpl
    def vetrai_metrics(self, metrics: Any) -> None:
        gauge = metrics.gauge("vetrai_metricscheck_scrapes", "Scrapes seen by the test plugin", [])

        async def refresh() -> None:
            self.scrapes += 1
            gauge.set(self.scrapes)

        async def broken() -> None:
            raise RuntimeError("a refresher that fails must not break the scrape")

        metrics.on_scrape(broken)
        metrics.on_scrape(refresh)


async def test_vetrai_metrics_registers_a_plugins_gauge_refreshed_at_scrape(settings_factory):
    from vetrai.core.app import create_app

    plugin = MetricsPlugin()
    app = create_app(settings_factory(plugins=[]), extra_plugins=[plugin])
    async with app.test_app():
        metrics = app.extensions["vetrai"].metrics
        await metrics.render()
        text = (await metrics.render()).decode()
    assert "vetrai_metricscheck_scrapes 2.0" in text
    assert "vetrai_outbox_backlog" in text


async def test_jobs_by_status_queue_depth_and_oldest_age_come_from_the_database(settings_factory):
    from vetrai.core.app import create_app
    from vetrai.core.models import Organization
    from vetrai.engine.models import Job

    app = create_app(settings_factory(plugins=["auth", "workers"]))
    async with app.test_app():
        organization = await Organization.create(name="Metrics", slug="metrics")
        for status in ("queued", "queued", "running", "succeeded"):
            await Job.create(organization_id=organization.id, template_name="echo", workflow="echo", status=status)
        text = (await app.extensions["vetrai"].metrics.render()).decode()
    assert 'vetrai_jobs{status="queued"} 2.0' in text
    assert 'vetrai_jobs{status="running"} 1.0' in text
    assert "vetrai_queue_depth 2.0" in text
    oldest = next(line for line in text.splitlines() if line.startswith("vetrai_queue_oldest_age_seconds "))
    assert float(oldest.split()[1]) >= 0.0
