"""The one cursor pagination of every list endpoint: newest first, opaque keyset cursors.

A cursor encodes the last row's (created_at, id), so deep pages cost the same as the first
and rows inserted meanwhile neither repeat nor vanish: tenant tables carry an index on
(organization_id, created_at, id) (``vetrai.core.models.tenant_list_index``), and nothing
counts rows.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel, Field, TypeAdapter
from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from vetrai.core.errors import ProblemError

T = TypeVar("T")
MAX_LIMIT = 200
DEFAULT_LIMIT = 50


class PageQuery(BaseModel):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, row_id = json.loads(raw)
        return datetime.fromisoformat(created_at), uuid.UUID(row_id)
    except (ValueError, TypeError) as exc:
        raise ProblemError(400, "invalid cursor") from exc


async def paginate(
    queryset: QuerySet[Any],
    query: PageQuery,
    out: type[BaseModel] | Callable[[Any], T] | Callable[[Any], Awaitable[T]],
) -> dict[str, Any]:
    """One page of ``queryset`` as ``{"items", "next_cursor"}``, newest first.

    ``out`` is the response model of one item, built from each row's attributes (the schema is
    the one place a response is written), or a function for rows that need more than their own
    columns.
    """
    if query.cursor:
        created_at, row_id = decode_cursor(query.cursor)
        # ``created_at <= c`` bounds the (organization_id, created_at, id) index range; the OR
        # alone would make the database walk every newer row before the cursor.
        queryset = queryset.filter(created_at__lte=created_at).filter(Q(created_at__lt=created_at) | Q(id__lt=row_id))
    queryset = queryset.order_by("-created_at", "-id").limit(query.limit + 1)
    columns = _plain_columns(queryset.model, out) if isinstance(out, type) else None
    if columns is not None:
        # Rows as dicts, validated in one call: building a model instance per row and reading
        # it back attribute by attribute was most of a page's cost.
        values = await queryset.values(*columns)
        more = len(values) > query.limit
        values = values[: query.limit]
        last = values[-1] if values else None
        next_cursor = encode_cursor(last["created_at"], last["id"]) if more and last else None
        return {"items": _list_adapter(cast(type[BaseModel], out)).validate_python(values), "next_cursor": next_cursor}
    rows = await queryset
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    build: Callable[[Any], Any]
    if isinstance(out, type) and issubclass(out, BaseModel):
        model = out
        build = partial(model.model_validate, from_attributes=True)
    else:
        build = cast(Callable[[Any], Any], out)
    items: list[Any] = []
    for row in rows:
        item = build(row)
        if isinstance(item, Awaitable):
            item = await item
        items.append(item)
    next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
    return {"items": items, "next_cursor": next_cursor}


_adapters: dict[type[BaseModel], TypeAdapter[list[Any]]] = {}
_columns: dict[tuple[type[Model], type[Any]], tuple[str, ...] | None] = {}


def _list_adapter(out: type[BaseModel]) -> TypeAdapter[list[Any]]:
    adapter = _adapters.get(out)
    if adapter is None:
        adapter = _adapters[out] = TypeAdapter(list[out])  # type: ignore[valid-type]
    return adapter


def _plain_columns(model: type[Model], out: type[Any]) -> tuple[str, ...] | None:
    """The columns to select when every field of ``out`` is a column of ``model`` read as it is
    (no validator reshaping a row, no relation, no extra keys refused); otherwise None."""
    key = (model, out)
    if key not in _columns:
        columns: tuple[str, ...] | None = None
        if issubclass(out, BaseModel) and out.model_config.get("extra") in (None, "ignore"):
            decorators = out.__pydantic_decorators__
            names = set(out.model_fields)
            if (
                not decorators.model_validators
                and not decorators.field_validators
                and names <= set(model._meta.db_fields)
                and {"created_at", "id"} <= set(model._meta.db_fields)
            ):
                columns = tuple(sorted(names | {"created_at", "id"}))
        _columns[key] = columns
    return _columns[key]
