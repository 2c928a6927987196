"""The check that bad request bodies are refused with a 4xx problem, never a 500."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pytest

from vetrai.core.conformance.checks.base import ConformanceBase, is_problem, response_text
from vetrai.core.conformance.kit import WRITE_METHODS, Kit
from vetrai.core.conformance.resource import Resource

if TYPE_CHECKING:
    from vetrai.core.config import Settings


class BadInputChecks(ConformanceBase):
    @pytest.mark.asyncio
    async def test_bad_input(self, vetrai_kit: Kit, vetrai_settings: Settings, resources: Sequence[Resource]) -> None:
        """Every write route: a body over ``VETRAI_MAX_REQUEST_BYTES`` (with its Content-Length declared); where the
        route has a request model also malformed JSON, a JSON array and every field of the wrong type: 4xx
        problem+json, never 500.
        """
        self._check("bad_input")
        routes = [
            route for route in self._routes(vetrai_kit, "bad_input", public=None) if route.method in WRITE_METHODS
        ]
        if not routes:
            pytest.skip("the plugin has no write route")
        alice = await vetrai_kit.user(self.actor_role)
        made = await self._make_objects(vetrai_kit, alice, resources)
        oversized = b"[" + b"0," * ((vetrai_settings.max_request_bytes + 1) // 2) + b"0]"
        json_type = {"Content-Type": "application/json"}
        problems = []
        for route in sorted(routes, key=lambda item: item.rule):
            model = route.request_model
            declared = {
                **json_type,
                "Content-Length": str(len(oversized)),
            }  # as real clients send; Quart's test client does not
            cases: dict[str, dict[str, Any]] = {"an oversized body": {"data": oversized, "headers": declared}}
            if model is not None:  # a route without a request schema ignores its body, except its size
                wrong: dict[str, Any] = {
                    (model_field.alias or name): {"unexpected": ["object"]}
                    for name, model_field in getattr(model, "model_fields", {}).items()
                } or {"unexpected": ["object"]}
                cases |= {
                    "malformed JSON": {"data": b'{"broken": ', "headers": json_type},
                    "a JSON array": {"json": [1, 2, 3]},
                    "wrong field types": {"json": wrong},
                }
            path = route.path(self._values_for(route, made))
            for label, kwargs in cases.items():
                response = await alice.request(route.method, path, **kwargs)
                if not 400 <= response.status_code < 500 or not is_problem(response):
                    problems.append(
                        f"{route.key} with {label}: {response.status_code} {response.headers.get('Content-Type')} "
                        f"{await response_text(response)}"
                    )
        assert not problems, "expected 4xx problem+json:\n" + "\n".join(problems)
