"""A real browser on a real server: Debian's chromium (headless) against the app under hypercorn.

One chromium process per module (started here with a DevTools endpoint; each test connects
to it over the DevTools protocol). Each test serves the real app on a free port (in-process
with hypercorn, or as a separate ``vetrai serve`` process), sets up an organization through
the HTTP API, and checks in the browser what a visitor sees: the theme's colors applied, the logo
decoded, navigation between published pages, the themed 404, and that no injected script ran.
A screenshot of the page is kept as an artifact (``$VETRAI_TEST_ARTIFACTS`` or the test's tmp dir).

Chromium is required in CI (.ci/run installs it); elsewhere the module is skipped with a
reason when /usr/bin/chromium (or ``$VETRAI_TEST_CHROMIUM``) is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser import chromium_endpoint  # noqa: F401  (fixture)
from tests.serving import serving
from vetrai.core.conformance import free_port, subprocess_env

from .conftest import THEME, png

XSS_CONTENT = """
<p id="intro" style="color: rgb(1, 2, 3)">Welcome to our public page.</p>
<p><a href="/p/{slug}/pricing">See pricing</a></p>
<script>window.__xss = "script tag"</script>
<img src="/nope.png" onerror="window.__xss = 'onerror'">
<svg onload="window.__xss = 'svg'"><circle r="1"/></svg>
<a id="js-link" href="javascript:window.__xss='link'">click me</a>
<iframe srcdoc="<script>parent.__xss='iframe'</script>"></iframe>
<div style="background-image: url(javascript:window.__xss='css')">styled</div>
<style>body { background: red !important; }</style>
</style><script>window.__xss = "breakout"</script>
<details open ontoggle="window.__xss='toggle'">details</details>
"""


@pytest.fixture
async def browser(chromium_endpoint: str) -> AsyncIterator[Any]:  # noqa: F811
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        connected = await playwright.chromium.connect_over_cdp(chromium_endpoint)
        context = await connected.new_context(viewport={"width": 1024, "height": 700})
        try:
            yield context
        finally:
            await context.close()


@pytest.fixture
async def server(settings: Any) -> AsyncIterator[str]:
    """The real app served by hypercorn on a free port; yields its base URL."""
    from vetrai.core.app import create_app

    async with serving(create_app(settings)) as base:
        yield base


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    directory = Path(os.environ.get("VETRAI_TEST_ARTIFACTS") or tmp_path / "artifacts")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


async def publish_site(base: str) -> dict[str, Any]:
    """Register an organization and publish a themed site through the HTTP API."""
    async with httpx.AsyncClient(base_url=base) as http:
        registered = await http.post(
            "/api/v1/register",
            json={
                "email": f"owner-{uuid.uuid4().hex[:8]}@example.com",
                "password": "a long passphrase",
                "organization_name": "Acme Browser",
            },
        )
        assert registered.status_code == 201, registered.text
        headers = {"Authorization": f"Bearer {registered.json()['access_token']}"}
        theme = await http.post(
            "/api/v1/themes",
            json={
                **THEME,
                "custom_css": (
                    ".vt-title { letter-spacing: 3px; } body { background: url(https://evil.example.com/x.png) }"
                ),
            },
            headers=headers,
        )
        assert theme.status_code == 201, theme.text
        slug = theme.json()["public_url"].strip("/").split("/")[-1]
        logo = await http.post(
            "/api/v1/themes/assets/logo",
            files={"file": ("logo.png", png(40, 20, (0, 128, 0)), "image/png")},
            headers=headers,
        )
        assert logo.status_code == 200, logo.text
        pages = [
            {
                "slug": "home",
                "title": "Home",
                "content": XSS_CONTENT.replace("{slug}", slug),
                "is_published": True,
                "nav_order": 1,
            },
            {
                "slug": "pricing",
                "title": "Pricing",
                "content": "<p id='plans'>Plans and prices.</p>",
                "is_published": True,
                "nav_order": 2,
            },
            {"slug": "draft", "title": "Draft", "content": "<p>not yet</p>", "is_published": False},
        ]
        for page in pages:
            created = await http.post("/api/v1/themes/pages", json=page, headers=headers)
            assert created.status_code == 201, created.text
        return {"slug": slug, "logo_url": logo.json()["logo_url"]}


async def test_a_visitor_sees_the_branded_page_and_no_injected_script_runs(server, browser, artifacts):
    site = await publish_site(server)
    slug = site["slug"]
    page = await browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), asyncio.ensure_future(dialog.dismiss())))
    response = await page.goto(f"{server}/p/{slug}/home", wait_until="load")
    assert response is not None and response.status == 200
    assert "script-src 'none'" in (await response.header_value("content-security-policy") or "")
    await page.screenshot(path=str(artifacts / "themes-home.png"), full_page=True)

    state = await page.evaluate(
        """() => {
            const root = getComputedStyle(document.documentElement);
            const header = getComputedStyle(document.querySelector('.vt-header'));
            const body = getComputedStyle(document.body);
            const logo = document.querySelector('img.vt-logo');
            return {
                primary: root.getPropertyValue('--vt-primary').trim(),
                accent: root.getPropertyValue('--vt-accent').trim(),
                headerBackground: header.backgroundColor,
                bodyBackground: body.backgroundColor,
                bodyColor: body.color,
                bodyFont: body.fontFamily,
                titleSpacing: getComputedStyle(document.querySelector('.vt-title')).letterSpacing,
                introColor: getComputedStyle(document.getElementById('content-intro')).color,
                logoComplete: logo.complete,
                logoWidth: logo.naturalWidth,
                logoHeight: logo.naturalHeight,
                xss: window.__xss,
                scripts: document.scripts.length,
                iframes: document.querySelectorAll('iframe, svg, style, form').length,
                jsLinks: [...document.querySelectorAll('a')].filter(a => a.href.startsWith('javascript:')).length,
                handlers: [...document.querySelectorAll('*')]
                    .filter(el => [...el.attributes].some(a => a.name.startsWith('on'))).length,
            };
        }"""
    )
    assert state["primary"] == "#123456" and state["accent"] == "#ff8800"
    assert state["headerBackground"] == "rgb(18, 52, 86)"  # #123456
    assert state["bodyBackground"] == "rgb(250, 250, 250)"  # #fafafa, not the injected red
    assert state["bodyColor"] == "rgb(34, 34, 34)"  # #222222
    assert "Acme Sans" in state["bodyFont"]
    assert state["titleSpacing"] == "3px"  # the custom CSS applied (style-src 'self')
    assert state["introColor"] == "rgb(1, 2, 3)"  # a filtered inline style attribute applies
    assert state["logoComplete"] and (state["logoWidth"], state["logoHeight"]) == (40, 20)
    assert state["xss"] is None  # undefined in the page: no injected script ran
    assert state["scripts"] == 0 and state["iframes"] == 0 and state["jsLinks"] == 0 and state["handlers"] == 0

    # clicking the (sanitized) javascript: link does nothing either
    await page.click("#content-js-link")
    await page.click("details")
    assert await page.evaluate("() => window.__xss") is None
    assert dialogs == []

    # navigation between published pages
    await page.click(f"nav.vt-nav a[href='/p/{slug}/pricing']")
    await page.wait_for_url(f"{server}/p/{slug}/pricing")
    assert await page.text_content("h1.vt-title") == "Pricing"
    assert await page.get_attribute(f"nav.vt-nav a[href='/p/{slug}/pricing']", "aria-current") == "page"
    nav = await page.eval_on_selector_all("nav.vt-nav a", "links => links.map(a => a.textContent)")
    assert nav == ["Home", "Pricing"]
    await page.click("a.vt-brand")
    await page.wait_for_url(f"{server}/p/{slug}/")
    assert await page.eval_on_selector_all(".vt-page-list a", "links => links.map(a => a.textContent)") == [
        "Home",
        "Pricing",
    ]
    await page.click(".vt-page-list a >> text=Home")
    await page.wait_for_url(f"{server}/p/{slug}/home")
    assert await page.evaluate("() => window.__xss") is None
    await page.close()


async def test_unpublished_page_is_a_themed_404(server, browser, artifacts):
    site = await publish_site(server)
    slug = site["slug"]
    page = await browser.new_page()
    response = await page.goto(f"{server}/p/{slug}/draft", wait_until="load")
    assert response is not None and response.status == 404
    await page.screenshot(path=str(artifacts / "themes-404.png"))
    assert await page.text_content("h1.vt-title") == "Page not found"
    assert "not yet" not in await page.content()
    themed = await page.evaluate(
        """() => ({
            header: getComputedStyle(document.querySelector('.vt-header')).backgroundColor,
            logo: document.querySelector('img.vt-logo').naturalWidth,
        })"""
    )
    assert themed == {"header": "rgb(18, 52, 86)", "logo": 40}
    unknown = await page.goto(f"{server}/p/no-such-organization/home", wait_until="load")
    assert unknown is not None and unknown.status == 404
    default_header = await page.evaluate("() => getComputedStyle(document.querySelector('.vt-header')).backgroundColor")
    assert default_header == "rgb(37, 99, 235)"  # the default theme's #2563eb
    await page.close()


@pytest.fixture
async def vetrai_serve(settings: Any, tmp_path: Path) -> AsyncIterator[str]:
    """``vetrai serve`` as a separate process on a free port (what an operator runs); its URL."""
    import signal
    import sys
    import time

    port = free_port()
    env = subprocess_env(
        settings,
        VETRAI_PLUGINS="auth,keys,themes",
        VETRAI_AUTO_MIGRATE="true",
        VETRAI_HOST="127.0.0.1",
        VETRAI_PORT=str(port),
    )
    log_path = tmp_path / "vetrai-serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("vetrai")), "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            async with httpx.AsyncClient() as probe:
                while True:
                    assert process.poll() is None, log_path.read_text()
                    with contextlib.suppress(httpx.TransportError):
                        if (await probe.get(f"{base}/health")).status_code == 200:
                            break
                    assert time.monotonic() < deadline, "vetrai serve did not start"
                    await asyncio.sleep(0.1)
            yield base
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def test_a_page_served_by_vetrai_serve(vetrai_serve, browser, artifacts):
    site = await publish_site(vetrai_serve)
    page = await browser.new_page()
    response = await page.goto(f"{vetrai_serve}/p/{site['slug']}/home", wait_until="load")
    assert response is not None and response.status == 200
    await page.screenshot(path=str(artifacts / "themes-vetrai-serve.png"))
    state = await page.evaluate(
        """() => ({
            header: getComputedStyle(document.querySelector('.vt-header')).backgroundColor,
            logo: document.querySelector('img.vt-logo').naturalWidth,
            xss: window.__xss,
            scripts: document.scripts.length,
        })"""
    )
    assert state == {"header": "rgb(18, 52, 86)", "logo": 40, "xss": None, "scripts": 0}
    await page.close()
