"""`vetrai run TEMPLATE --input JSON` runs a workflow in-process and shows its progress."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

VETRAI = str(Path(sys.executable).with_name("vetrai"))


def run(settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("VETRAI_")}
    env.update(
        VETRAI_ENV="test",
        VETRAI_DATA_DIR=str(settings.data_dir),
        VETRAI_STORAGE_URL=str(settings.storage_url),
        VETRAI_DATABASE_URL=settings.resolved_database_url,
        VETRAI_BROKER_URL=settings.broker_url,
        VETRAI_BROKER_QUEUE=settings.broker_queue,
        VETRAI_REDIS_PREFIX=settings.redis_prefix,
        VETRAI_PLUGINS="auth,workers",
        VETRAI_AUTO_MIGRATE="true",
        VETRAI_LOG_LEVEL="ERROR",
    )
    return subprocess.run([VETRAI, "run", *args], env=env, capture_output=True, text=True, timeout=60)


def test_run_shows_progress_and_output(settings):
    result = run(settings, "sleep", "--input", '{"seconds": 0.2, "steps": 2}')
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"slept_seconds": 0.2, "steps": 2}
    assert result.stderr.count("progress") == 2 and "succeeded" in result.stderr
    assert "✓ sleep" in result.stderr


def test_run_retries_in_process(settings):
    result = run(settings, "flaky", "--input", '{"fail_times": 1}')
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"attempts": 2}
    assert "↻ attempt 1 failed" in result.stderr


def test_run_reports_bad_input(settings):
    result = run(settings, "sleep", "--input", '{"seconds": "long"}')
    assert result.returncode == 1
    assert "seconds" in result.stderr


async def test_run_through_the_api(app, make_user, capsys):
    import httpx

    from vetrai.engine.cli import via_api

    actor = await make_user()
    transport = httpx.ASGITransport(app=app.app)
    code = await via_api(
        "http://vetrai.example.com",
        actor.token,
        "document_triage",
        {"text": "Please send the invoice."},
        transport=transport,
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert json.loads(captured.out)["category"] == "billing"
    assert "✓ classify" in captured.err and "● succeeded" in captured.err
    refused = await via_api("http://vetrai.example.com", actor.token, "sleep", {"seconds": "x"}, transport=transport)
    assert refused == 1 and "422" in capsys.readouterr().err
