"""Templates: CRUD, the sandbox, StrictUndefined, autoescape, global defaults and overrides."""

from __future__ import annotations

import uuid

import pytest

from .conftest import wait_status

TEMPLATES = "/api/v1/notifications/templates"


async def create(client, actor, **body):
    return await client.post(
        TEMPLATES, json={"channel": "email", "body": "Hi {{ user.name }}", **body}, headers=actor.headers
    )


async def test_template_crud(client, make_user):
    admin = await make_user(role="org_admin")
    response = await create(client, admin, name="digest", subject="Digest for {{ user.name }}", locale="de")
    assert response.status_code == 201, await response.get_data(as_text=True)
    template = await response.get_json()
    assert template["organization_id"] == admin.organization_id and template["is_default"] is False
    assert template["locale"] == "de"

    shown = await client.get(f"{TEMPLATES}/{template['id']}", headers=admin.headers)
    assert (await shown.get_json())["subject"] == "Digest for {{ user.name }}"

    updated = await client.put(
        f"{TEMPLATES}/{template['id']}", json={"body": "Bye {{ user.name }}"}, headers=admin.headers
    )
    assert updated.status_code == 200
    updated = await updated.get_json()
    assert updated["body"] == "Bye {{ user.name }}" and updated["subject"] == "Digest for {{ user.name }}"

    listed = await (await client.get(f"{TEMPLATES}?name=digest", headers=admin.headers)).get_json()
    assert [item["id"] for item in listed["items"]] == [template["id"]]

    assert (await client.delete(f"{TEMPLATES}/{template['id']}", headers=admin.headers)).status_code == 204
    assert (await client.get(f"{TEMPLATES}/{template['id']}", headers=admin.headers)).status_code == 404


async def test_duplicate_name_channel_locale_is_409(client, make_user):
    admin = await make_user(role="org_admin")
    assert (await create(client, admin, name="dup")).status_code == 201
    assert (await create(client, admin, name="dup")).status_code == 409
    assert (await create(client, admin, name="dup", channel="in_app")).status_code == 201
    other = await create(client, admin, name="other")
    other_id = (await other.get_json())["id"]
    assert (await client.put(f"{TEMPLATES}/{other_id}", json={"name": "dup"}, headers=admin.headers)).status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ user.__init__.__globals__ }}",
        "{{ user['__class__'] }}",
        "{{ user|attr('__class__') }}",
        "{% import 'os' as os %}",
        "{% include 'secrets.txt' %}",
        "{% extends 'base.html' %}",
        "{{ self._TemplateReference__context }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ '{0.__class__}'.format(1) }}",
        "{{ 'a' * 100000000 }}",
        "{{ unclosed",
        "{% if %}",
        "{% for x in items %}no end",
    ],
)
async def test_forbidden_or_broken_templates_are_422(client, make_user, body):
    admin = await make_user(role="org_admin")
    response = await create(client, admin, name="evil", body=body)
    if body == "{{ 'a' * 100000000 }}":
        # Valid syntax; refused when rendered (see test_render_errors_fail_the_notification).
        assert response.status_code == 201
        return
    assert response.status_code == 422, body
    problem = await response.get_json()
    assert problem["errors"][0]["loc"] == ["body", "body"]
    assert problem["errors"][0]["type"] == "template_error"


async def test_subject_and_html_are_checked_too(client, make_user):
    admin = await make_user(role="org_admin")
    response = await create(client, admin, name="x", subject="{{ x.__class__ }}")
    assert response.status_code == 422 and (await response.get_json())["errors"][0]["loc"] == ["body", "subject"]
    response = await create(client, admin, name="x", html="<p>{% for %}</p>")
    assert response.status_code == 422 and (await response.get_json())["errors"][0]["loc"] == ["body", "html"]
    response = await create(client, admin, name="x", channel="fax")
    assert response.status_code == 422
    response = await create(client, admin, name="Bad Name")
    assert response.status_code == 422


async def test_global_defaults_are_listed_and_read_only_for_org_admins(client, make_user):
    admin = await make_user(role="org_admin")
    listed = await (await client.get(f"{TEMPLATES}?limit=200", headers=admin.headers)).get_json()
    defaults = {(item["name"], item["channel"]) for item in listed["items"] if item["is_default"]}
    assert {
        ("welcome", "email"),
        ("verify_email", "email"),
        ("password_reset", "email"),
        ("ticket_update", "email"),
        ("ticket_update", "in_app"),
        ("job_finished", "in_app"),
        ("payment_failed", "email"),
    } <= defaults
    reset = next(item for item in listed["items"] if item["name"] == "password_reset")
    assert (
        await client.put(f"{TEMPLATES}/{reset['id']}", json={"body": "x"}, headers=admin.headers)
    ).status_code == 403
    assert (await client.delete(f"{TEMPLATES}/{reset['id']}", headers=admin.headers)).status_code == 403
    root = await make_user(role="super_admin")
    changed = await client.put(f"{TEMPLATES}/{reset['id']}", json={"subject": "Reset it"}, headers=root.headers)
    assert changed.status_code == 200 and (await changed.get_json())["subject"] == "Reset it"


async def test_other_organizations_templates_are_invisible(client, make_user):
    admin = await make_user(role="org_admin")
    template = await (await create(client, admin, name="private")).get_json()
    outsider = await make_user(role="org_admin")
    assert (await client.get(f"{TEMPLATES}/{template['id']}", headers=outsider.headers)).status_code == 404
    assert (
        await client.put(f"{TEMPLATES}/{template['id']}", json={"body": "x"}, headers=outsider.headers)
    ).status_code == 404
    assert (await client.delete(f"{TEMPLATES}/{template['id']}", headers=outsider.headers)).status_code == 404
    listed = await (await client.get(f"{TEMPLATES}?limit=200", headers=outsider.headers)).get_json()
    assert template["id"] not in [item["id"] for item in listed["items"]]
    sent = await client.post(
        "/api/v1/notifications",
        json={"channel": "email", "to": "a@example.com", "template_id": template["id"]},
        headers=outsider.headers,
    )
    assert sent.status_code == 422


async def test_send_with_a_template_renders_data_and_escapes_html(client, make_user, mailbox):
    admin = await make_user(role="org_admin")
    member = await make_user(role="user", organization=admin.organization)
    template = await (
        await create(
            client,
            admin,
            name="invoice",
            subject="Invoice {{ number }} for {{ organization.name }}",
            body="Dear {{ user.email }}, you owe {{ amount }}.",
            html="<p>Dear <b>{{ note }}</b></p>",
        )
    ).get_json()
    response = await client.post(
        "/api/v1/notifications",
        json={
            "channel": "email",
            "recipient_id": member.id,
            "template_id": template["id"],
            "data": {"number": "A-7", "amount": "12 EUR", "note": "<script>alert(1)</script>"},
        },
        headers=admin.headers,
    )
    assert response.status_code == 202
    [message] = await mailbox.wait_for(member.user.email)
    assert message["Subject"] == f"Invoice A-7 for {admin.organization.name}"
    assert message.get_body(("plain",)).get_content().strip() == f"Dear {member.user.email}, you owe 12 EUR."
    html = message.get_body(("html",)).get_content()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    shown = await (
        await client.get(f"/api/v1/notifications/{(await response.get_json())['id']}", headers=member.headers)
    ).get_json()
    assert shown["subject"] == f"Invoice A-7 for {admin.organization.name}" and shown["template_name"] == "invoice"


async def test_render_errors_fail_the_notification_with_a_clear_error(client, make_user, mailbox):
    admin = await make_user(role="org_admin")
    missing = await (await create(client, admin, name="missing", body="Total: {{ total }}")).get_json()
    huge = await (await create(client, admin, name="huge", body="{{ 'a' * 100000000 }}")).get_json()
    for template, expected in ((missing, "'total' is undefined"), (huge, "too large")):
        response = await client.post(
            "/api/v1/notifications",
            json={"channel": "email", "to": "t@example.com", "template_id": template["id"]},
            headers=admin.headers,
        )
        row = await wait_status((await response.get_json())["id"])
        assert row.status == "failed" and row.attempts == 1
        assert row.error.startswith("template error: body:") and expected in row.error
    assert mailbox.to("t@example.com") == []


async def test_template_channel_must_match(client, make_user):
    admin = await make_user(role="org_admin")
    template = await (await create(client, admin, name="mail-only")).get_json()
    member = await make_user(role="user", organization=admin.organization)
    response = await client.post(
        "/api/v1/notifications",
        json={"channel": "in_app", "recipient_id": member.id, "template_id": template["id"]},
        headers=admin.headers,
    )
    assert response.status_code == 422


async def test_an_organization_template_overrides_the_default(client, make_user, app):
    from vetrai.plugins.notifications.service import find_template

    admin = await make_user(role="org_admin")
    created = await create(client, admin, name="welcome", subject="{{ organization.name }}: welcome")
    assert created.status_code == 201
    async with app.app.app_context():
        own = await find_template(admin.organization.id, "welcome", "email", "en")
        outsider = await make_user(role="user")
        default = await find_template(outsider.organization.id, "welcome", "email", "en")
    assert own.subject == "{{ organization.name }}: welcome" and own.organization_id == admin.organization.id
    assert default.organization_id is None and default.subject == "Welcome to {{ app_name }}"


async def test_a_rendered_subject_cannot_inject_headers(client, make_user, mailbox):
    admin = await make_user(role="org_admin")
    template = await (await create(client, admin, name="greeting", subject="Hi {{ name }}", body="hello")).get_json()
    response = await client.post(
        "/api/v1/notifications",
        json={
            "channel": "email",
            "to": "target@example.com",
            "template_id": template["id"],
            "data": {"name": "x\r\nBcc: evil@example.com"},
        },
        headers=admin.headers,
    )
    assert response.status_code == 202
    [message] = await mailbox.wait_for("target@example.com")
    assert message["Subject"] == "Hi x Bcc: evil@example.com"
    assert message["Bcc"] is None
    assert mailbox.envelopes[-1][1] == ["target@example.com"]


def test_a_template_is_checked_once_however_often_it_renders(monkeypatch):
    from vetrai.plugins.notifications.templates import TEXT_ENV, Part, TemplateProblem, render_bounded

    parsed: list[str] = []
    parse = TEXT_ENV.parse

    def counting_parse(source, *args, **kwargs):
        parsed.append(source)
        return parse(source, *args, **kwargs)

    monkeypatch.setattr(TEXT_ENV, "parse", counting_parse)
    source = f"Hello {{{{ name }}}} ({uuid.uuid4().hex})"
    for _ in range(3):
        assert render_bounded([Part("body", source)], {"name": "Ada"})[0].startswith("Hello Ada (")
    assert parsed == [source]
    broken = f"{{{{ name }} ({uuid.uuid4().hex})"
    for field in ("subject", "body"):  # a remembered problem still names the field it is in
        with pytest.raises(TemplateProblem, match=f"^{field}: does not compile"):
            render_bounded([Part(field, broken)], {"name": "Ada"})
