"""The docs' claims checked against the code, so they cannot drift apart silently."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conformance.test_builtin_plugins import PLUGINS
from vetrai.core.plugins import builtin_plugin_names

ROOT = Path(__file__).resolve().parents[2]


def text(relative: str) -> str:
    return " ".join((ROOT / relative).read_text().split())


def test_no_project_file_points_at_a_design_document_outside_the_repo():
    files = [ROOT / "README.md", ROOT / "setup.py", ROOT / "pyproject.toml", *sorted((ROOT / "docs").glob("*.md"))]
    design = "DESIGN" + ".md"  # spelled apart so this file does not match its own search
    assert [str(path.relative_to(ROOT)) for path in files if design in path.read_text()] == []


def test_conformance_md_names_the_plugins_ci_really_runs_the_kit_on():
    conformance = text("docs/conformance.md")
    assert f"PLUGINS = {json.dumps(PLUGINS)}" in conformance
    if set(builtin_plugin_names()) - set(PLUGINS):
        assert "every built-in plugin" not in conformance


def test_workflows_md_says_where_runnable_config_comes_from():
    assert "from langchain_core.runnables import RunnableConfig" in text("docs/workflows.md")


def test_plugins_md_shows_a_list_route_with_the_cores_page_query():
    plugins = text("docs/plugins.md")
    assert "@validate_querystring(PageQuery)" in plugins and "query_args: PageQuery" in plugins
