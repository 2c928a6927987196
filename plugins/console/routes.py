"""The console's pages: parse the form, call the API in-process, render a template.

Every page but sign-in needs a browser session (``sessions.py``); every POST carries the CSRF
token. Data comes only from the JSON API (``api.py``, ``engine_client.py``), so an API error
becomes the page's error: the API's 404 for another organization's object is a 404 page here.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from quart import Blueprint, Response, current_app, g, redirect, render_template, request, send_from_directory
from quart_schema import hide

from vetrai.core.auth import client_ip
from vetrai.core.errors import ProblemError
from vetrai.core.platform import current_platform
from vetrai.plugins.console import engine_client, sessions
from vetrai.plugins.console.api import ApiError, ConsoleApi
from vetrai.plugins.console.charts import usage_chart
from vetrai.plugins.console.forms import resume_fields, resume_value
from vetrai.plugins.console.graph import layout
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
STREAM_POLL_SECONDS = 0.3
STREAM_MAX_SECONDS = 600
KEEPALIVE_SECONDS = 15
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
    "subscribed": "Thank you: the subscription starts once Stripe confirms the payment.",
}
ROLES = ("user", "org_admin", "support_agent", "billing_admin")
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
    g.console_api = ConsoleApi(current_app._get_current_object(), session.access_token, client_ip())  # type: ignore[attr-defined]
    return None


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


async def _sign_in_page(status: int = 200, error: str | None = None, email: str = "") -> Response:
    pre = request.cookies.get(sessions.PRE_SESSION_COOKIE) or sessions.new_pre_session()
    response = await page(
        "console/login.html",
        status,
        title="Sign in",
        csrf_token=sessions.csrf_token_for(f"pre:{pre}"),
        error=error,
        email=email,
        next=_safe_next(request.args.get("next")),
    )
    sessions.set_pre_session_cookie(response, pre)
    return response


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
    binding = sessions.pre_session_binding(request)
    expected = sessions.csrf_token_for(binding) if binding else None
    if not sessions.csrf_valid(expected, form.get(sessions.CSRF_FIELD)):
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
    pre = request.cookies.get(sessions.PRE_SESSION_COOKIE) or sessions.new_pre_session()
    response = await page(
        "console/signup.html",
        code,
        title="Create an organization",
        csrf_token=sessions.csrf_token_for(f"pre:{pre}"),
        error=error,
        form=form or {},
    )
    sessions.set_pre_session_cookie(response, pre)
    return response


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
    binding = sessions.pre_session_binding(request)
    expected = sessions.csrf_token_for(binding) if binding else None
    values = {
        "email": (form.get("email") or "").strip(),
        "organization_name": (form.get("organization_name") or "").strip(),
        "first_name": (form.get("first_name") or "").strip(),
        "last_name": (form.get("last_name") or "").strip(),
    }
    if not sessions.csrf_valid(expected, form.get(sessions.CSRF_FIELD)):
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


# --- runs -------------------------------------------------------------------------------------


@blueprint.get("/runs")
@hide
async def runs() -> Response:
    """Runs of the organization, filtered by status and template (HTML)."""
    status = request.args.get("status") or None
    template_id = request.args.get("template_id") or None
    if status not in (None, *engine_client.STATUSES):
        status = None
    templates = await engine_client.list_templates(api())
    listing = await engine_client.list_runs(
        api(), status=status, template_id=template_id, cursor=request.args.get("cursor")
    )
    return await page(
        "console/runs.html",
        title="Runs",
        runs=listing["items"],
        next_cursor=listing.get("next_cursor"),
        templates=templates,
        statuses=engine_client.STATUSES,
        status=status,
        template_id=template_id,
        form={},
    )


@blueprint.post("/runs")
@hide
async def start_run() -> Response:
    """Start a run of a template with a JSON input (HTML form)."""
    form = await request.form
    try:
        values = json.loads(form.get("input") or "{}")
        if not isinstance(values, dict):
            raise ValueError("not an object")
    except ValueError:
        return await _runs_with_error("The input must be a JSON object.", form)
    try:
        run = await engine_client.start_run(api(), form.get("template_id") or "", values)
    except ApiError as exc:
        if exc.status in (403, 409, 422):
            return await _runs_with_error(exc.message, form, exc.status)
        raise
    return redirect(f"/console/runs/{run['id']}", 303)


async def _runs_with_error(message: str, form: Any, status: int = 422) -> Response:
    templates = await engine_client.list_templates(api())
    listing = await engine_client.list_runs(api())
    return await page(
        "console/runs.html",
        status,
        title="Runs",
        runs=listing["items"],
        next_cursor=listing.get("next_cursor"),
        templates=templates,
        statuses=engine_client.STATUSES,
        status=None,
        template_id=None,
        error=message,
        form={"template_id": form.get("template_id"), "input": form.get("input")},
    )


@blueprint.get("/runs/<run_id>")
@hide
async def run_view(run_id: str, resume_error: str | None = None, status: int = 200) -> Response:
    """One run: graph, live timeline, input/output, attempts, errors and its actions (HTML)."""
    run = await engine_client.get_run(api(), run_id)
    events = await engine_client.run_events(api(), run_id)
    drawing = None
    if run.get("template_id"):
        try:
            drawing = layout(await engine_client.template_graph(api(), str(run["template_id"])))
        except ApiError as exc:
            if exc.status not in (404, 409):
                raise
    visited = {event["node"] for event in events if event.get("node")}
    schema = engine_client.resume_schema(run) if run["status"] == "interrupted" else None
    return await page(
        "console/run.html",
        status,
        title=f"Run {run['template']}",
        run=run,
        events=events,
        last_event_id=events[-1]["id"] if events else 0,
        drawing=drawing,
        visited=visited,
        prompts=engine_client.interrupt_prompts(run),
        resume_fields=resume_fields(schema) if run["status"] == "interrupted" else None,
        resume_error=resume_error,
        finished=run["status"] in engine_client.FINISHED,
        cancellable=run["status"] in engine_client.CANCELLABLE,
        retryable=run["status"] in engine_client.RETRYABLE,
        pretty=_pretty,
        compact=_compact,
    )


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def _compact(value: Any) -> str:
    # Same text as the script's JSON.stringify; Jinja escapes it for the page.
    return json.dumps(value, separators=(",", ":"), default=str)


@blueprint.post("/runs/<run_id>/cancel")
@hide
async def cancel_run(run_id: str) -> Response:
    """Cancel the run (HTML form)."""
    await _act(run_id, engine_client.cancel_run(api(), run_id))
    return redirect(f"/console/runs/{run_id}?done=cancelled", 303)


@blueprint.post("/runs/<run_id>/retry")
@hide
async def retry_run(run_id: str) -> Response:
    """Run a failed run again from its last checkpoint (HTML form)."""
    await _act(run_id, engine_client.retry_run(api(), run_id))
    return redirect(f"/console/runs/{run_id}?done=retried", 303)


@blueprint.post("/runs/<run_id>/resume")
@hide
async def resume_run(run_id: str) -> Response:
    """Answer an interrupted run: the form's fields become the resume value (HTML form)."""
    run = await engine_client.get_run(api(), run_id)
    form = await request.form
    try:
        value = resume_value(engine_client.resume_schema(run), form)
        await engine_client.resume_run(api(), run_id, value)
    except ValueError as exc:
        return await run_view(run_id, resume_error=str(exc), status=422)
    except ApiError as exc:
        if exc.status in (409, 422):
            return await run_view(run_id, resume_error=exc.message, status=exc.status)
        raise
    return redirect(f"/console/runs/{run_id}?done=resumed", 303)


async def _act(run_id: str, action: Any) -> None:
    try:
        await action
    except ApiError as exc:
        if exc.status == 409:  # already finished meanwhile: show the run as it is now
            raise ConsoleRedirect(f"/console/runs/{run_id}") from None
        raise


@blueprint.get("/runs/<run_id>/stream")
@hide
async def run_stream(run_id: str) -> Response:
    """Server-Sent Events of the run for the page: its new events and status changes (session cookie)."""
    after = request.args.get("after", type=int)
    last_event = request.headers.get("Last-Event-ID", "").strip()
    if last_event.isdigit():
        after = int(last_event)
    # The stream outlives this request's teardown, so it owns a client of its own.
    own_api = ConsoleApi(current_app._get_current_object(), session().access_token, client_ip())  # type: ignore[attr-defined]
    try:
        await engine_client.get_run(own_api, run_id)  # 404 before the stream starts
    except ApiError:
        await own_api.aclose()
        raise
    response = Response(_stream(own_api, run_id, after), mimetype="text/event-stream")
    response.headers["X-Accel-Buffering"] = "no"
    response.timeout = None
    return response


def _sse(event: str, data: Any, event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, default=str)}\n\n".encode()


async def _stream(own_api: ConsoleApi, run_id: str, after: int | None) -> AsyncIterator[bytes]:
    started = quiet_since = time.monotonic()
    last_event: dict[str, Any] | None = None
    snapshot: dict[str, Any] | None = None
    try:
        yield b"retry: 2000\n\n"
        while time.monotonic() - started < STREAM_MAX_SECONDS:
            run = await engine_client.get_run(own_api, run_id)
            events = await engine_client.run_events(own_api, run_id, after)
            for event in events:
                yield _sse("timeline", event, event["id"])
                after, last_event = event["id"], event
            current = {
                key: run.get(key)
                for key in ("status", "current_node", "attempts", "max_attempts", "error", "cancel_requested")
            }
            if current != snapshot:
                snapshot = current
                yield _sse("run", current)
            status = run["status"]
            settled = status in engine_client.FINISHED or status == "interrupted"
            if settled and not events and (last_event is None or _says(last_event, status) or after is None):
                yield _sse("end", {"status": status})
                return
            if events:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
                yield b": keep-alive\n\n"
                quiet_since = time.monotonic()
            await asyncio.sleep(STREAM_POLL_SECONDS)
    except ApiError:
        return
    finally:
        await own_api.aclose()


def _says(event: dict[str, Any], status: str) -> bool:
    return event.get("type") == "status" and (event.get("data") or {}).get("status") == status


# --- keys -------------------------------------------------------------------------------------


async def _keys_page(status: int = 200, **extra: Any) -> Response:
    listing = await api().get("/api/v1/keys", limit=200)
    scopes = await api().get("/api/v1/keys/scopes")
    held = session().principal.scopes
    return await page(
        "console/keys.html",
        status,
        title="API keys",
        keys=listing["items"],
        scopes=[scope for scope in scopes["items"] if scope["scope"] in held],
        **extra,
    )


@blueprint.get("/keys")
@hide
async def keys() -> Response:
    """The organization's API keys (HTML)."""
    return await _keys_page()


@blueprint.post("/keys")
@hide
async def create_key() -> Response:
    """Create a key; the secret is shown on this response only (HTML form)."""
    form = await request.form
    body: dict[str, Any] = {"name": (form.get("name") or "").strip(), "scopes": form.getlist("scopes")}
    requests_limit, window = (form.get("rate_requests") or "").strip(), (form.get("rate_window") or "").strip()
    if requests_limit or window:
        if not (requests_limit.isdigit() and window.isdigit()):
            return await _keys_page(
                422, error="The rate limit needs two whole numbers: requests and seconds.", form=body
            )
        body["rate_limit"] = {"requests": int(requests_limit), "window_seconds": int(window)}
    try:
        created = await api().post("/api/v1/keys", body)
    except ApiError as exc:
        if exc.status in (403, 409, 422):
            return await _keys_page(exc.status, error=exc.message, form=body)
        raise
    return await _keys_page(201, created=created)


@blueprint.get("/keys/<key_id>")
@hide
async def key_usage(key_id: str) -> Response:
    """One key: its scopes and its requests per day over the last 30 days (HTML)."""
    key = await api().get(f"/api/v1/keys/{key_id}")
    usage = await api().get(f"/api/v1/keys/{key_id}/usage")
    return await page("console/key.html", title=f"Key {key['name']}", key=key, usage=usage, chart=usage_chart(usage))


@blueprint.post("/keys/<key_id>/rotate")
@hide
async def rotate_key(key_id: str) -> Response:
    """Issue a replacement key (shown once); the old one keeps working for the API's grace period (HTML form)."""
    created = await api().post(f"/api/v1/keys/{key_id}/rotate")
    return await _keys_page(201, created=created, rotated=True)


@blueprint.post("/keys/<key_id>/revoke")
@hide
async def revoke_key(key_id: str) -> Response:
    """Revoke a key at once (HTML form)."""
    await api().delete(f"/api/v1/keys/{key_id}")
    return redirect("/console/keys?done=revoked", 303)


# --- organization -----------------------------------------------------------------------------


async def _organization_page(status: int = 200, **extra: Any) -> Response:
    principal = session().principal
    if principal.organization_id is None:
        return await error_page(404, "You belong to no organization.")
    organization = await api().get(f"/api/v1/organizations/{principal.organization_id}")
    members = (await api().get("/api/v1/users", limit=200))["items"]
    limits = organization.get("limits") or {}
    usage = [("Members", len(members), limits.get("max_users"), len(members) >= 200)]
    if "keys" in current_platform().plugins.infos:
        keys_listing = (await api().get("/api/v1/keys", limit=200))["items"]
        active = sum(1 for key in keys_listing if key["status"] == "active")
        usage.append(("API keys", active, limits.get("max_api_keys"), len(keys_listing) >= 200))
    if "workers" in current_platform().plugins.infos:
        month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0).isoformat()
        runs_this_month, capped = await engine_client.monthly_run_count(api(), month[:19])
        usage.append(("Runs this month", runs_this_month, limits.get("max_monthly_jobs"), capped))
    audit = (await api().get("/api/v1/audit-logs", limit=20))["items"] if principal.can("auth:audit") else []
    return await page(
        "console/organization.html",
        status,
        audit=audit,
        member_emails={member["id"]: member["email"] for member in members},
        title="Organization",
        organization=organization,
        members=members,
        usage=[
            {
                "label": label,
                "used": used,
                "limit": limit,
                "capped": capped,
                "percent": min(100, round(100 * used / limit)) if limit else 0,
            }
            for label, used, limit, capped in usage
        ],
        roles=ROLES,
        **extra,
    )


@blueprint.get("/organization")
@hide
async def organization() -> Response:
    """Members and roles, plan and limits with usage (HTML)."""
    return await _organization_page()


@blueprint.post("/organization/members")
@hide
async def add_member() -> Response:
    """Add a member with a role and a first password (HTML form)."""
    form = await request.form
    body = {
        "email": (form.get("email") or "").strip(),
        "password": form.get("password") or "",
        "role": form.get("role") or "user",
        "first_name": (form.get("first_name") or "").strip(),
        "last_name": (form.get("last_name") or "").strip(),
    }
    try:
        await api().post("/api/v1/users", body)
    except ApiError as exc:
        if exc.status in (403, 409, 422):
            return await _organization_page(exc.status, error=exc.message, form=body)
        raise
    return redirect("/console/organization?done=member-added", 303)


@blueprint.post("/organization/members/<user_id>")
@hide
async def update_member(user_id: str) -> Response:
    """Change a member's role, or deactivate / reactivate them (HTML form)."""
    form = await request.form
    changes: dict[str, Any] = {}
    if form.get("role"):
        changes["role"] = form["role"]
    if form.get("is_active") in ("true", "false"):
        changes["is_active"] = form["is_active"] == "true"
    try:
        await api().put(f"/api/v1/users/{user_id}", changes)
    except ApiError as exc:
        if exc.status in (403, 409, 422):
            return await _organization_page(exc.status, error=exc.message)
        raise
    return redirect("/console/organization?done=member-updated", 303)


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
