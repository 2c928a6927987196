"""The branding editor: colours, font and CSS saved through the themes API, the logo uploaded, the preview framed."""

from __future__ import annotations

import io
from typing import Any

from werkzeug.datastructures import FileStorage

from tests.console.conftest import csrf_of
from tests.themes.conftest import png


async def theme_of(client: Any, headers: dict[str, str]) -> dict[str, Any]:
    return await (await client.get("/api/v1/themes", headers=headers)).get_json()


COLOURS = {
    "primary_color": "#7c2d12",
    "secondary_color": "#334155",
    "accent_color": "#0f766e",
    "background_color": "#ffffff",
    "text_color": "#111827",
}


async def test_admin_saves_the_theme_and_sees_it_in_the_preview(browser_client, register, client):
    admin = await register("Brand Co")
    browser = browser_client()
    await browser.sign_in(admin["email"])
    await browser.get("/console/theme")
    assert 'href="/console/theme"' in browser.last_html and 'id="theme-preview"' in browser.last_html
    public_url = (await theme_of(client, admin["headers"]))["public_url"]
    assert f'src="{public_url}"' in browser.last_html  # the default theme: no version to bust the cache with

    created = await browser.submit(
        "/console/theme",
        "/console/theme",
        {**COLOURS, "font_family": "Georgia, serif", "custom_css": "h1 { letter-spacing: 2px; }"},
    )
    assert created.status_code == 303 and created.headers["Location"].endswith("?done=theme-saved")
    theme = await theme_of(client, admin["headers"])
    assert theme["is_default"] is False and theme["primary_color"] == "#7c2d12"
    assert theme["font_family"].startswith("Georgia") and "letter-spacing" in theme["custom_css"]

    updated = await browser.submit(
        "/console/theme", "/console/theme", {**COLOURS, "primary_color": "#1e3a8a", "custom_css": ""}
    )
    assert updated.status_code == 303
    theme = await theme_of(client, admin["headers"])
    assert theme["primary_color"] == "#1e3a8a" and theme["custom_css"] == ""
    await browser.get("/console/theme")
    assert 'value="#1e3a8a"' in browser.last_html
    assert f'src="{theme["public_url"]}?v=' in browser.last_html  # a saved theme reloads the framed page

    public_css = await client.get(theme["css_url"])
    assert "#1e3a8a" in await public_css.get_data(as_text=True)


async def test_a_bad_colour_is_refused_and_nothing_changes(browser_client, register, client):
    admin = await register()
    browser = browser_client()
    await browser.sign_in(admin["email"])
    refused = await browser.submit("/console/theme", "/console/theme", {**COLOURS, "primary_color": "not a colour"})
    assert refused.status_code == 422 and 'id="theme-error"' in browser.last_html
    assert 'value="not a colour"' in browser.last_html
    assert (await theme_of(client, admin["headers"]))["is_default"] is True


async def test_logo_upload_goes_through_the_themes_api(browser_client, register, client):
    admin = await register()
    browser = browser_client()
    await browser.sign_in(admin["email"])
    await browser.get("/console/theme")
    token = csrf_of(browser.last_html)

    async def upload(content: bytes, name: str, mimetype: str) -> Any:
        response = await browser.client.post(
            "/console/theme/logo",
            form={"csrf_token": token},
            files={"logo": FileStorage(stream=io.BytesIO(content), filename=name, content_type=mimetype)},
        )
        browser.last_html = await response.get_data(as_text=True)
        return response

    refused = await upload(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "logo.svg", "image/svg+xml")
    assert refused.status_code in (415, 422) and 'id="theme-error"' in browser.last_html
    assert (await theme_of(client, admin["headers"]))["logo_url"] is None

    uploaded = await upload(png(), "logo.png", "image/png")
    assert uploaded.status_code == 303, browser.last_html[:400]
    logo_url = (await theme_of(client, admin["headers"]))["logo_url"]
    assert logo_url
    await browser.get("/console/theme")
    assert 'id="current-logo"' in browser.last_html


async def test_a_member_may_not_edit_the_theme(browser_client, register, client):
    admin = await register()
    member_browser = browser_client()
    admin_browser = browser_client()
    await admin_browser.sign_in(admin["email"])
    await admin_browser.submit(
        "/console/organization",
        "/console/organization/members",
        {"email": "plain@example.com", "password": "a long passphrase", "role": "user"},
    )
    await member_browser.sign_in("plain@example.com")
    await member_browser.get("/console/runs")
    assert 'href="/console/theme"' not in member_browser.last_html
    assert (await member_browser.get("/console/theme")).status_code == 403
    refused = await member_browser.submit("/console/runs", "/console/theme", {**COLOURS})
    assert refused.status_code == 403
    assert (await theme_of(client, admin["headers"]))["is_default"] is True
