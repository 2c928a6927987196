"""Every example plugin under examples/ passes its own test suite standalone.

Run as a plugin author would: ``pytest`` inside the example's folder, with only the installed
kit (no project conftest), on the same backend as this run (VETRAI_TEST_BACKEND passes through).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def plugin_examples() -> list[Path]:
    found = []
    for pyproject in sorted(EXAMPLES.glob("*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text())["project"]
        if "vetrai.plugins" in project.get("entry-points", {}) and (pyproject.parent / "tests").is_dir():
            found.append(pyproject.parent)
    return found


@pytest.mark.parametrize("example", plugin_examples(), ids=lambda path: path.name)
def test_example_plugin_passes_its_own_suite(example: Path) -> None:
    project = tomllib.loads((example / "pyproject.toml").read_text())["project"]
    names = set(project["entry-points"]["vetrai.plugins"])
    installed = {ep.name for ep in entry_points(group="vetrai.plugins")}
    if not names <= installed:
        pytest.fail(f"{example.name} is not installed: pip install -e {example} (the Makefile's test set-up does)")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=example,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout.splitlines()[-1], result.stdout[-500:]
