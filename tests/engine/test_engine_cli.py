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


# --- vetrai threads / vetrai runs (the LangGraph API) -------------------------------------------


def new_thread(deployment: Deployment, **metadata: str) -> str:
    created = deployment.vetrai("threads", "create", "--metadata", json.dumps(metadata))
    assert created.returncode == 0, created.stderr
    return created.stdout.strip()


def test_threads_create_list_show_history_delete(deployment):
    thread = new_thread(deployment, purpose="cli")
    ran = deployment.vetrai("runs", "create", thread, "echo", "--input", '{"payload": {"hello": "threads"}}', "--wait")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["payload"]["hello"] == "threads"
    listed = deployment.vetrai("threads", "list", "--status", "idle")
    assert listed.returncode == 0 and thread in listed.stdout
    line = next(row for row in listed.stdout.splitlines() if row.startswith(thread))
    assert line.split()[1] == "idle"
    assert thread not in deployment.vetrai("threads", "list", "--status", "busy").stdout
    shown = deployment.vetrai("threads", "show", thread)
    assert shown.returncode == 0, shown.stderr
    body: dict[str, Any] = json.loads(shown.stdout)
    assert body["thread_id"] == thread and body["metadata"]["purpose"] == "cli"
    assert body["values"]["payload"]["hello"] == "threads" and body["next"] == []
    history = deployment.vetrai("threads", "history", thread, "--limit", "2")
    assert history.returncode == 0 and len(history.stdout.splitlines()) == 2, history.stdout
    full = json.loads(deployment.vetrai("threads", "history", thread, "--json").stdout)
    assert full[0]["values"]["payload"]["hello"] == "threads" and len(full) > 2
    assert history.stdout.splitlines()[0].startswith(full[0]["checkpoint_id"])
    deleted = deployment.vetrai("threads", "delete", thread)
    assert deleted.returncode == 0 and "deleted" in deleted.stderr
    gone = deployment.vetrai("threads", "show", thread)
    assert gone.returncode == 1 and gone.stderr.startswith("Error: 404")


def test_runs_create_wait_list_show_logs(deployment):
    thread = new_thread(deployment)
    started = deployment.vetrai("runs", "create", thread, "sleep", "--input", '{"seconds": 0.1, "steps": 2}')
    assert started.returncode == 0, started.stderr
    run = started.stdout.strip()
    followed = deployment.vetrai("runs", "logs", thread, run, "--follow")
    assert followed.returncode == 0, followed.stderr
    assert followed.stdout.startswith("metadata") and run in followed.stdout.splitlines()[0]
    assert any(line.startswith("values") for line in followed.stdout.splitlines())
    stored = deployment.vetrai("runs", "logs", thread, run)
    assert stored.returncode == 0 and "● success" in stored.stderr and "● success" in followed.stderr
    assert any(line.startswith("values") for line in stored.stdout.splitlines())
    shown: dict[str, Any] = json.loads(deployment.vetrai("runs", "show", thread, run).stdout)
    assert shown["run_id"] == run and shown["status"] == "success" and shown["kwargs"]["input"]["steps"] == 2
    listed = deployment.vetrai("runs", "list", thread, "--status", "success")
    assert listed.returncode == 0 and listed.stdout.split()[:2] == [run, "success"]
    assert deployment.vetrai("runs", "list", thread, "--status", "error").stdout == ""
    waited = deployment.vetrai("runs", "create", thread, "echo", "--input", '{"payload": {"n": 1}}', "--wait")
    assert waited.returncode == 0 and json.loads(waited.stdout)["payload"] == {"n": 1}
    assert len(deployment.vetrai("runs", "list", thread).stdout.splitlines()) == 2


def test_runs_cancel_interrupts_or_rolls_back(deployment):
    thread = new_thread(deployment)
    slow = '{"seconds": 60, "steps": 60}'
    first = deployment.vetrai("runs", "create", thread, "sleep", "--input", slow).stdout.strip()
    going = deployment.vetrai("runs", "logs", thread, first)
    assert going.returncode == 0 and f"vetrai runs logs {thread} {first} -f" in going.stderr, going.stderr
    cancelled = deployment.vetrai("runs", "cancel", thread, first)
    assert cancelled.returncode == 0 and "cancelled" in cancelled.stderr, cancelled.stderr
    assert json.loads(deployment.vetrai("runs", "show", thread, first).stdout)["status"] == "interrupted"
    again = deployment.vetrai("runs", "cancel", thread, first)
    assert again.returncode == 1 and again.stderr.startswith("Error: 409")
    second = deployment.vetrai("runs", "create", thread, "sleep", "--input", slow).stdout.strip()
    rolled = deployment.vetrai("runs", "cancel", thread, second, "--action", "rollback")
    assert rolled.returncode == 0 and "rolled back" in rolled.stderr, rolled.stderr
    missing = deployment.vetrai("runs", "show", thread, second)
    assert missing.returncode == 1 and missing.stderr.startswith("Error: 404")
    bad = deployment.vetrai("runs", "cancel", thread, first, "--action", "explode")
    assert bad.returncode == 2 and "explode" in bad.stderr


def test_an_interrupted_run_says_how_to_resume_and_resume_finishes_it(deployment):
    thread = new_thread(deployment)
    waiting = deployment.vetrai("runs", "create", thread, "approval", "--input", '{"request": "deploy?"}', "--wait")
    assert waiting.returncode == 0, waiting.stderr
    assert json.loads(waiting.stdout)["__interrupt__"]
    assert f"vetrai runs create {thread} approval --resume JSON --wait" in waiting.stderr
    assert json.loads(deployment.vetrai("threads", "show", thread).stdout)["status"] == "interrupted"
    resumed = deployment.vetrai("runs", "create", thread, "approval", "--resume", '{"approved": true}', "--wait")
    assert resumed.returncode == 0, resumed.stderr
    values = json.loads(resumed.stdout)
    assert values["approved"] is True and "__interrupt__" not in values
    assert "resume" not in resumed.stderr


def test_threads_and_runs_errors_are_one_line(deployment):
    thread = new_thread(deployment)
    run = deployment.vetrai("runs", "create", thread, "echo", "--input", '{"payload": 1}', "--wait")
    assert run.returncode == 0, run.stderr
    attempts = [
        deployment.vetrai("threads", "show", "not-a-thread"),
        deployment.vetrai("runs", "list", "00000000-0000-0000-0000-000000000000"),
        deployment.vetrai("runs", "create", thread, "no-such-graph", "--wait"),
        deployment.vetrai("threads", "show", thread, token=deployment.other_token),
        deployment.vetrai("threads", "delete", thread, token=deployment.other_token),
        deployment.vetrai("runs", "list", thread, token=deployment.other_token),
    ]
    for result in attempts:
        assert result.returncode == 1, result
        assert result.stderr.startswith("Error: 4") and "Traceback" not in result.stderr
        assert result.stderr.strip().count("\n") == 0, result.stderr
    assert [result.stderr.split()[1] for result in attempts[3:]] == ["404", "404", "404"]
    assert thread not in deployment.vetrai("threads", "list", token=deployment.other_token).stdout
    assert deployment.vetrai("threads", "show", thread).returncode == 0
    closed = deployment.vetrai("threads", "list", VETRAI_URL=f"http://127.0.0.1:{harness.free_port()}")
    assert closed.returncode == 1 and closed.stderr.startswith("Error: no VetrAI server answers at")
    bad_json = deployment.vetrai("runs", "create", thread, "echo", "--input", "{oops")
    assert bad_json.returncode == 2 and "--input" in bad_json.stderr
