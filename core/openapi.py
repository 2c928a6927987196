"""OpenAPI integration: unique operation ids, public routes, and component-name collisions.

quart-schema names components by bare model name, so two plugins' ``TicketOut`` would
silently overwrite each other; ``check_component_names`` refuses that at start-up instead.

The document is described centrally, so a route needs nothing but its docstring: the summary
is its first sentence, the description the whole docstring (reStructuredText literals turned
into Markdown) plus how to authenticate; responses without a description get their status
phrase; tags come from each plugin's ``BlueprintSpec`` and description; the OAuth2 scheme lists
every declared permission as a scope; a route marked ``event_stream`` (or whose docstring says
it answers with Server-Sent Events) is documented as ``text/event-stream``. The Swagger UI and
ReDoc pages load their scripts from this server (Python packages that ship them), never a CDN.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel
from quart import Quart, send_from_directory
from quart_schema import (
    APIKeySecurityScheme,
    HttpSecurityScheme,
    OAuth2SecurityScheme,
    OpenAPIProvider,
    hide,
    security_scheme,
)
from quart_schema.validation import (
    QUART_SCHEMA_QUERYSTRING_ATTRIBUTE,
    QUART_SCHEMA_REQUEST_ATTRIBUTE,
    QUART_SCHEMA_RESPONSE_ATTRIBUTE,
)
from werkzeug.routing import Rule

from vetrai.core.errors import PluginError

F = TypeVar("F", bound=Callable[..., Any])
PUBLIC_ATTRIBUTE = "_vetrai_public"
EVENT_STREAM_ATTRIBUTE = "_vetrai_event_stream"
DOCS_ASSETS_PATH = "/docs/assets"
_RST_LITERAL = re.compile(r"``([^`]+)``")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(`])")
_SSE = re.compile(r"server-sent events|event stream", re.IGNORECASE)


def security_schemes(token_url: str | None) -> dict[str, Any]:
    """Bearer and X-API-Key always; the OAuth2 password flow when a login route exists."""
    schemes: dict[str, Any] = {
        "bearer": HttpSecurityScheme(scheme="bearer", bearer_format="JWT, opaque token or vk_ API key"),
        "apiKey": APIKeySecurityScheme(name="X-API-Key", in_="header"),
    }
    if token_url:
        schemes["password"] = OAuth2SecurityScheme(flows={"password": {"tokenUrl": token_url, "scopes": {}}})
    return schemes


def public(func: F) -> F:
    """Mark a route as needing no credentials (documented with an empty security list)."""
    setattr(func, PUBLIC_ATTRIBUTE, True)
    return security_scheme([])(func)


def is_public(func: Callable[..., Any]) -> bool:
    return bool(getattr(func, PUBLIC_ATTRIBUTE, False))


def event_stream(event: type[BaseModel] | None = None) -> Callable[[F], F]:
    """Document a route's 200 response as ``text/event-stream`` whose events carry ``event``."""

    def mark(func: F) -> F:
        setattr(func, EVENT_STREAM_ATTRIBUTE, event or True)
        return func

    return mark


def docstring_parts(doc: str | None) -> tuple[str, str]:
    """(summary, description) of a route docstring: the first sentence as plain text, and the
    whole docstring as Markdown (quart-schema would cut the summary at the first line break)."""
    text = inspect.cleandoc(doc or "")
    paragraphs = [" ".join(part.split()) for part in text.split("\n\n") if part.strip()]
    if not paragraphs:
        return "", ""
    first = _SENTENCE_END.split(paragraphs[0], maxsplit=1)[0]
    summary = _RST_LITERAL.sub(r"\1", first).replace("`", "")
    description = "\n\n".join(_RST_LITERAL.sub(r"`\1`", paragraph) for paragraph in paragraphs)
    return summary, description


PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
PROBLEM_RESPONSE = {
    "description": "An RFC 9457 problem",
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


class VetraiOpenAPIProvider(OpenAPIProvider):
    """Unique operation ids (``method_blueprint_function``), 204s and problem responses documented."""

    def schema(self) -> dict[str, Any]:
        """quart-schema's document, plus the tags of every plugin and the scopes of OAuth2."""
        schema = super().schema()
        platform = self._app.extensions.get("vetrai")
        if platform is None:
            return schema
        tags: dict[str, str] = {}
        for plugin, spec in platform.plugins.blueprints:
            for tag in list(spec.tags) or [plugin]:
                tags.setdefault(tag, platform.plugins.infos[plugin].description)
        used = {
            tag
            for operations in schema.get("paths", {}).values()
            for op in operations.values()
            for tag in op.get("tags", [])
        }
        schema["tags"] = [{"name": name, "description": tags.get(name) or name} for name in sorted(used | set(tags))]
        scopes = {
            name: permission.description
            for name, permission in sorted(platform.plugins.permissions.permissions.items())
        }
        for scheme in schema.get("components", {}).get("securitySchemes", {}).values():
            for flow in scheme.get("flows", {}).values():
                flow["scopes"] = scopes
        return schema

    def build_paths(self, rule: Rule) -> tuple[dict[str, Any], dict[str, Any]]:
        paths, components = super().build_paths(rule)
        func = self._app.view_functions[rule.endpoint]
        explicit = getattr(func, "_quart_schema_operation_id", None)
        summary, description = docstring_parts(func.__doc__)
        auth = (
            "No credentials needed."
            if is_public(func)
            or rule.endpoint.rsplit(".", 1)[0] in self._app.extensions.get("vetrai_public_blueprints", ())
            else "Authenticate with `Authorization: Bearer <token>` (access token or `vk_` API key) or `X-API-Key`."
        )
        stream = getattr(func, EVENT_STREAM_ATTRIBUTE, None) or (bool(_SSE.search(description)) or None)
        for operations in paths.values():
            for method, operation in operations.items():
                operation["operationId"] = f"{method}_{explicit or rule.endpoint.replace('.', '_')}"
                if summary:
                    operation["summary"] = summary
                operation["description"] = "\n\n".join(part for part in (description or summary, auth) if part)
                responses = {str(code): value for code, value in operation["responses"].items()}
                responses = responses or {"204": {"description": "No Content"}}
                for code, response in responses.items():
                    if not response.get("description"):
                        response["description"] = HTTPStatus(int(code)).phrase if code.isdigit() else "Response"
                if stream is not None:
                    _document_stream(responses, stream)
                responses["default"] = PROBLEM_RESPONSE
                operation["responses"] = responses
        components["Problem"] = PROBLEM_SCHEMA
        return paths, components


def _document_stream(responses: dict[str, Any], event: Any) -> None:
    """The 200 response as ``text/event-stream`` (JSON stays documented when the route offers it too)."""
    ok = responses.setdefault("200", {"description": "OK"})
    content = ok.setdefault("content", {})
    if isinstance(event, type) and issubclass(event, BaseModel):
        schema: dict[str, Any] = {"$ref": f"#/components/schemas/{event.__name__}"}
    else:
        json_schema = content.get("application/json", {}).get("schema")
        schema = json_schema if json_schema and "items" not in json_schema.get("properties", {}) else {"type": "string"}
    content["text/event-stream"] = {"schema": schema}
    if "application/json" in content and "items" not in content["application/json"]["schema"].get("properties", {}):
        del content["application/json"]  # the model describes one event, not a JSON answer
    ok["description"] = ok.get("description") or "OK"


def install_docs_assets(app: Quart) -> None:
    """Serve Swagger UI and ReDoc from this server (offline, air-gapped), not from a CDN."""
    from openapi_ui_bundles.redoc import static_path as redoc_path
    from swagger_ui_bundle import swagger_ui_path

    folders = {"swagger-ui": Path(str(swagger_ui_path)), "redoc": Path(redoc_path)}
    app.config["QUART_SCHEMA_SWAGGER_JS_URL"] = f"{DOCS_ASSETS_PATH}/swagger-ui/swagger-ui-bundle.js"
    app.config["QUART_SCHEMA_SWAGGER_CSS_URL"] = f"{DOCS_ASSETS_PATH}/swagger-ui/swagger-ui.css"
    app.config["QUART_SCHEMA_REDOC_JS_URL"] = f"{DOCS_ASSETS_PATH}/redoc/redoc.standalone.js"

    @hide
    async def docs_asset(bundle: str, filename: str) -> Any:
        if bundle not in folders:
            from vetrai.core.errors import not_found

            raise not_found("documentation asset")
        response = await send_from_directory(folders[bundle], filename)
        response.cache_control.max_age = 86400
        response.cache_control.public = True
        return response

    public(docs_asset)
    app.add_url_rule(f"{DOCS_ASSETS_PATH}/<bundle>/<path:filename>", "docs_asset", docs_asset)


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for argument in typing.get_args(annotation):
        yield from _models_in(argument)


def _route_models(func: Callable[..., Any]) -> Iterator[type[BaseModel]]:
    request_data = getattr(func, QUART_SCHEMA_REQUEST_ATTRIBUTE, None)
    if request_data is not None:
        yield from _models_in(request_data[0])
    querystring = getattr(func, QUART_SCHEMA_QUERYSTRING_ATTRIBUTE, None)
    if querystring is not None:
        yield from _models_in(querystring)
    for model, headers in getattr(func, QUART_SCHEMA_RESPONSE_ATTRIBUTE, {}).values():
        yield from _models_in(model)
        if headers is not None:
            yield from _models_in(headers)


def check_component_names(app: Quart, owner_of_blueprint: dict[str, str]) -> None:
    """Refuse two different models with one component name, naming both plugins."""
    seen: dict[str, tuple[type[BaseModel], str]] = {}
    for endpoint, func in app.view_functions.items():
        plugin = owner_of_blueprint.get(endpoint.rsplit(".", 1)[0], "core")
        stack = list(_route_models(func))
        visited: set[type[BaseModel]] = set()
        while stack:
            model = stack.pop()
            if model in visited:
                continue
            visited.add(model)
            name = model.__name__
            previous = seen.setdefault(name, (model, plugin))
            if previous[0] is not model and previous[0].model_json_schema() != model.model_json_schema():
                raise PluginError(plugin, f"OpenAPI component {name!r} is already defined by plugin {previous[1]!r}")
            for field in model.model_fields.values():
                stack.extend(_models_in(field.annotation))


def check_route_conflicts(app: Quart, owner_of_blueprint: dict[str, str]) -> None:
    """Refuse two plugins serving the same path and method."""
    seen: dict[tuple[str, str], str] = {}
    for rule in app.url_map.iter_rules():
        for method in rule.methods or ():
            if method in {"HEAD", "OPTIONS"}:
                continue
            key = (rule.rule, method)
            previous = seen.setdefault(key, rule.endpoint)
            if previous != rule.endpoint:
                plugin = owner_of_blueprint.get(rule.endpoint.rsplit(".", 1)[0], "core")
                other = owner_of_blueprint.get(previous.rsplit(".", 1)[0], "core")
                raise PluginError(plugin, f"route {method} {rule.rule} is already served by plugin {other!r}")
