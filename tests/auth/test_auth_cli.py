"""``vetrai createsuperuser`` run as an operator would, against the test database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from vetrai.core.conformance import subprocess_env

from .conftest import login


def _run(settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = subprocess_env(settings, VETRAI_PLUGINS="auth", VETRAI_AUTO_MIGRATE="true")
    return subprocess.run(
        [sys.executable, "-m", "vetrai.entrypoints", "createsuperuser", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_createsuperuser_creates_a_super_admin_in_the_platform_organization(app, client, settings, member):
    outsider = await member()
    result = await asyncio.to_thread(
        _run, settings, "--email", "Root@Example.com", "--password", "a very long root password"
    )
    assert result.returncode == 0, result.stderr
    assert "created super_admin root@example.com" in result.stdout
    response = await login(client, "root@example.com", "a very long root password")
    assert response.status_code == 200
    headers = {"Authorization": f"Bearer {(await response.get_json())['access_token']}"}
    me = await (await client.get("/api/v1/me", headers=headers)).get_json()
    assert me["role"] == "super_admin" and me["email_verified"] is True
    organization = await (
        await client.get(f"/api/v1/organizations/{me['organization_id']}", headers=headers)
    ).get_json()
    assert organization["slug"] == "platform"
    users = await (
        await client.get(f"/api/v1/users?organization_id={outsider.organization.id}", headers=headers)
    ).get_json()
    assert [user["id"] for user in users["items"]] == [outsider.id]

    second = await asyncio.to_thread(
        _run, settings, "--email", "second@example.com", "--password", "another long password"
    )
    assert second.returncode == 0, second.stderr
    assert (await (await login(client, "second@example.com", "another long password")).get_json())["access_token"]
    duplicate = await asyncio.to_thread(
        _run, settings, "--email", "root@example.com", "--password", "a very long root password"
    )
    assert duplicate.returncode != 0 and "already exists" in duplicate.stderr
    weak = await asyncio.to_thread(_run, settings, "--email", "weak@example.com", "--password", "short")
    assert weak.returncode != 0 and "at least 10" in weak.stderr
    missing = await asyncio.to_thread(_run, settings, "--email", "x@example.com")
    assert missing.returncode == 2


def test_generate_jwks_prints_a_new_key_first_and_keeps_previous_ones(tmp_path):
    import json

    from joserfc.jwk import ECKey

    env = {**os.environ, "VETRAI_DATA_DIR": str(tmp_path / "data"), "VETRAI_PLUGINS": "auth"}
    command = [sys.executable, "-m", "vetrai.entrypoints", "generate-jwks"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    keys = json.loads(first.stdout)["keys"]
    assert len(keys) == 1 and keys[0]["crv"] == "P-256" and keys[0]["d"] and keys[0]["kid"]
    ECKey.import_key(keys[0])
    rotated = subprocess.run(
        [*command, "--previous", first.stdout], env=env, capture_output=True, text=True, timeout=120
    )
    new_keys = json.loads(rotated.stdout)["keys"]
    assert len(new_keys) == 2 and new_keys[1] == keys[0] and new_keys[0]["kid"] != keys[0]["kid"]
    broken = subprocess.run([*command, "--previous", "nonsense"], env=env, capture_output=True, text=True, timeout=120)
    assert broken.returncode != 0
