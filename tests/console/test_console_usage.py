"""The organization page's charts by day: runs per day from the engine, tokens per day from the models plugin."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.console.conftest import PLUGINS, wait_for
from tests.console.test_console_pages import run_status, start_run
from vetrai.core.config import Settings


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(plugins=[*PLUGINS, "models"])


def bar_of(html: str, chart: str, day: str) -> int:
    section = html.split(f'id="{chart}-chart"', 1)[1].split("</svg>", 1)[0]
    match = re.search(rf'data-date="{day}" data-value="(\d+)"', section)
    assert match, f"no bar for {day} in the {chart} chart"
    return int(match.group(1))


async def test_runs_and_tokens_per_day(app, browser_client, register, client):
    from vetrai.plugins.models.service import record_usage

    admin = await register()
    today = datetime.now(UTC).date().isoformat()
    browser = browser_client()
    await browser.sign_in(admin["email"])
    await browser.get("/console/organization")
    assert bar_of(browser.last_html, "runs", today) == 0 and bar_of(browser.last_html, "tokens", today) == 0

    for text in ("one", "two"):
        run_id = await start_run(browser, client, admin["headers"], "echo", {"message": text})
        await wait_for(lambda run_id=run_id: _done(client, admin["headers"], run_id), what="the echo run to finish")
    async with app.app.app_context():
        await record_usage(admin["user"]["organization_id"], "gpt-test", 120, 30)
        await record_usage(admin["user"]["organization_id"], "other-model", 50, 0)

    await browser.get("/console/organization")
    assert bar_of(browser.last_html, "runs", today) == 2
    assert bar_of(browser.last_html, "tokens", today) == 200
    assert "Runs per day" in browser.last_html and "Model tokens per day" in browser.last_html


async def test_another_organizations_runs_are_not_counted(browser_client, register, client):
    busy = await register("Busy")
    quiet = await register("Quiet")
    busy_browser = browser_client()
    await busy_browser.sign_in(busy["email"])
    run_id = await start_run(busy_browser, client, busy["headers"], "echo", {"message": "x"})
    await wait_for(lambda: _done(client, busy["headers"], run_id), what="the echo run to finish")
    quiet_browser = browser_client()
    await quiet_browser.sign_in(quiet["email"])
    await quiet_browser.get("/console/organization")
    assert bar_of(quiet_browser.last_html, "runs", datetime.now(UTC).date().isoformat()) == 0


async def _done(client: Any, headers: dict[str, str], run_id: str) -> bool:
    return await run_status(client, headers, run_id) in ("succeeded", "failed")
