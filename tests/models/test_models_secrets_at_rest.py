"""Envelope encryption at rest, key rotation (service and `vetrai rotate-secrets`), and the
plaintext search: after runs, no table, checkpoint or log line holds a key."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from tortoise import connections

from vetrai.core.conformance import subprocess_env
from vetrai.plugins.models.crypto import Sealer, SealError
from vetrai.plugins.models.models import Provider, Secret
from vetrai.plugins.models.runtime import secret
from vetrai.plugins.models.service import ModelsRuntime, rotate_secrets

from .conftest import API_KEY, POSTGRES

HEADER_VALUE = "hdr-PLAINTEXT-77aa66bb55cc"
SECRET_VALUE = "crm-PLAINTEXT-0f0e0d0c0b0a"
BAD_KEY = "sk-bad-PLAINTEXT-3141592653"


def test_sealer_round_trip_tamper_and_rewrap():
    old = Sealer([], "server-secret")
    sealed = old.seal("value-1")
    assert "value-1" not in sealed and old.open(sealed) == "value-1"
    assert old.seal("value-1") != sealed  # a fresh data key every time
    wrapped, ciphertext = sealed.split(".", 1)
    with pytest.raises(SealError):
        old.open(f"{wrapped}.{ciphertext[:-4]}AAAA")
    with pytest.raises(SealError):
        Sealer([], "another-server-secret").open(sealed)
    new_key = Fernet.generate_key().decode()
    rotated = Sealer([new_key], "server-secret").rewrap(sealed)
    assert rotated.split(".", 1)[1] == ciphertext  # only the data key is re-wrapped
    assert Sealer([new_key], "unrelated").open(rotated) == "value-1"


async def test_keys_are_sealed_at_rest_and_rotate(client, make_user, add_provider, platform):
    admin = await make_user(role="org_admin")
    created = await add_provider(admin, headers={"X-Token": HEADER_VALUE})
    await client.post("/api/v1/secrets", json={"name": "crm", "value": SECRET_VALUE}, headers=admin.headers)
    row = await Provider.get(id=created["id"])
    stored = await Secret.get(name="crm")
    assert API_KEY not in row.api_key_sealed and HEADER_VALUE not in (row.headers_sealed or "")
    rt: ModelsRuntime = platform.state["models"]
    assert rt.sealer.open(row.api_key_sealed) == API_KEY and rt.sealer.open(stored.value_sealed) == SECRET_VALUE

    new_key = Fernet.generate_key().decode()
    rotated_runtime = ModelsRuntime(rt.settings, Sealer([new_key], platform.settings.resolved_secret_key))
    assert await rotate_secrets(rotated_runtime) == 3
    row = await Provider.get(id=created["id"])
    stored = await Secret.get(name="crm")
    only_new = Sealer([new_key], "not-this-server")
    assert only_new.open(row.api_key_sealed) == API_KEY and only_new.open(stored.value_sealed) == SECRET_VALUE
    with pytest.raises(SealError):
        Sealer([], platform.settings.resolved_secret_key).open(row.api_key_sealed)  # the old key is retired


def _rotate_cli(settings, keys: str) -> subprocess.CompletedProcess[str]:
    env = subprocess_env(settings, VETRAI_PLUGINS="auth,models", VETRAI_MODELS_ENCRYPTION_KEYS=keys)
    return subprocess.run(
        [sys.executable, "-m", "vetrai.entrypoints", "rotate-secrets"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_rotate_secrets_command(client, make_user, add_provider, settings, platform):
    admin = await make_user(role="org_admin")
    created = await add_provider(admin)
    new_key = Fernet.generate_key().decode()
    result = await asyncio.to_thread(_rotate_cli, settings, f'["{new_key}"]')
    assert result.returncode == 0, result.stderr
    assert "re-encrypted 1 stored values" in result.stdout
    row = await Provider.get(id=created["id"])
    assert Sealer([new_key], "not-this-server").open(row.api_key_sealed) == API_KEY
    assert API_KEY not in result.stdout + result.stderr
    # The next rotation needs the current key: without it the command stops with a clear message.
    result = await asyncio.to_thread(_rotate_cli, settings, f'["{Fernet.generate_key().decode()}"]')
    assert result.returncode != 0 and "cannot be decrypted" in result.stderr


def _text(value: object) -> str:
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes | bytearray):
        return value.decode("latin-1")
    return str(value)


async def _database_text(settings) -> str:
    """Every row of every table (checkpoints included on Postgres), or every SQLite file's bytes
    (the database, its WAL and the checkpoint database beside it)."""
    if not POSTGRES:
        base = Path(settings.resolved_database_url.removeprefix("sqlite://"))
        return "".join(path.read_bytes().decode("latin-1") for path in base.parent.glob(base.name + "*"))
    connection = connections.get("default")
    tables = await connection.execute_query_dict("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert {"checkpoints", "checkpoint_blobs", "models_provider"} <= {table["tablename"] for table in tables}
    parts = []
    for table in tables:
        for row in await connection.execute_query_dict(f'SELECT * FROM "{table["tablename"]}"'):
            parts.extend(_text(value) for value in row.values())
    return "\n".join(parts)


async def test_no_plaintext_secret_anywhere_after_runs(
    client, jobs, make_user, add_provider, settings, platform, caplog, capfd
):
    caplog.set_level(logging.DEBUG)
    admin = await make_user(role="org_admin")
    await add_provider(admin, headers={"X-Token": HEADER_VALUE})
    await add_provider(admin, name="broken", api_key=BAD_KEY, models=["other"], default_model="other")
    await client.post("/api/v1/secrets", json={"name": "crm", "value": SECRET_VALUE}, headers=admin.headers)
    config = {"configurable": {"organization_id": admin.organization_id}}
    assert await secret(config, "crm") == SECRET_VALUE  # reachable from a graph...

    ok = await jobs.create(admin, "chat", {"messages": [{"role": "user", "content": "calculate 2 + 2"}]})
    assert (await jobs.wait(admin, ok["id"], "succeeded", "failed"))["status"] == "succeeded"
    bad = await jobs.create(admin, "chat", {"messages": [{"role": "user", "content": "hi"}], "model": "other"})
    failed = await jobs.wait(admin, bad["id"], "failed", "succeeded")
    assert "'broken'" in failed["error"]["message"]
    events = await jobs.events(admin, bad["id"])
    listed = await (await client.get("/api/v1/models/providers", headers=admin.headers)).get_json()

    captured = capfd.readouterr()
    logs = "\n".join(
        [caplog.text, captured.out, captured.err]
        + [record.getMessage() + str(record.exc_text or "") for record in caplog.records]
    )
    haystacks = {
        "database": await _database_text(settings),
        "logs": logs,
        "api": str(failed) + str(events) + str(listed),
    }
    assert "engine.job_finished" in logs and "broken" in haystacks["database"]  # the search looks at real data
    for where, text in haystacks.items():
        for plaintext in (
            API_KEY,
            HEADER_VALUE,
            SECRET_VALUE,
            BAD_KEY,
            BAD_KEY[:10],
            f"{BAD_KEY[:6]}***{BAD_KEY[-4:]}",
        ):
            assert plaintext not in text, f"{plaintext[:6]}... found in {where}"
