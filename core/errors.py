"""The one error type of the API (RFC 9457 problem+json) and its Quart handlers.

Routes and services raise ``ProblemError``; the handlers below turn it, validation failures,
Quart's own HTTP errors and anything unexpected into ``application/problem+json`` with no
stack trace. Start-up problems are ``ConfigurationError``/``PluginError`` and stop the server.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError
    from quart import Quart, Response
    from quart_schema import RequestSchemaValidationError

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://vetrai.dev/problems/"
log = logging.getLogger("vetrai.errors")


class ConfigurationError(RuntimeError):
    """The deployment is misconfigured; the server refuses to start."""


class PluginError(RuntimeError):
    """A plugin is broken, missing a requirement or conflicts with another; names the plugin."""

    def __init__(self, plugin: str, message: str) -> None:
        super().__init__(f"plugin {plugin!r}: {message}")
        self.plugin = plugin


class ProblemError(Exception):
    """An HTTP problem. ``kind`` becomes the type URI; ``extra`` adds members to the body."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        kind: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        phrase = HTTPStatus(status).phrase
        self.status = status
        self.title = title or phrase
        self.detail = detail or phrase
        self.kind = kind or phrase.lower().replace(" ", "-").replace("'", "")
        self.headers = headers or {}
        self.extra = extra
        super().__init__(self.detail)

    def body(self) -> dict[str, Any]:
        return {
            "type": TYPE_BASE + self.kind,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }

    def response(self) -> Response:
        from quart import Response, json

        response = Response(json.dumps(self.body()), status=self.status, content_type=PROBLEM_JSON)
        response.headers.update(self.headers)
        return response


def not_found(what: str = "object") -> ProblemError:
    return ProblemError(404, f"{what} not found")


def unauthorized(detail: str = "authentication required") -> ProblemError:
    return ProblemError(401, detail, headers={"WWW-Authenticate": 'Bearer realm="vetrai"'})


def forbidden(detail: str = "you are not allowed to do this") -> ProblemError:
    return ProblemError(403, detail)


def conflict(detail: str) -> ProblemError:
    return ProblemError(409, detail)


def quota_exceeded(detail: str, **extra: Any) -> ProblemError:
    return ProblemError(403, detail, kind="quota-exceeded", title="Quota exceeded", **extra)


def rate_limited(retry_after: int, detail: str = "too many requests") -> ProblemError:
    return ProblemError(429, detail, headers={"Retry-After": str(max(1, retry_after))})


def unprocessable(errors: list[dict[str, Any]], detail: str = "request validation failed") -> ProblemError:
    return ProblemError(422, detail, kind="validation-error", errors=errors)


def field_error(
    field: str, message: str, *, where: str = "body", type: str = "value_error", detail: str | None = None
) -> ProblemError:
    """A 422 for one bad field, shaped like a request-schema failure (``errors[0].loc == [where, field]``)."""
    return unprocessable([{"loc": [where, field], "msg": message, "type": type}], detail or f"{field}: {message}")


def body_errors(error: ValidationError, where: str = "body") -> list[dict[str, Any]]:
    """A pydantic error's items as the ``errors`` of a 422, located in the request body."""
    return [
        {"loc": [where, *item["loc"]], "msg": item["msg"], "type": item["type"]}
        for item in error.errors(include_url=False)
    ]


def _validation_errors(error: RequestSchemaValidationError) -> list[dict[str, Any]]:
    cause = error.validation_error
    if hasattr(cause, "errors"):
        return [
            {"loc": list(item.get("loc", ())), "msg": item.get("msg", ""), "type": item.get("type", "")}
            for item in cause.errors(include_url=False)
        ]
    return [{"loc": [], "msg": str(cause), "type": "value_error"}]


def register_error_handlers(app: Quart) -> None:
    # Imported here: the exception types above are raised by the command line too, which should
    # not pay for the web stack.
    from quart_schema import RequestSchemaValidationError
    from tortoise import exceptions as tortoise_exceptions
    from werkzeug.exceptions import HTTPException

    @app.errorhandler(ProblemError)
    async def _problem(error: ProblemError) -> Response:
        return error.response()

    @app.errorhandler(RequestSchemaValidationError)
    async def _validation(error: RequestSchemaValidationError) -> Response:
        return unprocessable(_validation_errors(error)).response()

    @app.errorhandler(UnicodeDecodeError)
    async def _undecodable(error: UnicodeDecodeError) -> Response:
        return ProblemError(400, "the request body is not valid UTF-8").response()

    @app.errorhandler(tortoise_exceptions.ValidationError)
    async def _invalid_value(error: tortoise_exceptions.ValidationError) -> Response:
        # A value the model refuses that the request schema let through: still the caller's error.
        return unprocessable([{"loc": ["body"], "msg": str(error), "type": "value_error"}]).response()

    @app.errorhandler(tortoise_exceptions.IntegrityError)
    async def _integrity(error: tortoise_exceptions.IntegrityError) -> Response:
        # Services check uniqueness first; this catches the race between two such checks.
        log.info("integrity error turned into 409: %s", error)
        return conflict("the request conflicts with existing data").response()

    @app.errorhandler(HTTPException)
    async def _http(error: HTTPException) -> Response:
        status = error.code or 500
        detail = error.description if status < 500 else None
        problem = ProblemError(status, detail)
        response = problem.response()
        if status == 405 and error.get_headers():
            response.headers.update({k: v for k, v in error.get_headers() if k.lower() == "allow"})
        return response

    @app.errorhandler(Exception)
    async def _unexpected(error: Exception) -> Response:
        if isinstance(error, HTTPException):
            return await _http(error)
        log.exception("unhandled error", exc_info=error)
        return ProblemError(500, "internal server error").response()
