"""`vetrai startplugin` and `vetrai startworkflow` make packages whose own pytest passes at once.

Each scaffold is pip-installed (editable) into a venv layered on the test venv (it sees every
package installed here, through a .pth), not into the test venv itself: the suite's other pass
runs at the same time in the same venv and must not find a plugin that a test is about to
delete. The scaffolds' tests run on this pass's backend (VETRAI_TEST_BACKEND is passed on).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

VETRAI = [sys.executable, "-m", "vetrai.entrypoints"]


def layered_venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    parent = sysconfig.get_paths()["purelib"]
    Path(site, "vetrai-test-venv.pth").write_text(f"import site; site.addsitedir({parent!r})\n")
    return python


def test_scaffolded_plugin_and_workflow_pass_their_own_tests(tmp_path):
    env = {name: value for name, value in os.environ.items() if not name.startswith("VETRAI_")}
    if "VETRAI_TEST_BACKEND" in os.environ:
        env["VETRAI_TEST_BACKEND"] = os.environ["VETRAI_TEST_BACKEND"]
    for command in (["startplugin", "bookmarks"], ["startworkflow", "shouter"]):
        made = subprocess.run([*VETRAI, *command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert made.returncode == 0, made.stderr
        assert 'pip install -e ".[test]" && pytest' in made.stderr
    plugin, workflow = tmp_path / "vetrai-plugin-bookmarks", tmp_path / "vetrai-workflow-shouter"
    assert (plugin / "vetrai_bookmarks" / "migrations" / "0001_initial.py").is_file()
    python = layered_venv(tmp_path / "venv")
    installed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "-e",
            plugin,
            "-e",
            workflow,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    for package in (plugin, workflow):
        result = subprocess.run(
            [python, "-m", "pytest", "-q"],
            cwd=package,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        assert " passed" in result.stdout and "skipped" not in result.stdout


@pytest.mark.parametrize(
    ("command", "name"), [("startplugin", "auth"), ("startplugin", "Bad-Name"), ("startworkflow", "echo")]
)
def test_taken_or_invalid_names_are_refused(tmp_path, command, name):
    result = subprocess.run([*VETRAI, command, name], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "NAME" in result.stderr
    assert list(tmp_path.iterdir()) == []
