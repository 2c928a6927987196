"""API docs that work offline, and an OpenAPI document a reader can use (every plugin enabled)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from vetrai.core.openapi import docstring_parts

SUMMARY_END = re.compile(r"[.!?]$")


@pytest.fixture
async def full_app(settings_factory) -> AsyncIterator[Any]:
    from quart.testing.app import TestApp

    from vetrai.core.app import create_app

    # every plugin starts: more than quart's 6 s default on a loaded 2-core machine
    async with TestApp(create_app(settings_factory()), startup_timeout=60) as test_app:
        yield test_app


@pytest.fixture
async def document(full_app) -> dict[str, Any]:
    response = await full_app.test_client().get("/openapi.json")
    assert response.status_code == 200
    return await response.get_json()


def operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


@pytest.mark.parametrize(("page", "assets"), [("/docs", 2), ("/redoc", 1)])
async def test_docs_pages_load_their_assets_from_this_server(full_app, page, assets):
    client = full_app.test_client()
    response = await client.get(page)
    assert response.status_code == 200
    html = await response.get_data(as_text=True)
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert not [url for url in urls if "//" in url], f"{page} loads from another host: {urls}"
    local = [url for url in urls if url.startswith("/docs/assets/")]
    assert len(local) == assets, urls
    for url in local:
        asset = await client.get(url)  # no credentials: the docs are public
        assert asset.status_code == 200, url
        body = await asset.get_data()
        assert len(body) > 10_000
    assert (await client.get("/docs/assets/other/x.js")).status_code == 404
    assert (await client.get("/docs/assets/redoc/../../__init__.py")).status_code == 404


async def test_every_operation_is_described(document):
    problems = []
    for name, operation in operations(document):
        summary = operation.get("summary", "")
        if not operation.get("description", "").strip():
            problems.append(f"{name}: no description")
        if not summary:
            problems.append(f"{name}: no summary")
        if "`" in summary:
            problems.append(f"{name}: backticks in the summary {summary!r}")
        if summary and not SUMMARY_END.search(summary):
            problems.append(f"{name}: summary cut mid-sentence {summary!r}")
        for code, response in operation["responses"].items():
            if not response.get("description", "").strip():
                problems.append(f"{name} {code}: empty response description")
        if re.search(r"server-sent events|event stream", operation.get("description", ""), re.IGNORECASE):
            if "text/event-stream" not in operation["responses"].get("200", {}).get("content", {}):
                problems.append(f"{name}: an event stream not documented as text/event-stream")
    assert problems == []


async def test_tags_and_scopes_are_declared(document, full_app):
    tags = document.get("tags") or []
    assert tags, "the top-level tags list is empty"
    declared = {tag["name"] for tag in tags}
    assert all(tag.get("description") for tag in tags)
    used = {tag for _name, operation in operations(document) for tag in operation.get("tags", [])}
    assert used <= declared
    assert {"auth", "workers", "support", "system"} <= declared
    permissions = full_app.app.extensions["vetrai"].plugins.permissions.permissions
    schemes = document["components"]["securitySchemes"]
    flows = [flow for scheme in schemes.values() for flow in scheme.get("flows", {}).values()]
    assert flows, "no OAuth2 scheme"
    for flow in flows:
        assert set(flow["scopes"]) == set(permissions) and len(permissions) >= 15


def test_docstrings_become_a_whole_first_sentence_and_markdown():
    summary, description = docstring_parts(
        """Upload a file (multipart field ``file``), streamed to storage: 413 over the size limit,
        415 for a type not allowed. Needs ``support:write``.

        Second paragraph."""
    )
    assert summary == (
        "Upload a file (multipart field file), streamed to storage: 413 over the size limit, 415 for a type not "
        "allowed."
    )
    assert description.startswith("Upload a file (multipart field `file`)")
    assert description.endswith("Needs `support:write`.\n\nSecond paragraph.")
