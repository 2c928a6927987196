"""The interrupt form: fields from the JSON schema a run waits for, and the value back from the form.

Booleans become a yes/no choice, strings a text area, numbers a number field, anything else a
JSON text area; without a schema the whole value is one JSON text area. The API validates the
value against the workflow's resume model, so this only has to shape it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

JSON_FIELD = "__value__"


@dataclass(frozen=True)
class ResumeField:
    name: str
    label: str
    kind: str  # boolean | string | number | integer | json
    required: bool
    description: str = ""


def _kind(schema: dict[str, Any]) -> str:
    types = [schema.get("type")] + [
        option.get("type") for option in schema.get("anyOf", []) if isinstance(option, dict)
    ]
    for kind in ("boolean", "integer", "number", "string"):
        if kind in types:
            return kind
    return "json"


def resume_fields(schema: dict[str, Any] | None) -> list[ResumeField]:
    properties = (schema or {}).get("properties")
    if not isinstance(properties, dict) or not properties:
        return [ResumeField(JSON_FIELD, "Answer (JSON)", "json", True)]
    required = set((schema or {}).get("required", []))
    return [
        ResumeField(
            name=name,
            label=str(spec.get("title") or name.replace("_", " ").capitalize()),
            kind=_kind(spec),
            required=name in required,
            description=str(spec.get("description") or ""),
        )
        for name, spec in properties.items()
        if isinstance(spec, dict)
    ]


def resume_value(schema: dict[str, Any] | None, form: Any) -> Any:
    """The resume value from the submitted form; ValueError with a readable message when malformed."""
    fields = resume_fields(schema)
    if len(fields) == 1 and fields[0].name == JSON_FIELD:
        return _json(form.get(JSON_FIELD, ""), "The answer")
    value: dict[str, Any] = {}
    for field in fields:
        raw = (form.get(field.name) or "").strip()
        if raw == "":
            if field.required:
                raise ValueError(f"{field.label} is required.")
            continue
        if field.kind == "boolean":
            if raw not in ("true", "false"):
                raise ValueError(f"{field.label} must be yes or no.")
            value[field.name] = raw == "true"
        elif field.kind == "integer":
            try:
                value[field.name] = int(raw)
            except ValueError:
                raise ValueError(f"{field.label} must be a whole number.") from None
        elif field.kind == "number":
            try:
                value[field.name] = float(raw)
            except ValueError:
                raise ValueError(f"{field.label} must be a number.") from None
        elif field.kind == "string":
            value[field.name] = raw
        else:
            value[field.name] = _json(raw, field.label)
    return value


def _json(raw: str, label: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise ValueError(f"{label} must be valid JSON.") from None
