"""The console's blueprint and what every page shares: session, CSRF, headers, layout, sign-in.

Every page but sign-in needs a browser session (``sessions.py``); every POST carries the CSRF
token. Data comes only from the JSON API (``api.py``, ``engine_client.py``), so an API error
becomes the page's error: the API's 404 for another organization's object is a 404 page here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from quart import Blueprint, Response, current_app, g, redirect, render_template, request, send_from_directory
from quart_schema import hide

from vetrai.core.auth import client_ip
from vetrai.core.errors import ProblemError
from vetrai.plugins.console import sessions
from vetrai.plugins.console.api import ApiError, ConsoleApi
from vetrai.plugins.console.navigation import navigation, page_by_name
from vetrai.plugins.console.theme import console_theme

# Hidden from /openapi.json: these are HTML pages and forms, not API operations.
blueprint = Blueprint("console", __name__, template_folder="templates")
STATIC = Path(__file__).with_name("static")

OPEN_ENDPOINTS = frozenset(
    {
        "console.sign_in",
        "console.sign_in_form",
        "console.sign_up",
        "console.sign_up_form",
        "console.static",
        "console.theme_css",
    }
)
NOTICES = {
    "cancelled": "Cancellation requested.",
    "retried": "The run was queued again.",
    "resumed": "Answer sent; the run continues.",
    "revoked": "The key was revoked.",
    "member-added": "The member was added.",
    "member-updated": "The member was updated.",
    "ticket-opened": "Your ticket was opened.",
    "ticket-updated": "The ticket was updated.",
    "replied": "Your reply was added.",
    "all-read": "Every notification is marked read.",
    "organization-updated": "The organization was updated.",
    "theme-saved": "The theme was saved.",
    "preferences-saved": "Your preferences were saved.",
    "subscribed": "Thank you: the subscription starts once Stripe confirms the payment.",
}
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self' https:; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


class ConsoleRedirect(Exception):
    """Leave the page for ``location`` (sign-in when the session is over)."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


# --- session, CSRF and headers ----------------------------------------------------------------


@blueprint.before_request
async def load_browser_session() -> Response | None:
    g.console_session = None
    g.console_api = None
    g.console_clear_cookie = False
    if request.endpoint == "console.static":
        return None
    session = await sessions.load_session(request.cookies.get(sessions.SESSION_COOKIE), ip=client_ip())
    if session is None and request.cookies.get(sessions.SESSION_COOKIE):
        g.console_clear_cookie = True
    g.console_session = session
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if session is None:
        if request.method == "GET" and request.endpoint != "console.run_stream":
            return redirect(f"/console/login?{urlencode({'next': request.full_path.rstrip('?')})}")
        return await error_page(401, "Your session has ended; sign in again.")
    if request.method == "POST":
        form = await request.form
        presented = form.get(sessions.CSRF_FIELD) or request.headers.get(sessions.CSRF_HEADER)
        if not sessions.csrf_valid(session.csrf_token, presented):
            return await error_page(403, "The form has expired or did not come from this console; reload and retry.")
    g.console_api = ConsoleApi(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        session.access_token,
        client_ip(),
        renew=_renew_session,
    )
    return None


async def _renew_session() -> str | None:
    """The API refused the access token mid-page: rotate it (the new cookie goes out with the page)."""
    renewed = await sessions.renew(g.console_session, ip=client_ip())
    if renewed is None:
        return None
    g.console_session = renewed
    return renewed.access_token


@blueprint.after_request
async def session_cookie_and_headers(response: Response) -> Response:
    session: sessions.ConsoleSession | None = g.get("console_session")
    if g.get("console_clear_cookie"):
        sessions.clear_session_cookie(response)
    elif session is not None and session.rotated:
        sessions.set_session_cookie(response, session)
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    return response


@blueprint.teardown_request
async def close_api(_exc: BaseException | None) -> None:
    api: ConsoleApi | None = g.get("console_api")
    if api is not None:
        await api.aclose()


@blueprint.errorhandler(ApiError)
async def api_error(exc: ApiError) -> Response:
    if exc.status == 401:
        g.console_clear_cookie = True
        return redirect("/console/login")
    return await error_page(exc.status if exc.status in (403, 404, 409, 422, 429) else 502, exc.message)


@blueprint.errorhandler(ConsoleRedirect)
async def leave(exc: ConsoleRedirect) -> Response:
    return redirect(exc.location, 303)


def api() -> ConsoleApi:
    return g.console_api


def session() -> sessions.ConsoleSession:
    return g.console_session


async def page(template: str, code: int = 200, **context: Any) -> Response:
    """Render ``template`` in the layout: navigation, theme, CSRF token and notices."""
    current = g.get("console_session")
    principal = current.principal if current else None
    theme = await console_theme(g.get("console_api")) if current else None
    body = await render_template(
        template,
        principal=principal,
        nav=navigation(principal) if principal else [],
        theme=theme,
        csrf_token=context.pop("csrf_token", None) or (current.csrf_token if current else ""),
        notice=NOTICES.get(request.args.get("done", "")),
        **context,
    )
    return Response(body, status=code, mimetype="text/html")


async def error_page(status: int, detail: str) -> Response:
    titles = {401: "Signed out", 403: "Not allowed", 404: "Not found", 409: "Conflict", 422: "Invalid input"}
    return await page("console/error.html", status, title=titles.get(status, "Something went wrong"), detail=detail)


@blueprint.get("/static/<path:filename>")
@hide
async def static(filename: str) -> Response:
    """The console's stylesheet and script, served from the package."""
    return await send_from_directory(STATIC, filename)


@blueprint.get("/theme.css")
@hide
async def theme_css() -> Response:
    """The organization's colours as CSS variables (defaults when signed out)."""
    current = g.get("console_session")
    api_client = None
    if current is not None:
        api_client = ConsoleApi(current_app._get_current_object(), current.access_token, client_ip())  # type: ignore[attr-defined]
    try:
        theme = await console_theme(api_client)
    finally:
        if api_client is not None:
            await api_client.aclose()
    css = f":root {{ --vc-primary: {theme['primary']}; --vc-on-primary: {theme['on_primary']}; }}\n"
    response = Response(css, mimetype="text/css")
    response.headers["Vary"] = "Cookie"
    return response


# --- sign in and out --------------------------------------------------------------------------


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/console") and not value.startswith("//"):
        return value
    return "/console/"


async def _pre_session_page(template: str, status: int, **context: Any) -> Response:
    """A signed-out form page: its CSRF token is bound to the pre-session cookie (set if new)."""
    pre = request.cookies.get(sessions.PRE_SESSION_COOKIE) or sessions.new_pre_session()
    response = await page(template, status, csrf_token=sessions.csrf_token_for(f"pre:{pre}"), **context)
    sessions.set_pre_session_cookie(response, pre)
    return response


async def _sign_in_page(status: int = 200, error: str | None = None, email: str = "") -> Response:
    return await _pre_session_page(
        "console/login.html",
        status,
        title="Sign in",
        error=error,
        email=email,
        next=_safe_next(request.args.get("next")),
    )


@blueprint.get("/login")
@hide
async def sign_in_form() -> Response:
    """Sign-in page (HTML)."""
    if g.console_session is not None:
        return redirect(_safe_next(request.args.get("next")))
    return await _sign_in_page()


@blueprint.post("/login")
@hide
async def sign_in() -> Response:
    """Check the email and password with the auth plugin and start a browser session (HTML form)."""
    form = await request.form
    if not sessions.pre_session_csrf_valid(request, form.get(sessions.CSRF_FIELD)):
        return await _sign_in_page(403, "The sign-in form expired; please try again.")
    email = (form.get("email") or "").strip()
    try:
        new_session = await sessions.sign_in(
            email, form.get("password") or "", user_agent=request.headers.get("User-Agent"), ip=client_ip()
        )
    except ProblemError as exc:
        status = exc.status if exc.status in (401, 429) else 400
        return await _sign_in_page(status, exc.detail or "Sign-in failed.", email)
    g.console_session = new_session
    response = redirect(_safe_next(form.get("next")), 303)
    response.delete_cookie(sessions.PRE_SESSION_COOKIE, path=sessions.COOKIE_PATH)
    return response


async def _sign_up_page(code: int = 200, error: str | None = None, form: dict[str, str] | None = None) -> Response:
    return await _pre_session_page(
        "console/signup.html", code, title="Create an organization", error=error, form=form or {}
    )


@blueprint.get("/signup")
@hide
async def sign_up_form() -> Response:
    """Sign-up page: a new organization with you as its admin (HTML)."""
    if g.console_session is not None:
        return redirect("/console/")
    return await _sign_up_page()


@blueprint.post("/signup")
@hide
async def sign_up() -> Response:
    """Register through the API's public sign-up, then start a browser session (HTML form)."""
    form = await request.form
    values = {
        "email": (form.get("email") or "").strip(),
        "organization_name": (form.get("organization_name") or "").strip(),
        "first_name": (form.get("first_name") or "").strip(),
        "last_name": (form.get("last_name") or "").strip(),
    }
    if not sessions.pre_session_csrf_valid(request, form.get(sessions.CSRF_FIELD)):
        return await _sign_up_page(403, "The form expired; please try again.", values)
    password = form.get("password") or ""
    public_api = ConsoleApi(current_app._get_current_object(), None, client_ip())  # type: ignore[attr-defined]
    try:
        body = {**values, "organization_name": values["organization_name"] or None, "password": password}
        await public_api.post("/api/v1/register", body)
    except ApiError as exc:
        if exc.status in (409, 422, 429):
            return await _sign_up_page(exc.status, exc.message, values)
        raise
    finally:
        await public_api.aclose()
    g.console_session = await sessions.sign_in(
        values["email"], password, user_agent=request.headers.get("User-Agent"), ip=client_ip()
    )
    response = redirect("/console/", 303)
    response.delete_cookie(sessions.PRE_SESSION_COOKIE, path=sessions.COOKIE_PATH)
    return response


@blueprint.post("/logout")
@hide
async def sign_out() -> Response:
    """End the browser session: the auth session is revoked and the cookie cleared (HTML form)."""
    await sessions.sign_out(session())
    g.console_session = None
    g.console_clear_cookie = True
    return redirect("/console/login", 303)


@blueprint.get("/")
@hide
async def home() -> Response:
    """The console's start page: the first entry of the menu (the runs when the engine is enabled)."""
    entries = navigation(session().principal)
    return redirect(entries[0]["url"] if entries else "/console/organization")


# --- pages contributed by plugins -------------------------------------------------------------


@blueprint.get("/x/<name>")
@hide
async def plugin_page(name: str) -> Response:
    """A page another plugin renders through ``vetrai_console_pages`` (HTML)."""
    principal = session().principal
    entry = page_by_name(principal, name)
    if entry is None or entry.render is None:
        return await error_page(404, "There is no such page.")
    content = Markup(await entry.render(principal))  # the plugin escapes what it renders
    return await page("console/plugin_page.html", title=entry.title, content=content, current=name)
