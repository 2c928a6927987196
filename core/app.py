"""The app factory: one Quart app around one Platform, with every enabled plugin mounted."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any, cast

from quart import Quart, Response, g, request
from quart.testing.app import TestApp
from quart_schema import QuartSchema, tag_blueprint
from quart_schema.openapi import Info

from vetrai import __version__
from vetrai.core import responses, tracing
from vetrai.core.auth import current_principal, warn_untrusted_forwarding
from vetrai.core.config import Settings
from vetrai.core.errors import ProblemError, register_error_handlers, unprocessable
from vetrai.core.json_depth import MAX_JSON_DEPTH, THREAD_ABOVE_BYTES, too_deep
from vetrai.core.logging import configure_logging
from vetrai.core.openapi import (
    VetraiOpenAPIProvider,
    check_component_names,
    check_route_conflicts,
    install_docs_assets,
    is_public,
    security_schemes,
)
from vetrai.core.platform import Platform

access_log = logging.getLogger("vetrai.access")
DOCS_ENDPOINTS = frozenset({"openapi", "swagger_ui", "redoc_ui", "docs_asset", "static"})


class PlatformTestApp(TestApp):
    """Quart's test app, given the time a start-up that migrates (or a loaded CI machine) needs:
    Quart's 6 s default cancelled migrations half-way and left the database closed under them."""

    def __init__(self, app: Quart, startup_timeout: int = 60, shutdown_timeout: int = 60) -> None:
        super().__init__(app, startup_timeout, shutdown_timeout)


def create_app(settings: Settings | None = None, *, extra_plugins: Iterable[object] = ()) -> Quart:
    """Build the server. ``extra_plugins`` registers plugin objects beside the entry points."""
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_format, settings.env)
    platform = Platform.build(settings, extra_plugins)
    app = _build_quart_app(settings, platform)
    _install_openapi(app, platform)
    responses.install(app)
    install_docs_assets(app)
    register_error_handlers(app)
    public_blueprints = _mount_blueprints(app, platform)
    _install_lifecycle(app, platform)
    _install_request_start(app, settings, public_blueprints)
    _install_request_end(app, platform)
    return app


def _build_quart_app(settings: Settings, platform: Platform) -> Quart:
    app = Quart("vetrai")
    app.test_app_class = PlatformTestApp
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.config["QUART_SCHEMA_CONVERSION_PREFERENCE"] = "pydantic"
    app.extensions["vetrai"] = platform
    return app


def _install_openapi(app: Quart, platform: Platform) -> None:
    """The password flow is offered only where the auth plugin serves the login route."""
    has_login = "auth" in platform.plugins.infos
    security: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}]
    if has_login:
        security.append({"password": []})
    QuartSchema(
        app,
        openapi_provider_class=VetraiOpenAPIProvider,
        info=Info(title="VetrAI Platform", version=__version__, description="Multi-tenant AI workflow platform"),
        openapi_path="/openapi.json",
        swagger_ui_path="/docs",
        redoc_ui_path="/redoc",
        scalar_ui_path=None,
        security_schemes=security_schemes("/api/v1/login" if has_login else None),
        security=security,
    )


def _mount_blueprints(app: Quart, platform: Platform) -> set[str]:
    """Register every plugin's blueprints, refuse clashes between plugins, answer the public ones."""
    owner_of_blueprint: dict[str, str] = {}
    public_blueprints: set[str] = set()
    for plugin, spec in platform.plugins.blueprints:
        tag_blueprint(spec.blueprint, list(spec.tags) or [plugin])
        app.register_blueprint(spec.blueprint, url_prefix=spec.url_prefix or None)
        owner_of_blueprint[spec.blueprint.name] = plugin
        if spec.public:
            public_blueprints.add(spec.blueprint.name)
    check_route_conflicts(app, owner_of_blueprint)
    check_component_names(app, owner_of_blueprint)
    app.extensions["vetrai_public_blueprints"] = public_blueprints
    app.extensions["vetrai_blueprint_owners"] = owner_of_blueprint
    return public_blueprints


def _install_lifecycle(app: Quart, platform: Platform) -> None:
    @app.before_serving
    async def start_platform() -> None:
        await platform.start(app)

    @app.after_serving
    async def stop_platform() -> None:
        await platform.stop(app)


def _install_request_start(app: Quart, settings: Settings, public_blueprints: set[str]) -> None:
    """One ``before_request`` hook: request id, span, size and auth checks, in that order."""
    public_endpoints: dict[str, bool] = {}

    def is_public_endpoint(endpoint: str) -> bool:
        public = public_endpoints.get(endpoint)
        if public is None:
            public = public_endpoints[endpoint] = (
                endpoint in DOCS_ENDPOINTS
                or endpoint.rpartition(".")[0] in public_blueprints
                or is_public(app.view_functions[endpoint])
            )
        return public

    @app.before_request
    async def begin_request() -> None:
        # One hook, and the request object looked up once: each proxied ``request`` attribute
        # and each hook is a measurable share of a small request.
        req = cast(Any, request)._get_current_object()
        headers = req.headers
        # ``getlist``, not ``get``: werkzeug answers a missing header by raising (and catching)
        # an HTTP exception, a measurable share of a small request; most requests lack these.
        request_ids = headers.getlist("X-Request-ID")
        g.request_id = (request_ids[0] if request_ids else "") or secrets.token_hex(16)
        g.started = time.perf_counter()
        if tracing.request_span_needed(headers):
            route = req.url_rule.rule if req.url_rule else "unmatched"
            g.span, g.span_token = tracing.start_request_span(
                req.method,
                route,
                cast(Mapping[str, str], headers),
                {"http.request.method": req.method, "http.route": route, "url.path": req.path},
            )
        # Quart enforces MAX_CONTENT_LENGTH only when a handler reads the body; refuse a declared
        # oversized body on every route, so none is accepted just because its route ignores it.
        if headers.getlist("Content-Length") and (req.content_length or 0) > settings.max_request_bytes:
            raise ProblemError(413, f"the request body is larger than {settings.max_request_bytes} bytes")
        if settings.env == "production" and not settings.trusted_proxies:
            warn_untrusted_forwarding()
        endpoint = req.endpoint
        if endpoint is None:
            return
        if not is_public_endpoint(endpoint):
            await current_principal()
        refuse_unstorable_parameters()
        # After authentication, so an anonymous caller cannot make a protected route read its body.
        if req.method not in ("GET", "HEAD", "OPTIONS"):
            await refuse_deep_json()


def _install_request_end(app: Quart, platform: Platform) -> None:
    """Metrics, the request id, the span's end and the access log, on success or failure."""

    @app.after_request
    async def observe(response: Response) -> Response:
        req = cast(Any, request)._get_current_object()
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        route = req.url_rule.rule if req.url_rule else "unmatched"
        status = response.status_code
        platform.metrics.observe_request(req.method, route, status, elapsed)
        headers = response.headers
        headers["X-Request-ID"] = g.get("request_id", "")
        span = g.pop("span", None)
        if span is not None:
            tracing.end_request_span(span, g.pop("span_token"), status)
        if "X-Content-Type-Options" not in headers:
            headers["X-Content-Type-Options"] = "nosniff"
        if access_log.isEnabledFor(logging.INFO):
            access_log.info(
                "%s %s %s",
                req.method,
                req.path,
                status,
                extra={
                    "request_id": g.get("request_id"),
                    "method": req.method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
        return response

    @app.teardown_request
    async def end_span_on_error(error: BaseException | None) -> None:
        span = g.pop("span", None)
        if span is not None:  # after_request did not run: the request failed outside the handlers
            tracing.end_request_span(span, g.pop("span_token"), None, error)


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or mimetype.endswith("+json")


async def refuse_deep_json() -> None:
    """A 400 for a JSON body nested deeper than ``MAX_JSON_DEPTH``, before any parser sees it."""
    if request.endpoint is None or request.method in ("GET", "HEAD", "OPTIONS") or not _is_json(request.mimetype):
        return
    data = await request.get_data(cache=True, as_text=False)
    if not data:
        return
    assert isinstance(data, bytes)
    deep = await asyncio.to_thread(too_deep, data) if len(data) > THREAD_ABOVE_BYTES else too_deep(data)
    if deep:
        raise ProblemError(400, f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels", kind="json-too-deep")
    if b"\\u0000" in data or b"\\ud" in data or b"\\uD" in data or LONG_NUMBER.search(data):
        refuse_unstorable_values(data)


UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
"""NUL, which PostgreSQL's text and jsonb refuse, and UTF-16 surrogates left unpaired by the
JSON escapes they came in (``"\\ud800"``), which no UTF-8 column can hold."""
UNSTORABLE_MESSAGE = "NUL characters and unpaired UTF-16 surrogates are not allowed"
LONG_NUMBER = re.compile(rb"\d{19}")
"""Digits enough to be past 64 bits: only then is the body parsed to look."""
INTEGERS = range(-(2**63), 2**64)
"""What a JSON column stores (its encoder refuses other integers)."""


def refuse_unstorable_values(data: bytes) -> None:
    """A 422 for a value no backend can store anywhere in a JSON body (a character in a string
    or key, an integer past 64 bits), refused on every backend the same way, naming where."""
    try:
        body = json.loads(data)
    except ValueError:
        return  # malformed JSON: the route's parser answers 400
    found = unstorable_location(body, ["body"])
    if found is not None:
        location, message = found
        raise unprocessable([{"loc": location, "msg": message, "type": "value_error"}])


def refuse_unstorable_parameters() -> None:
    """The same 422 for a query or path parameter (``?action=%00`` reached PostgreSQL as a 500)."""
    sources: tuple[tuple[str, Iterable[tuple[str, str]]], ...] = (
        ("query", request.args.items(multi=True)),
        ("path", (request.view_args or {}).items()),
    )
    for where, items in sources:
        for name, value in items:
            if UNSTORABLE.search(name) or (isinstance(value, str) and UNSTORABLE.search(value)):
                raise unprocessable([{"loc": [where, name], "msg": UNSTORABLE_MESSAGE, "type": "value_error"}])


def unstorable_location(value: Any, path: list[Any]) -> tuple[list[Any], str] | None:
    """Where the first unstorable value is in a parsed JSON value, and what is wrong, or None."""
    if isinstance(value, str):
        return (path, UNSTORABLE_MESSAGE) if UNSTORABLE.search(value) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return None if value in INTEGERS else (path, "integers must fit in 64 bits")
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if isinstance(key, str) and UNSTORABLE.search(key):
            return [*path, key], UNSTORABLE_MESSAGE
        found = unstorable_location(item, [*path, key])
        if found is not None:
            return found
    return None
