"""The ``vetrai_console_pages`` hook: collected and validated at load, shown in the console's navigation."""

from __future__ import annotations

from html import escape
from typing import Any

import pytest

from tests.console.conftest import PASSWORD
from vetrai.core.errors import PluginError
from vetrai.core.hooks import ConsolePage, PluginInfo, hookimpl
from vetrai.core.permissions import ORG_ADMIN


class PagesPlugin:
    """A third-party plugin contributing one rendered page and one link for admins."""

    def __init__(self, pages: list[ConsolePage] | None = None, name: str = "consolecheck") -> None:
        self.pages = pages
        self.name = name

    @hookimpl
    def vetrai_plugin_info(self) -> PluginInfo:
        return PluginInfo(name=self.name, version="0.1.0", description="console pages", requires=("console",))

    @hookimpl
    def vetrai_console_pages(self) -> list[ConsolePage]:
        if self.pages is not None:
            return self.pages

        async def render(principal: Any) -> str:
            return f"<p id='greeting'>Hello, {escape(principal.role)} of {escape(str(principal.organization_id))}</p>"

        return [
            ConsolePage("greetings", "Greetings", render=render, order=15),
            ConsolePage("admin-docs", "Admin docs", url="/docs", roles=(ORG_ADMIN,), order=90),
        ]


@pytest.fixture
async def app(settings_factory):
    from vetrai.core.app import create_app

    application = create_app(
        settings_factory(plugins=["auth", "keys", "workers", "console"]), extra_plugins=[PagesPlugin()]
    )
    async with application.test_app() as test_app:
        yield test_app


async def test_vetrai_console_pages_are_in_the_navigation_and_rendered(browser_client, register, client):
    admin = await register()
    browser = browser_client()
    await browser.sign_in(admin["email"])
    await browser.get("/console/runs")
    nav = browser.last_html[browser.last_html.index('<ul class="nav">') : browser.last_html.index("</ul>")]
    hrefs = [part.split('"')[1] for part in nav.split("href=")[1:]]
    assert hrefs == [
        "/console/runs",
        "/console/x/greetings",
        "/console/playground",
        "/console/keys",
        "/console/organization",
        "/docs",
    ]
    page = await browser.get("/console/x/greetings")
    assert page.status_code == 200
    assert "<p id='greeting'>Hello, org_admin of " in browser.last_html
    assert (await browser.get("/console/x/admin-docs")).status_code == 404  # a link, not a rendered page
    assert (await browser.get("/console/x/nope")).status_code == 404

    created = await client.post(
        "/api/v1/users",
        json={"email": "viewer@example.com", "password": PASSWORD, "role": "user", "email_verified": True},
        headers=admin["headers"],
    )
    assert created.status_code == 201
    viewer = browser_client()
    await viewer.sign_in("viewer@example.com")
    await viewer.get("/console/runs")
    assert 'href="/docs"' not in viewer.last_html and 'href="/console/x/greetings"' in viewer.last_html


async def _render(principal: Any) -> str:
    return ""


@pytest.mark.parametrize(
    ("pages", "message"),
    [
        ([ConsolePage("runs", "Mine", url="/x")], "already declared by 'console'"),
        ([ConsolePage("Bad Name", "x", url="/x")], "must match"),
        ([ConsolePage("blank", " ", url="/x")], "needs a title"),
        ([ConsolePage("both", "Both", url="/x", render=_render)], "exactly one of url and render"),
        ([ConsolePage("neither", "Neither")], "exactly one of url and render"),
        ([ConsolePage("offsite", "Off", url="https://evil.example.com/")], "path on this server"),
        ([ConsolePage("offsite2", "Off", url="//evil.example.com/")], "path on this server"),
        (["not a page"], "must return ConsolePage items"),
    ],
)
def test_vetrai_console_pages_are_validated_naming_the_plugin(settings_factory, pages, message):
    from vetrai.core.plugins import load_plugins

    with pytest.raises(PluginError) as caught:
        load_plugins(settings_factory(plugins=["auth", "console"]), extra=[PagesPlugin(pages)])
    assert caught.value.plugin == "consolecheck"
    assert message in str(caught.value)


def test_vetrai_console_pages_twice_in_one_plugin_is_an_error(settings_factory):
    from vetrai.core.plugins import load_plugins

    pages = [ConsolePage("same", "One", url="/a"), ConsolePage("same", "Two", url="/b")]
    with pytest.raises(PluginError, match="'same' is already declared"):
        load_plugins(settings_factory(plugins=["auth", "console"]), extra=[PagesPlugin(pages)])
