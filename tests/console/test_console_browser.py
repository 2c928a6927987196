"""The console in a real browser: Debian's chromium (headless, through playwright) against hypercorn.

Each test signs in through the form and works like a person would: starts runs and watches
them move through the graph live, answers an interrupt, cancels, creates and revokes a key,
adds a member, on a laptop and a phone width. axe-core (vendored under vendor/axe-core, MPL-2.0)
checks every page for WCAG 2 A/AA violations. Screenshots go to ``$VETRAI_TEST_ARTIFACTS`` or
tests/artifacts/console; with ``VETRAI_DOCS_SCREENSHOTS=1`` the ones docs/console.md shows are
also written to docs/console/.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.browser import chromium_endpoint  # noqa: F401  (fixture)
from tests.console.conftest import FAST_ENGINE, PASSWORD, PLUGINS, POSTGRES
from tests.serving import serving
from tests.themes.conftest import THEME
from vetrai.core.config import Settings
from vetrai.core.conformance import backend, in_process_worker

ROOT = Path(__file__).resolve().parents[2]
AXE = Path(__file__).with_name("vendor") / "axe-core" / "axe.min.js"
DOCS_SHOTS = ROOT / "docs" / "console"
# The app the module's server runs, for the steps that need a user no API can create (a super admin).
SERVED: dict[str, Any] = {}
PLAYGROUND_PROJECT = Path(__file__).with_name("playground_project") / "langgraph.json"
# Records the playground's streamed tokens across the reload that follows the stream's end.
RECORD_TOKENS = """
const Original = window.EventSource;
window.EventSource = function (url) {
  const source = new Original(url);
  source.addEventListener('token', (event) => {
    const seen = JSON.parse(sessionStorage.getItem('tokens') || '[]');
    seen.push(JSON.parse(event.data).text);
    sessionStorage.setItem('tokens', JSON.stringify(seen));
  });
  return source;
};
"""


# One server and one browser connection for the whole module (starting a server with every
# plugin migrated is most of a test's time); each test makes its own organization and users.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, vetrai_pg_database: str | None) -> Any:
    """Every plugin the console has pages for, so the menu is complete in the screenshots."""
    if vetrai_pg_database is not None:
        asyncio.run(backend.pg_truncate(vetrai_pg_database))
    return Settings(
        **backend.settings_values(
            tmp_path_factory.mktemp("console-browser"),
            vetrai_pg_database,
            plugins=[*PLUGINS, "support", "notifications", "billing"],
        )
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(settings: Any) -> AsyncIterator[str]:
    """The app under hypercorn on a free port (with a taskiq receiver on Postgres); its base URL."""
    from vetrai.core.app import create_app
    from vetrai.engine.spec import workflows

    # The playground's graph (a fake chat model) stays registered while the server runs.
    langgraph = pytest.MonkeyPatch()
    langgraph.setenv("VETRAI_LANGGRAPH_CONFIG", str(PLAYGROUND_PROJECT))
    workflows.cache_clear()
    with pytest.MonkeyPatch.context() as env:
        for name, value in FAST_ENGINE.items():
            env.setenv(name, value)
        app = create_app(settings)
    SERVED["app"] = app
    try:
        async with serving(app) as base:
            if POSTGRES:
                async with in_process_worker(app.extensions["vetrai"]):
                    yield base
            else:
                yield base
    finally:
        langgraph.undo()
        workflows.cache_clear()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def playwright_browser(chromium_endpoint: str) -> AsyncIterator[Any]:  # noqa: F811
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        yield await playwright.chromium.connect_over_cdp(chromium_endpoint)


@pytest_asyncio.fixture(loop_scope="module")
async def browser(playwright_browser: Any) -> AsyncIterator[Any]:
    context = await playwright_browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(20_000)
    try:
        yield context
    finally:
        await context.close()


@pytest.fixture
def shots() -> Any:
    directory = Path(os.environ.get("VETRAI_TEST_ARTIFACTS") or ROOT / "tests" / "artifacts") / "console"
    directory.mkdir(parents=True, exist_ok=True)

    async def take(page: Any, name: str, *, docs: bool = False, full_page: bool = True) -> None:
        await page.screenshot(path=str(directory / f"{name}.png"), full_page=full_page)
        if docs and os.environ.get("VETRAI_DOCS_SCREENSHOTS") == "1":
            DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(DOCS_SHOTS / f"{name}.png"), full_page=full_page)

    return take


async def accessible(page: Any) -> None:
    """No WCAG 2 A/AA violation that axe-core finds on the current page."""
    await page.evaluate(AXE.read_text() + "\n;undefined")
    result = await page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}});
            return r.violations.map(v => `${v.id}: ${v.help} -> ${v.nodes.map(n => n.target.join(' ')).join(', ')}`);
        }"""
    )
    assert result == [], f"{page.url}:\n" + "\n".join(result)


async def register(base: str, organization: str = "Acme Console") -> dict[str, Any]:
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    async with httpx.AsyncClient(base_url=base) as http:
        response = await http.post(
            "/api/v1/register", json={"email": email, "password": PASSWORD, "organization_name": organization}
        )
        assert response.status_code == 201, response.text
        return {"email": email, "headers": {"Authorization": f"Bearer {response.json()['access_token']}"}}


async def sign_in(page: Any, base: str, email: str, shots: Any = None) -> None:
    await page.goto(f"{base}/console/runs")
    await page.wait_for_url(re.compile(r"/console/login\?next="))
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    if shots is not None:
        await shots(page, "sign-in", docs=True, full_page=False)
        await accessible(page)
    await page.get_by_label("Password").press("Enter")  # the keyboard submits the form
    await page.wait_for_url(f"{base}/console/runs")


async def start_run(page: Any, base: str, template: str, values: dict[str, Any]) -> str:
    await page.goto(f"{base}/console/runs")
    await page.get_by_label("Template", exact=True).first.select_option(label=template)
    await page.get_by_label("Input (JSON object)").fill(json.dumps(values))
    await page.get_by_role("button", name="Start run").click()
    await page.wait_for_url(re.compile(r"/console/runs/[0-9a-f-]{36}$"))
    return page.url.rsplit("/", 1)[-1]


def accept_dialogs(page: Any) -> None:
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))


async def test_sign_in_start_a_run_and_watch_it_move_live(server, browser, shots):
    admin = await register(server)
    page = await browser.new_page()
    await sign_in(page, server, admin["email"], shots)
    await start_run(page, server, "sleep", {"seconds": 4, "steps": 8})

    # The graph highlights the node the run is in, and progress events stream in while it runs.
    await page.wait_for_selector('#graph .node.current[data-node="sleep"]')
    progress = "() => document.querySelectorAll('#timeline li .event-type').length"
    await page.wait_for_function(
        "() => [...document.querySelectorAll('#timeline .event-type')].filter(e => e.textContent === "
        "'progress').length >= 2"
    )
    seen = await page.evaluate(progress)
    await page.wait_for_function(
        f"() => ({progress})() >= {seen + 2} && document.getElementById('run-status').textContent === 'running'"
    )
    assert await page.text_content("#run-node") == "sleep"
    await shots(page, "run-live", docs=True)
    await accessible(page)

    # When it finishes the page shows the output; the end node is reached.
    await page.wait_for_selector("#run-output:has-text('slept_seconds')", timeout=30_000)  # reloaded when done
    assert await page.text_content("#run-status") == "succeeded"
    await page.wait_for_selector('#graph .node.done[data-node="__end__"]')
    assert '"slept_seconds": 4' in await page.text_content("#run-output")
    assert not await page.query_selector("#cancel-run")

    await page.goto(f"{server}/console/runs")
    await page.wait_for_selector("table.runs .status-succeeded")
    await shots(page, "runs", docs=True)
    await accessible(page)
    await page.close()


async def test_a_new_admin_signs_up_runs_triage_and_answers_an_approval(server, browser, shots):
    page = await browser.new_page()
    await page.goto(f"{server}/console/login")
    await page.click("text=Create an organization")
    await page.get_by_label("Organization name").fill("Triage Corp")
    await page.get_by_label("Email").fill(f"founder-{uuid.uuid4().hex[:6]}@example.com")
    await page.get_by_label("Password").fill(PASSWORD)
    await accessible(page)
    await page.get_by_role("button", name="Create organization").click()
    await page.wait_for_url(f"{server}/console/runs")

    document = "Invoice 42 is overdue, please pay.\n\nThe production server is down: urgent outage."
    await start_run(page, server, "document_triage", {"title": "Inbox", "text": document})
    await page.wait_for_selector("#run-output:has-text('sections')", timeout=30_000)
    assert await page.text_content("#run-status") == "succeeded"
    drawn = await page.eval_on_selector_all("#graph .node", "nodes => nodes.map(n => n.dataset.node)")
    done = await page.eval_on_selector_all("#graph .node.done", "nodes => nodes.map(n => n.dataset.node)")
    assert len(drawn) >= 5 and "__end__" in done and len(done) >= 4
    await shots(page, "run-triage", docs=True)

    await start_run(page, server, "approval", {"request": "Publish the quarterly report?"})
    form = await page.wait_for_selector("#resume-form")  # the page reloads once the run waits
    assert "Publish the quarterly report?" in await page.text_content(".interrupt")
    await page.get_by_label("Yes").check()
    await page.get_by_label("Comment (optional)").fill("Approved by the console test")
    await shots(page, "interrupt", docs=True)
    await accessible(page)
    await (await form.query_selector("button[type=submit]")).click()
    await page.wait_for_selector("#run-output:has-text('approved')", timeout=30_000)
    assert await page.text_content("#run-status") == "succeeded"
    output = json.loads(await page.text_content("#run-output"))
    assert output == {"approved": True, "comment": "Approved by the console test"}
    await page.close()


async def test_cancel_a_running_run(server, browser):
    admin = await register(server)
    page = await browser.new_page()
    accept_dialogs(page)
    await sign_in(page, server, admin["email"])
    await start_run(page, server, "sleep", {"seconds": 60, "steps": 60})
    await page.wait_for_selector('#graph .node.current[data-node="sleep"]')
    await page.click("#cancel-run")
    await page.wait_for_selector("#run-status.status-cancelled", timeout=30_000)
    await page.wait_for_selector("#cancel-run", state="detached", timeout=30_000)
    await page.close()


async def test_create_copy_and_revoke_a_key_in_the_organizations_colours(server, browser, shots):
    admin = await register(server)
    async with httpx.AsyncClient(base_url=server) as http:
        theme = await http.post("/api/v1/themes", json={**THEME, "primary_color": "#123456"}, headers=admin["headers"])
        assert theme.status_code == 201, theme.text
    await browser.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page = await browser.new_page()
    accept_dialogs(page)
    await sign_in(page, server, admin["email"])
    assert await page.evaluate("() => getComputedStyle(document.querySelector('.topbar')).backgroundColor") == (
        "rgb(18, 52, 86)"
    )
    await page.click("nav[aria-label=Console] >> text=API keys")
    await page.get_by_label("Name").fill("deploy bot")
    await page.check("input[name=scopes][value='workers:read']")
    await page.check("input[name=scopes][value='workers:write']")
    await page.get_by_role("button", name="Create key").click()
    secret = await (await page.wait_for_selector("#new-key")).input_value()
    assert secret.startswith("vk_")
    await page.click("#copy-key")
    await page.wait_for_selector(".copy-status:has-text('Copied.')")
    assert await page.evaluate("() => navigator.clipboard.readText()") == secret
    await shots(page, "keys", docs=True)
    await accessible(page)
    async with httpx.AsyncClient(base_url=server) as http:
        for _ in range(3):
            assert (await http.get("/api/v1/workers/jobs", headers={"X-API-Key": secret})).status_code == 200

    # Its usage: requests per day, once the counters are flushed.
    await page.goto(f"{server}/console/keys")
    await page.click("text=deploy bot")
    for _ in range(100):
        if await page.text_content("#total-requests") == "3":
            break
        await page.wait_for_timeout(100)
        await page.reload()
    assert await page.text_content("#total-requests") == "3"
    assert await page.get_attribute("svg.chart g.bar:last-of-type", "data-requests") == "3"
    await shots(page, "key-usage", docs=True)
    await accessible(page)
    await page.goto(f"{server}/console/keys")

    await page.get_by_role("button", name="Revoke deploy bot").click()
    await page.wait_for_selector("text=The key was revoked.")
    assert await page.locator("tr", has_text="deploy bot").count() == 0  # the API lists live keys only
    assert secret not in await page.content()
    async with httpx.AsyncClient(base_url=server) as http:
        assert (await http.get("/api/v1/workers/jobs", headers={"X-API-Key": secret})).status_code == 401
    await page.close()


async def test_add_a_member_change_their_role_and_see_plan_usage(server, browser, shots):
    admin = await register(server)
    page = await browser.new_page()
    await sign_in(page, server, admin["email"])
    await page.goto(f"{server}/console/organization")
    await page.get_by_label("Email").fill("grace@example.com")
    await page.get_by_label("First name").fill("Grace")
    await page.get_by_label("First password").fill("another long passphrase")
    await page.get_by_label("Role", exact=True).select_option("support_agent")
    await page.get_by_role("button", name="Add member").click()
    await page.wait_for_selector("text=The member was added.")
    row = page.locator("tr", has_text="grace@example.com")
    assert await row.locator("select").input_value() == "support_agent"
    await row.locator("select").select_option("billing_admin")
    await row.get_by_role("button", name="Change role").click()
    await page.wait_for_selector("text=The member was updated.")
    assert await page.locator("tr", has_text="grace@example.com").locator("select").input_value() == "billing_admin"
    meters = await page.eval_on_selector_all("meter", "ms => ms.map(m => [m.value, m.max])")
    assert meters and meters[0][0] == 2  # two members of the plan's max_users
    await shots(page, "organization", docs=True)
    await accessible(page)
    await page.close()


async def add_member(base: str, admin: dict[str, Any], email: str, role: str) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        response = await http.post(
            "/api/v1/users",
            json={"email": email, "password": PASSWORD, "role": role, "email_verified": True},
            headers=admin["headers"],
        )
        assert response.status_code == 201, response.text


async def test_a_ticket_opened_by_a_requester_and_answered_by_an_agent(server, playwright_browser, shots):
    admin = await register(server)
    await add_member(server, admin, "customer@example.com", "user")
    await add_member(server, admin, "agent@example.com", "support_agent")
    customer_context = await playwright_browser.new_context(viewport={"width": 1280, "height": 860})
    agent_context = await playwright_browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        customer = await customer_context.new_page()
        await sign_in(customer, server, "customer@example.com")
        await customer.click("nav[aria-label=Console] >> text=Support")
        await customer.get_by_label("Subject").fill("Invoices do not download")
        await customer.get_by_label("Description").fill("Clicking the PDF link does nothing.")
        await customer.get_by_label("Priority").select_option("high")
        await customer.get_by_role("button", name="Open ticket").click()
        await customer.wait_for_selector("text=Your ticket was opened.")
        ticket_url = customer.url.split("?")[0]

        agent = await agent_context.new_page()
        await sign_in(agent, server, "agent@example.com")
        await agent.goto(f"{server}/console/support")
        await agent.click("text=Invoices do not download")
        await agent.get_by_role("button", name="Assign to me").click()
        await agent.wait_for_selector("#ticket-assignee:has-text('agent@example.com')")
        await agent.get_by_label("Reply").fill("Checking the storage bucket now.")
        await agent.get_by_label("Internal note (the requester does not see it)").check()
        await agent.get_by_role("button", name="Send reply").click()
        await agent.wait_for_selector("text=Your reply was added.")
        await agent.get_by_label("Reply").fill("Fixed: please try again.")
        await agent.get_by_role("button", name="Send reply").click()
        await agent.wait_for_selector("text=Fixed: please try again.")
        await agent.get_by_label("Status", exact=True).select_option("in_progress")
        await agent.get_by_role("button", name="Set status").click()
        await agent.wait_for_selector("#ticket-status:has-text('in_progress')")
        await shots(agent, "support-ticket", docs=True)
        await accessible(agent)

        await customer.goto(ticket_url)
        assert "Fixed: please try again." in await customer.text_content(".conversation")
        assert "storage bucket" not in await customer.content()
        assert await customer.text_content("#ticket-status") == "in_progress"
        await accessible(customer)
    finally:
        await customer_context.close()
        await agent_context.close()


async def test_a_phone_width_has_no_horizontal_scrolling(server, playwright_browser, shots):
    admin = await register(server)
    context = await playwright_browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = await context.new_page()
        await sign_in(page, server, admin["email"])
        for path in (
            "/console/runs",
            "/console/keys",
            "/console/organization",
            "/console/support",
            "/console/inbox",
            "/console/billing",
        ):
            await page.goto(f"{server}{path}")
            overflow = await page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
            await accessible(page)
        await page.goto(f"{server}/console/runs")
        await shots(page, "phone-runs", docs=True)
    finally:
        await context.close()


async def test_theme_editor_notification_settings_and_the_super_admin_page(server, browser, playwright_browser, shots):
    from types import SimpleNamespace

    from tests.auth.conftest import create_member

    admin = await register(server, "Brand Console")
    bystander = await register(server, "Bystander Inc")
    page = await browser.new_page()
    accept_dialogs(page)
    await sign_in(page, server, admin["email"])

    await page.click("nav[aria-label=Console] >> text=Theme")
    await page.get_by_label("Primary colour").fill("#7c2d12")
    await page.get_by_role("button", name="Save theme").click()
    await page.wait_for_selector("text=The theme was saved.")
    async with httpx.AsyncClient(base_url=server) as http:
        saved = (await http.get("/api/v1/themes", headers=admin["headers"])).json()
    assert saved["primary_color"] == "#7c2d12"
    frame = page.frame_locator("#theme-preview")
    await frame.locator("body").wait_for()
    await shots(page, "theme", docs=True)
    await accessible(page)

    await page.goto(f"{server}/console/notifications/preferences")
    first_box = page.locator("input[name=on]:not([disabled])").first
    await first_box.uncheck()
    await page.get_by_role("button", name="Save preferences").click()
    await page.wait_for_selector("text=Your preferences were saved.")
    assert not await page.locator("input[name=on]:not([disabled])").first.is_checked()
    await accessible(page)
    async with httpx.AsyncClient(base_url=server) as http:
        created = await http.post(
            "/api/v1/notifications/templates",
            headers=admin["headers"],
            json={"name": "weekly_digest", "channel": "email", "subject": "Hi {{ user.name }}", "body": "Your week."},
        )
        assert created.status_code == 201, created.text
    await page.click("text=Templates")
    await page.click("table.templates >> text=weekly_digest")
    await page.wait_for_selector("#preview-subject:has-text('Hi Ada')")
    await shots(page, "notification-template", docs=True)
    await accessible(page)
    await page.close()

    served = SimpleNamespace(app=SERVED["app"], test_client=SERVED["app"].test_client)
    root = await create_member(served, "super_admin", password=PASSWORD)
    root_context = await playwright_browser.new_context(viewport={"width": 1280, "height": 860})
    page = await root_context.new_page()
    accept_dialogs(page)
    await sign_in(page, server, root.email)
    await page.click("nav[aria-label=Console] >> text=Organizations")
    await page.get_by_role("button", name="Deactivate Bystander Inc").click()
    await page.wait_for_selector("text=The organization was updated.")
    await page.get_by_role("button", name="Reactivate Bystander Inc").wait_for()
    async with httpx.AsyncClient(base_url=server) as http:
        assert (await http.get("/api/v1/me", headers=bystander["headers"])).status_code == 401
    await shots(page, "admin", docs=True)
    await accessible(page)
    await root_context.close()


async def test_chat_in_the_playground_with_tokens_streaming(server, browser, shots):
    from tests.langgraph_server.project.graphs import REPLY

    admin = await register(server, "Playground Co")
    page = await browser.new_page()
    await page.add_init_script(RECORD_TOKENS)
    await sign_in(page, server, admin["email"])
    await page.click("nav[aria-label=Console] >> text=Playground")
    await page.get_by_label("Graph or assistant").select_option(label="fake_chat (fake_chat)")
    await page.get_by_role("button", name="Start thread").click()
    await page.get_by_label("Message", exact=True).fill("hi")
    await page.get_by_role("button", name="Send").click()
    await page.wait_for_selector(f"#chat li.chat-ai:not(#streaming):has-text('{REPLY}')")
    tokens = await page.evaluate("() => JSON.parse(sessionStorage.getItem('tokens') || '[]')")
    assert len(tokens) > 1 and "".join(tokens) == REPLY
    assert await page.locator("table.history tr[data-checkpoint-id]").count() >= 3
    await shots(page, "playground", docs=True)
    await accessible(page)
    await page.close()
