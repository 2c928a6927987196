"""`vetrai run` and `vetrai jobs` against a real `vetrai serve` (and `vetrai worker` on Redis),
run as a user would: separate processes, a token in VETRAI_TOKEN, two organizations present."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import harness  # noqa: E402 - bench/ is not a package; its process helpers are shared here

BACKEND = os.environ.get("VETRAI_TEST_BACKEND", "sqlite")
README = Path(__file__).resolve().parents[2] / "README.md"
VETRAI = str(Path(sys.executable).with_name("vetrai"))


class Deployment:
    def __init__(self, server: harness.Server) -> None:
        self.server = server
        self.token = harness.register(server.base_url, "ops@example.com", "Operations")["access_token"]
        self.other_token = harness.register(server.base_url, "bob@example.com", "Other")["access_token"]

    def vetrai(self, *args: str, token: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        environment = {name: value for name, value in os.environ.items() if not name.startswith("VETRAI_")}
        environment.update({"VETRAI_URL": self.server.base_url, "VETRAI_TOKEN": token or self.token, **env})
        return subprocess.run([VETRAI, *args], env=environment, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    with harness.backend(BACKEND) as chosen:
        with harness.vetrai_server(chosen, plugins="auth,workers") as server:
            harness.wait_ready(server.base_url)
            if BACKEND == "postgres":
                with harness.vetrai_worker(server):
                    yield Deployment(server)
            else:
                yield Deployment(server)


def job_id(stderr: str) -> str:
    match = re.search(r"job ([0-9a-f-]{36}) queued", stderr)
    assert match, stderr
    return match.group(1)


def test_run_shows_progress_and_output(deployment):
    result = deployment.vetrai("run", "sleep", "--input", '{"seconds": 0.2, "steps": 2}')
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"slept_seconds": 0.2, "steps": 2}
    assert result.stderr.count("progress") == 2 and "succeeded" in result.stderr
    assert "✓ sleep" in result.stderr


def test_a_planned_retry_is_one_line(deployment):
    result = deployment.vetrai("run", "flaky", "--input", '{"fail_times": 1}')
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"attempts": 2}
    assert result.stderr.count("↻ attempt 1 failed") == 1
    assert "Traceback" not in result.stderr


def test_an_interrupted_run_says_how_to_resume_and_jobs_resume_finishes_it(deployment):
    result = deployment.vetrai("run", "approval", "--input", '{"request": "deploy?"}')
    assert result.returncode == 0, result.stderr
    job = job_id(result.stderr)
    assert f"vetrai jobs resume {job} --value JSON" in result.stderr
    resumed = deployment.vetrai("jobs", "resume", job, "--value", '{"approved": true}')
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["approved"] is True


def test_unknown_template_lists_the_available_ones(deployment):
    result = deployment.vetrai("run", "nonexistent")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "unknown template 'nonexistent'; available:" in result.stderr
    assert "echo" in result.stderr and "document_triage" in result.stderr


def test_bad_input_and_refused_token_are_one_line(deployment):
    bad = deployment.vetrai("run", "sleep", "--input", '{"seconds": "long"}')
    assert bad.returncode == 1 and "422" in bad.stderr and "seconds" in bad.stderr
    refused = deployment.vetrai("jobs", "list", token="not-a-token")
    assert refused.returncode == 1 and "401" in refused.stderr and "VETRAI_TOKEN" in refused.stderr
    for result in (bad, refused):
        assert "Traceback" not in result.stderr


def test_no_server_is_one_line(deployment):
    closed = f"http://127.0.0.1:{harness.free_port()}"
    for args in (["run", "echo"], ["jobs", "list"]):
        result = deployment.vetrai(*args, VETRAI_URL=closed)
        assert result.returncode == 1
        assert result.stderr.startswith("Error: no VetrAI server answers at") and "Traceback" not in result.stderr
        assert result.stderr.strip().count("\n") == 0, result.stderr
    missing = deployment.vetrai("jobs", "list", VETRAI_TOKEN="")
    assert missing.returncode == 2 and "VETRAI_TOKEN" in missing.stderr


def test_jobs_list_show_logs_cancel_in_the_tokens_organization(deployment):
    run = deployment.vetrai("run", "echo", "--input", '{"hello": "world"}')
    assert run.returncode == 0, run.stderr
    job = job_id(run.stderr)
    listed = deployment.vetrai("jobs", "list", "--status", "succeeded")
    assert listed.returncode == 0 and job in listed.stdout
    assert job not in deployment.vetrai("jobs", "list", token=deployment.other_token).stdout
    shown: dict[str, Any] = json.loads(deployment.vetrai("jobs", "show", job).stdout)
    assert shown["output"] == {"hello": "world"} and shown["status"] == "succeeded"
    logs = deployment.vetrai("jobs", "logs", job)
    assert logs.returncode == 0 and "● succeeded" in logs.stderr
    finished = deployment.vetrai("jobs", "cancel", job)
    assert finished.returncode == 1 and finished.stderr.startswith("Error: 409")
    hidden = deployment.vetrai("jobs", "show", job, token=deployment.other_token)
    assert hidden.returncode == 1 and "404" in hidden.stderr
    started = deployment.vetrai("run", "approval", "--input", '{"request": "x"}')
    waiting = job_id(started.stderr)
    cancelled = deployment.vetrai("jobs", "cancel", waiting)
    assert cancelled.returncode == 0 and "cancelled" in cancelled.stderr


def test_the_readme_first_session_works_as_written(deployment):
    text = README.read_text()
    section = text[text.index("A first session with curl") :]
    start = section.index("```sh\n") + 6
    block = section[start : section.index("\n```", start)]
    port = deployment.server.base_url.rsplit(":", 1)[1]
    script = block.replace("localhost:8000", f"127.0.0.1:{port}").replace(".venv/bin/vetrai", VETRAI)
    environment = {name: value for name, value in os.environ.items() if not name.startswith("VETRAI_")}
    environment["VETRAI_URL"] = deployment.server.base_url
    result = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script], env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert '"email":"ada@example.com"' in result.stdout.replace(" ", "")
    assert '"category":' in result.stdout  # vetrai run's output
    assert "echo" in result.stdout and "document_triage" in result.stdout  # jobs list
