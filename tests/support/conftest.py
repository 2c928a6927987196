"""Support fixtures: an app with only core, auth and support; a moto S3 server on loopback;
an organization with a requester, an agent and an admin; and a domain-event recorder."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from vetrai.core.config import Settings
from vetrai.core.conformance import KitUser, free_port

API = "/api/v1/support"
S3_CREDENTIALS = "access_key_id=testing&secret_access_key=testing"


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    """Only core, auth and support: the suite does not depend on other plugins' progress."""
    return settings_factory(plugins=["auth", "support"])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3 API (moto in server mode) on a free loopback port, stopped after the session."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def s3_storage_url(endpoint: str, bucket: str | None = None) -> str:
    bucket = bucket or f"support-{uuid.uuid4().hex[:12]}"
    return f"s3://{bucket}/files?endpoint_url={endpoint}&create_bucket=true&{S3_CREDENTIALS}"


@dataclass
class Team:
    """One organization's people: a requester, a second user, an agent and an org_admin."""

    requester: Any
    other_user: Any
    agent: Any
    admin: Any

    @property
    def organization(self) -> Any:
        return self.requester.organization


@pytest.fixture
async def team(make_org: Callable[..., Any], make_user: Callable[..., Any]) -> Team:
    organization = await make_org()
    return Team(
        requester=await make_user(role="user", organization=organization),
        other_user=await make_user(role="user", organization=organization),
        agent=await make_user(role="support_agent", organization=organization),
        admin=await make_user(role="org_admin", organization=organization),
    )


@pytest.fixture
async def outsider_team(make_org: Callable[..., Any], make_user: Callable[..., Any]) -> Team:
    organization = await make_org()
    return Team(
        requester=await make_user(role="user", organization=organization),
        other_user=await make_user(role="user", organization=organization),
        agent=await make_user(role="support_agent", organization=organization),
        admin=await make_user(role="org_admin", organization=organization),
    )


@pytest.fixture
def open_ticket(client: Any) -> Callable[..., Any]:
    """``await open_ticket(actor, subject=..., priority=...)`` -> the created ticket JSON."""

    async def factory(actor: Any, **fields: Any) -> dict[str, Any]:
        body = {
            "subject": "Printer on fire",
            "description": "It started smoking after the update.",
            "priority": "high",
            **fields,
        }
        response = await client.post(f"{API}/tickets", json=body, headers=actor.headers)
        assert response.status_code == 201, await response.get_data(as_text=True)
        return await response.get_json()

    return factory


@pytest.fixture
def make_user_in() -> Callable[..., Any]:
    """``async with make_user_in(settings) as (client, actor)``: a separate started app and a user in it."""
    import contextlib

    from vetrai.core.app import create_app
    from vetrai.core.organizations.service import create_organization
    from vetrai.plugins.auth import service

    @contextlib.asynccontextmanager
    async def factory(settings: Settings, role: str = "user") -> Any:
        application = create_app(settings)
        async with application.test_app() as test_app:
            async with test_app.app.app_context():
                organization = await create_organization(f"Org {uuid.uuid4().hex[:6]}")
                user = await service.create_user(
                    organization,
                    f"{role}-{uuid.uuid4().hex[:8]}@example.com",
                    "correct horse battery",
                    role=role,
                    email_verified=True,
                )
                tokens = await service.issue_tokens(user, "jwt")
            client = test_app.test_client()
            yield client, KitUser(client, user, tokens["access_token"], organization, "correct horse battery", tokens)

    return factory


_PASSWORD_HASH: list[str] = []


@pytest.fixture
def make_user(app: Any, make_org: Callable[..., Any]) -> Callable[..., Any]:
    """Like the shared ``make_user`` (a real user and access token), but the argon2 hash of the
    common password is computed once per session: the support suite makes hundreds of users."""
    from vetrai.plugins.auth import service
    from vetrai.plugins.auth.models import User
    from vetrai.plugins.auth.passwords import hash_password

    async def factory(role: str = "user", organization: Any = None, email: str | None = None) -> KitUser:
        organization = organization or await make_org()
        if not _PASSWORD_HASH:
            _PASSWORD_HASH.append(await hash_password("correct horse battery"))
        async with app.app.app_context():
            user = await User.create(
                organization_id=organization.id,
                email=email or f"{role}-{uuid.uuid4().hex[:8]}@example.com",
                password_hash=_PASSWORD_HASH[0],
                role=role,
                email_verified=True,
            )
            tokens = await service.issue_tokens(user, "jwt")
        return KitUser(app.test_client(), user, tokens["access_token"], organization, "correct horse battery", tokens)

    return factory
