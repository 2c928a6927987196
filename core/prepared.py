"""SELECTs on a hot path whose SQL Tortoise builds once per process instead of on every call.

Building SQL is most of the CPU a complex query costs here: pypika walks the whole expression
tree (subqueries, Q objects) on every call, for a text that only differs in its values. A
``PreparedSelect`` builds its queryset once per database dialect with sample values, finds where
those values sit among the query's parameters, and later binds new values in their places.
The rows become model instances (with their annotations) through Tortoise's own executor, in the
current transaction if there is one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

M = TypeVar("M", bound=Model)
_Prepared = tuple[str, list[Any], dict[int, tuple[str, Callable[[Any], Any]]], list[str]]


def _itself(value: Any) -> Any:
    return value


class PreparedSelect(Generic[M]):
    """``build(**values)`` returns the queryset; ``samples`` are one value per keyword, each
    distinct from every constant of the query (the sample must be recognisable among the
    parameters: a value equal to a constant would bind that constant too)."""

    def __init__(self, build: Callable[..., QuerySet[M]], **samples: Any) -> None:
        self._build = build
        self._samples = samples
        self._prepared: dict[str, _Prepared] = {}

    def _prepare(self, dialect: str) -> _Prepared:
        queryset = self._build(**self._samples)
        queryset._make_query()
        sql, parameters = queryset.query.get_parameterized_sql()
        slots: dict[int, tuple[str, Callable[[Any], Any]]] = {}
        for index, value in enumerate(parameters):
            for name, sample in self._samples.items():
                # A dialect may bind the value itself or its text (SQLite's UUIDs).
                for as_bound in (_itself, str):
                    if type(value) is type(as_bound(sample)) and value == as_bound(sample):
                        slots[index] = (name, as_bound)
        missing = set(self._samples) - {name for name, _as_bound in slots.values()}
        if missing:
            raise ValueError(f"the query binds no parameter for {sorted(missing)}")
        prepared = sql, list(parameters), slots, list(queryset._annotations)
        self._prepared[dialect] = prepared
        return prepared

    async def fetch(self, model: type[M], **values: Any) -> list[M]:
        """The rows for ``values`` (the same keywords as the samples)."""
        db = model._meta.db
        dialect = db.capabilities.dialect
        sql, parameters, slots, annotations = self._prepared.get(dialect) or self._prepare(dialect)
        bound = list(parameters)
        for index, (name, as_bound) in slots.items():
            bound[index] = as_bound(values[name])
        executor = db.executor_class(model=model, db=db)
        rows: list[M] = await executor.execute_select(sql, bound, custom_fields=annotations)
        return rows
