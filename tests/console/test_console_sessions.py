"""Browser sessions of the console: cookie flags, sign-in errors, CSRF, logout, deactivation, refresh."""

from __future__ import annotations

from typing import Any

import pytest

from tests.console.conftest import PASSWORD, csrf_of, wait_for


def set_cookie_headers(response: Any) -> list[str]:
    return response.headers.getlist("Set-Cookie")


async def test_signed_out_pages_redirect_to_sign_in_and_the_api_stays_bearer_only(browser_client, register, client):
    admin = await register()
    browser = browser_client()
    response = await browser.get("/console/keys")
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/login?next=%2Fconsole%2Fkeys"

    signed_in = await browser.sign_in(admin["email"])
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/console/runs"
    cookie = browser.cookie()
    assert cookie and "." in cookie
    # The session cookie is not an API credential: the JSON API answers 401 to it.
    me = await client.get("/api/v1/me", headers={"Cookie": f"vetrai_console={cookie}"})
    assert me.status_code == 401
    assert me.headers["Content-Type"].startswith("application/problem+json")


async def test_the_session_cookie_is_httponly_lax_and_scoped_to_the_console(browser_client, register):
    admin = await register()
    browser = browser_client()
    response = await browser.sign_in(admin["email"])
    session_cookie = next(header for header in set_cookie_headers(response) if header.startswith("vetrai_console="))
    assert "HttpOnly" in session_cookie
    assert "SameSite=Lax" in session_cookie
    assert "Path=/console" in session_cookie
    assert "Secure" not in session_cookie  # VETRAI_ENV=test on http: Secure only in production / https
    page = await browser.get("/console/runs")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"


async def test_secure_cookie_when_the_public_url_is_https(settings_factory):
    from vetrai.core.app import create_app

    secure_app = create_app(settings_factory(plugins=["auth", "console"], public_url="https://console.example.com"))
    async with secure_app.test_app() as running:
        client = running.test_client()
        registered = await client.post(
            "/api/v1/register",
            json={"email": "secure@example.com", "password": PASSWORD, "organization_name": "Secure"},
        )
        assert registered.status_code == 201
        login = await client.get("/console/login")
        token = csrf_of(await login.get_data(as_text=True))
        response = await client.post(
            "/console/login", form={"email": "secure@example.com", "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 303
        session_cookie = next(h for h in set_cookie_headers(response) if h.startswith("vetrai_console="))
        assert "Secure" in session_cookie and "HttpOnly" in session_cookie


async def test_wrong_password_shows_the_auth_plugins_error(browser_client, register):
    admin = await register()
    browser = browser_client()
    response = await browser.sign_in(admin["email"], "not the password")
    assert response.status_code == 401
    assert "invalid email or password" in browser.last_html
    assert browser.cookie() is None


async def test_sign_in_form_needs_its_csrf_token(browser_client, register):
    admin = await register()
    browser = browser_client()
    await browser.get("/console/login")
    forged = await browser.post("/console/login", {"email": admin["email"], "password": PASSWORD}, csrf="0" * 64)
    assert forged.status_code == 403
    assert browser.cookie() is None
    # Without the pre-session cookie (a cross-site form) the token cannot match either.
    stranger = browser_client()
    token = csrf_of(browser.last_html)
    cross_site = await stranger.post("/console/login", {"email": admin["email"], "password": PASSWORD}, csrf=token)
    assert cross_site.status_code == 403 and stranger.cookie() is None


@pytest.mark.parametrize("token", [None, "", "deadbeef", "forged-token-from-another-session"])
async def test_state_changing_forms_without_the_csrf_token_are_refused(browser_client, register, client, token):
    admin = await register()
    browser = browser_client()
    await browser.sign_in(admin["email"])
    response = await browser.post("/console/keys", {"name": "csrf-victim", "scopes": "workers:read"}, csrf=token)
    assert response.status_code == 403
    assert "did not come from this console" in browser.last_html
    keys = await client.get("/api/v1/keys", headers=admin["headers"])
    assert [key["name"] for key in (await keys.get_json())["items"]] == []
    logout = await browser.post("/console/logout", csrf=token)
    assert logout.status_code == 403
    assert (await browser.get("/console/runs")).status_code == 200  # still signed in


async def test_a_csrf_token_of_another_session_is_refused(browser_client, register, client):
    admin = await register()
    first, second = browser_client(), browser_client()
    await first.sign_in(admin["email"])
    await second.sign_in(admin["email"])
    await second.get("/console/keys")
    other_token = csrf_of(second.last_html)
    response = await first.post("/console/keys", {"name": "x", "scopes": "workers:read"}, csrf=other_token)
    assert response.status_code == 403


async def test_logout_revokes_the_session_server_side(browser_client, register):
    admin = await register()
    browser = browser_client()
    await browser.sign_in(admin["email"])
    stolen = browser.cookie()
    response = await browser.submit("/console/runs", "/console/logout")
    assert response.status_code == 303 and response.headers["Location"] == "/console/login"
    assert browser.cookie() is None
    # Replaying the old cookie (copied before logout) does not work: the auth session is revoked.
    replay = browser_client()
    replay.client.set_cookie("localhost", "vetrai_console", stolen, path="/console")
    again = await replay.get("/console/runs")
    assert again.status_code == 302 and again.headers["Location"].startswith("/console/login")


async def test_a_deactivated_users_session_stops_at_once(browser_client, register, client):
    admin = await register()
    created = await client.post(
        "/api/v1/users",
        json={"email": "member@example.com", "password": PASSWORD, "role": "user", "email_verified": True},
        headers=admin["headers"],
    )
    assert created.status_code == 201
    member_id = (await created.get_json())["id"]
    member = browser_client()
    await member.sign_in("member@example.com")
    assert (await member.get("/console/runs")).status_code == 200

    admin_browser = browser_client()
    await admin_browser.sign_in(admin["email"])
    deactivated = await admin_browser.submit(
        "/console/organization", f"/console/organization/members/{member_id}", {"is_active": "false"}
    )
    assert deactivated.status_code == 303
    response = await member.get("/console/runs")
    assert response.status_code == 302 and response.headers["Location"].startswith("/console/login")
    refused = await member.sign_in("member@example.com")
    assert refused.status_code == 401 and "deactivated" in member.last_html


@pytest.fixture
def short_access_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two seconds, not one: a rotation checks the access token it was just given, and on a
    # loaded 2-core CI machine (two test passes and chromium) one second could pass in between.
    monkeypatch.setenv("VETRAI_AUTH_ACCESS_TOKEN_TTL_SECONDS", "2")


async def test_an_expired_access_token_is_rotated_with_the_refresh_token(short_access_tokens, register, browser_client):
    admin = await register()
    browser = browser_client()
    await browser.sign_in(admin["email"])
    first = browser.cookie()

    async def rotated() -> bool:
        response = await browser.get("/console/runs")
        assert response.status_code == 200, response.headers.get("Location")
        return browser.cookie() != first

    await wait_for(rotated, timeout=10, what="the access token to expire and rotate")
    assert (await browser.get("/console/keys")).status_code == 200


async def test_console_pages_are_not_api_operations(client):
    document = await (await client.get("/openapi.json")).get_json()
    assert not [path for path in document["paths"] if path.startswith("/console")]
    stylesheet = await client.get("/console/static/console.css")
    assert stylesheet.status_code == 200 and stylesheet.mimetype == "text/css"
    script = await client.get("/console/static/console.js")
    assert script.status_code == 200 and "EventSource" in await script.get_data(as_text=True)
    assert (await client.get("/console/static/../routes.py")).status_code == 404


async def test_a_new_organization_signs_up_in_the_console(browser_client, client):
    browser = browser_client()
    await browser.get("/console/signup")
    token = csrf_of(browser.last_html)
    form = {"organization_name": "Fresh Org", "email": "founder@example.com", "first_name": "Ada"}
    weak = await browser.post("/console/signup", {**form, "password": "short"}, csrf=token)
    assert weak.status_code == 422 and 'id="signup-error"' in browser.last_html
    assert 'value="Fresh Org"' in browser.last_html  # the form keeps what was typed
    forged = await browser.post("/console/signup", {**form, "password": PASSWORD}, csrf="f" * 64)
    assert forged.status_code == 403
    created = await browser.post("/console/signup", {**form, "password": PASSWORD}, csrf=token)
    assert created.status_code == 303 and browser.cookie()
    await browser.get("/console/organization")
    assert "<h1>Fresh Org</h1>" in browser.last_html and "founder@example.com" in browser.last_html
    again = browser_client()
    await again.get("/console/signup")
    taken = await again.post("/console/signup", {**form, "password": PASSWORD}, csrf=csrf_of(again.last_html))
    assert taken.status_code == 409 and again.cookie() is None


async def test_an_api_call_refused_mid_page_is_retried_once_with_a_renewed_token(app, register):
    from vetrai.plugins.console.api import ApiError, ConsoleApi

    admin = await register()
    fresh = admin["headers"]["Authorization"].split(" ", 1)[1]
    renewals: list[str] = []

    async def renew() -> str | None:
        renewals.append("renewed")
        return fresh

    api = ConsoleApi(app.app, "expired-or-unknown-token", renew=renew)
    try:
        me = await api.get("/api/v1/me")
        assert me["email"] == admin["email"] and renewals == ["renewed"]
    finally:
        await api.aclose()

    async def cannot_renew() -> str | None:
        renewals.append("failed")
        return None

    api = ConsoleApi(app.app, "expired-or-unknown-token", renew=cannot_renew)
    try:
        with pytest.raises(ApiError) as refused:
            await api.get("/api/v1/me")
        assert refused.value.status == 401 and renewals == ["renewed", "failed"]
    finally:
        await api.aclose()
