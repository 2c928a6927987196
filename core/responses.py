"""JSON responses: the bytes quart-schema's provider writes, encoded by orjson.

quart-schema turns every returned dict into a pydantic ``TypeAdapter`` built per response and
encodes with the standard library, calling pydantic for every datetime: on a list page that
was a third of the request. Here a response model is dumped once, plain dicts and lists go to
the encoder as they are, and orjson writes the same JSON (sorted keys, datetimes through
pydantic's ``to_jsonable_python``); anything orjson refuses (integers beyond 64 bits, deep
nesting) falls back to the standard encoder, so no response changes meaning.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import quart_schema.validation
from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python
from quart import Quart, Response
from quart_schema.conversion import model_dump, model_load

_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def dumps_bytes(value: Any) -> bytes:
    """``value`` as compact JSON with sorted keys, as quart-schema's provider writes it."""
    return orjson.dumps(value, default=to_jsonable_python, option=_OPTIONS)


def install(app: Quart) -> None:
    """Encode ``app``'s JSON with orjson and dump response models once (after QuartSchema)."""
    quart_schema.validation.model_load = _model_load  # type: ignore[attr-defined]
    provider = app.json
    standard_dumps = provider.dumps
    standard_response = provider.response

    def dumps(obj: Any, **kwargs: Any) -> str:
        if kwargs:
            return standard_dumps(obj, **kwargs)
        try:
            return dumps_bytes(obj).decode()
        except (orjson.JSONEncodeError, TypeError):
            return standard_dumps(obj)

    def response(*args: Any, **kwargs: Any) -> Any:
        if kwargs or len(args) != 1 or app.debug:
            return standard_response(*args, **kwargs)
        try:
            body = orjson.dumps(args[0], default=to_jsonable_python, option=_OPTIONS | orjson.OPT_APPEND_NEWLINE)
        except (orjson.JSONEncodeError, TypeError):
            return standard_response(*args)
        return app.response_class(body, mimetype=provider.mimetype)  # type: ignore[attr-defined]

    provider.dumps = dumps  # type: ignore[method-assign]
    provider.response = response  # type: ignore[method-assign]
    app.make_response = _converting(Quart.make_response.__get__(app), app)  # type: ignore[method-assign,assignment]


def _model_load(
    data: Any, model_class: Any, exception_class: type[Exception], *, decamelize: bool = False, preference: Any = None
) -> Any:
    """quart-schema's ``model_load`` without building a TypeAdapter per call for a pydantic model
    (that was the largest share of validating a small body or response)."""
    if (
        decamelize
        or preference == "msgspec"
        or not isinstance(model_class, type)
        or not issubclass(model_class, BaseModel)
    ):
        return model_load(data, model_class, exception_class, decamelize=decamelize, preference=preference)
    try:
        return model_class.model_validate(data)
    except (TypeError, ValidationError, ValueError) as error:
        raise exception_class(error) from error


def _converting(make_response: Callable[[Any], Any], app: Quart) -> Callable[[Any], Any]:
    """quart-schema's ``convert_response_return_value`` without a TypeAdapter per dict: a model
    is dumped as quart-schema dumps it; dicts and lists are left to the encoder, which turns the
    models and datetimes inside them into JSON the same way."""
    config = app.config

    async def converting(result: Any) -> Any:
        if isinstance(result, tuple):
            value, *rest = result
            if len(rest) == 2 or (len(rest) == 1 and not isinstance(rest[0], int)):
                headers = rest[-1]
                if headers is not None:
                    rest[-1] = model_dump(
                        headers,
                        kebabize=True,
                        preference=config["QUART_SCHEMA_CONVERSION_PREFERENCE"],
                        pydantic_kwargs=config["QUART_SCHEMA_PYDANTIC_DUMP_OPTIONS"],
                    )
            return await make_response((_dump(value, config), *rest))
        return await make_response(_dump(result, config))

    return converting


def _dump(value: Any, config: Any) -> Any:
    if not config["QUART_SCHEMA_CONVERT_CASING"]:
        if isinstance(value, (dict, list, str, bytes, Response)) or value is None:
            return value
        if isinstance(value, BaseModel):
            return value.model_dump(**config["QUART_SCHEMA_PYDANTIC_DUMP_OPTIONS"])
    return model_dump(
        value,
        camelize=config["QUART_SCHEMA_CONVERT_CASING"],
        preference=config["QUART_SCHEMA_CONVERSION_PREFERENCE"],
        pydantic_kwargs=config["QUART_SCHEMA_PYDANTIC_DUMP_OPTIONS"],
    )
