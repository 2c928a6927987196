"""The greetings logic, with no HTTP in it: routes, the event listener and tasks call it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from vetrai.core.auth import Principal
from vetrai.core.pagination import PageQuery, paginate
from vetrai.core.platform import Slot, current_platform
from vetrai.core.tenancy import get_scoped, scoped
from vetrai_hello.models import Greeting


@dataclass
class HelloRuntime:
    """What this process keeps between requests: how many greetings it has served."""

    served: int = 0


RUNTIME: Slot[HelloRuntime] = Slot("hello")


def serialize(greeting: Greeting) -> dict[str, Any]:
    return {
        "id": greeting.id,
        "message": greeting.message,
        "author_id": greeting.author_id,  # type: ignore[attr-defined]
        "organization_id": greeting.organization_id,  # type: ignore[attr-defined]
        "created_at": greeting.created_at,
        "updated_at": greeting.updated_at,
    }


async def create_greeting(principal: Principal, message: str) -> Greeting:
    greeting = await Greeting.create(
        organization_id=principal.organization_id, author_id=principal.user_id, message=message
    )
    await current_platform().events.emit(
        "hello.greeting_created",
        {"greeting_id": str(greeting.id), "message": message},
        organization_id=principal.organization_id,
        actor_id=principal.user_id,
    )
    return greeting


async def list_greetings(principal: Principal, query: PageQuery) -> dict[str, Any]:
    return await paginate(scoped(Greeting, principal), query, serialize)


async def get_greeting(principal: Principal, greeting_id: str) -> Greeting:
    return await get_scoped(Greeting, principal, greeting_id)


async def update_greeting(principal: Principal, greeting_id: str, message: str | None) -> Greeting:
    greeting = await get_greeting(principal, greeting_id)
    if message is not None:
        greeting.message = message
        await greeting.save(update_fields=["message", "updated_at"])
    return greeting


async def delete_greeting(principal: Principal, greeting_id: str) -> None:
    greeting = await get_greeting(principal, greeting_id)
    await greeting.delete()


async def welcome(organization_id: uuid.UUID, email: str, template: str) -> Greeting:
    """The automatic greeting for a new user (called by the ``auth.user_registered`` listener)."""
    return await Greeting.create(organization_id=organization_id, message=template.format(email=email))


async def count_greetings(organization_id: str | None = None) -> int:
    queryset = Greeting.all() if organization_id is None else Greeting.filter(organization_id=organization_id)
    return await queryset.count()
