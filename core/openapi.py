"""OpenAPI integration: unique operation ids, public routes, and component-name collisions.

quart-schema names components by bare model name, so two plugins' ``TicketOut`` would
silently overwrite each other; ``check_component_names`` refuses that at start-up instead.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from pydantic import BaseModel
from quart import Quart
from quart_schema import (
    APIKeySecurityScheme,
    HttpSecurityScheme,
    OAuth2SecurityScheme,
    OpenAPIProvider,
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

    def build_paths(self, rule: Rule) -> tuple[dict[str, Any], dict[str, Any]]:
        paths, components = super().build_paths(rule)
        func = self._app.view_functions[rule.endpoint]
        explicit = getattr(func, "_quart_schema_operation_id", None)
        for operations in paths.values():
            for method, operation in operations.items():
                operation["operationId"] = f"{method}_{explicit or rule.endpoint.replace('.', '_')}"
                responses = {str(code): value for code, value in operation["responses"].items()}
                responses = responses or {"204": {"description": "No Content"}}
                responses["default"] = PROBLEM_RESPONSE
                operation["responses"] = responses
        components["Problem"] = PROBLEM_SCHEMA
        return paths, components


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
