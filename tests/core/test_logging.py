"""Readable lines in development, JSON lines in production or with VETRAI_LOG_FORMAT=json."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from vetrai.core.logging import JsonFormatter, TextFormatter, configure_logging


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def access_record() -> logging.LogRecord:
    record = logging.LogRecord("vetrai.access", logging.INFO, __file__, 1, "%s %s %s", ("GET", "/api/v1/me", 200), None)
    record.__dict__.update(request_id="abc", method="GET", route="/api/v1/me", status=200, duration_ms=3.1)
    return record


@pytest.mark.parametrize(
    ("env", "log_format", "expected"),
    [
        ("development", None, TextFormatter),
        ("production", None, JsonFormatter),
        ("development", "json", JsonFormatter),
        ("production", "text", TextFormatter),
    ],
)
def test_the_format_follows_the_environment_unless_chosen(env, log_format, expected):
    configure_logging("INFO", log_format, env)
    assert isinstance(logging.getLogger().handlers[0].formatter, expected)


def test_a_request_is_one_readable_line_or_one_json_object():
    line = TextFormatter(colour=False).format(access_record())
    assert "\n" not in line and line.endswith("INFO    GET /api/v1/me 200 3.1 ms")
    coloured = TextFormatter(colour=True).format(access_record())
    assert "\033[32m200\033[0m" in coloured
    payload = json.loads(JsonFormatter().format(access_record()))
    assert payload["message"] == "GET /api/v1/me 200" and payload["request_id"] == "abc" and payload["status"] == 200


def test_hypercorns_running_on_line_is_dropped():
    configure_logging("INFO", "text", "development")
    seen: list[str] = []
    collector = logging.Handler()
    collector.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger().addHandler(collector)
    hypercorn = logging.getLogger("hypercorn.error")
    hypercorn.info("Running on http://127.0.0.1:8000 (CTRL + C to quit)")
    hypercorn.info("something else")
    assert seen == ["something else"]
