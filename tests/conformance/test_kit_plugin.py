"""The kit as a pytest plugin: registered through pytest11, cheap to import, fixtures standalone."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

from vetrai.core.conformance import CHECKS, PluginConformance


def test_the_kit_is_a_pytest11_plugin():
    targets = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert targets.get("vetrai") == "vetrai.core.conformance"


def test_importing_the_kit_builds_nothing():
    code = textwrap.dedent(
        """
        import sys
        import vetrai.core.conformance
        watched = ("quart", "tortoise", "taskiq", "vetrai.core.app", "vetrai.core.platform")
        heavy = [name for name in watched if name in sys.modules]
        print(heavy)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_every_check_is_a_test_method():
    methods = {name.removeprefix("test_") for name in dir(PluginConformance) if name.startswith("test_")}
    assert methods == set(CHECKS)
    assert all(description.endswith(".") for description in CHECKS.values())


def test_the_checks_table_of_the_docs_is_the_check_docstrings():
    docs = (Path(__file__).parents[2] / "docs" / "conformance.md").read_text()
    table = re.search(r"^\| check \| what it verifies \|\n\|---\|---\|\n((?:\|.*\|\n)+)", docs, re.M)
    assert table is not None, "docs/conformance.md lost its table of checks"
    expected = "".join(f"| `{name}` | {text.replace('``', '`')} |\n" for name, text in CHECKS.items())
    assert table.group(1) == expected, "regenerate the table from CHECKS (the check methods' docstrings)"


async def test_kit_fixtures_build_an_isolated_app(
    vetrai_kit, vetrai_make_user, vetrai_make_org, vetrai_events, vetrai_platform
):
    organization = await vetrai_make_org("Acme")
    alice = await vetrai_make_user("org_admin", organization=organization)
    me = await alice.get("/api/v1/me")
    assert (await me.get_json())["organization_id"] == str(organization.id)
    await vetrai_platform.events.emit("kit.test", {"x": 1})
    assert (await vetrai_events.wait_for("kit.test")).data == {"x": 1}
    assert vetrai_kit.scopes_of("keys") == {"keys:read", "keys:write"}


async def test_api_key_fixture_makes_scoped_keys(vetrai_api_key, vetrai_make_user):
    alice = await vetrai_make_user("org_admin")
    key = await vetrai_api_key(scopes=["keys:read"], user=alice)
    assert (await key.get("/api/v1/keys")).status_code == 200
    assert (await key.post("/api/v1/keys", json={"name": "x", "scopes": []})).status_code == 403


async def test_smtp_fixture_is_a_real_server(vetrai_smtp):
    from email.message import EmailMessage

    import aiosmtplib

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.com", "Hi there"
    message.set_content("plain body")
    await aiosmtplib.send(message, hostname=vetrai_smtp.host, port=vetrai_smtp.port)
    received = await vetrai_smtp.wait_for(to="b@example.com", subject="hi")
    assert received.get_content().strip() == "plain body"
    vetrai_smtp.fail_next(1, 451)
    try:
        await aiosmtplib.send(message, hostname=vetrai_smtp.host, port=vetrai_smtp.port)
    except aiosmtplib.SMTPResponseException as exc:
        assert exc.code == 451
    else:
        raise AssertionError("the failure was not injected")


async def test_outbox_fixture_reads_eml_files(vetrai_outbox):
    from email.message import EmailMessage

    message = EmailMessage()
    message["To"], message["Subject"] = "c@example.com", "Verify your email"
    message.set_content("link")
    vetrai_outbox.folder.mkdir(parents=True)
    (vetrai_outbox.folder / "1.eml").write_bytes(message.as_bytes())
    assert (await vetrai_outbox.wait_for(to="c@example.com")).get("Subject") == "Verify your email"
