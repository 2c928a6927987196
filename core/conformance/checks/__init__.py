"""``PluginConformance``: the checks every VetrAI plugin should pass, as a pytest base class.

    from vetrai.core.conformance import PluginConformance, Resource

    class TestHello(PluginConformance):
        plugin = "hello"
        resource_list = [
            Resource.by_post("/api/v1/hello/greetings", "/api/v1/hello/greetings/<greeting_id>", {"message": "hi"}),
        ]
        skip = {"event_loop": "reason why this check does not apply"}

Each ``test_<check>`` method is one check, and its docstring's first paragraph is the check's
description (``CHECKS``, and the table in docs/conformance.md). ``skip`` maps a check name to
the reason it does not apply, or ``"<check>:<METHOD> <rule>"`` to exempt one route from one
check. The methods import the app lazily, so importing this package stays cheap.
"""

from __future__ import annotations

import inspect

from vetrai.core.conformance.checks.access import AccessChecks
from vetrai.core.conformance.checks.bad_input import BadInputChecks
from vetrai.core.conformance.checks.declaration import DeclarationChecks
from vetrai.core.conformance.checks.documentation import DocumentationChecks
from vetrai.core.conformance.checks.runtime import RuntimeChecks
from vetrai.core.conformance.checks.tenancy import TenancyChecks
from vetrai.core.conformance.resource import Resource

__all__ = ["CHECKS", "PluginConformance", "Resource", "check_descriptions"]


class PluginConformance(
    DeclarationChecks, DocumentationChecks, AccessChecks, TenancyChecks, RuntimeChecks, BadInputChecks
):
    """Subclass it in a ``Test...`` class and set ``plugin``; every check is a test method."""


GROUPS: tuple[type, ...] = PluginConformance.__bases__


def check_descriptions(groups: tuple[type, ...] = GROUPS) -> dict[str, str]:
    """Check name -> the first paragraph of its method's docstring, in the groups' order."""
    checks: dict[str, str] = {}
    for group in groups:
        for name, method in vars(group).items():
            if name.startswith("test_"):
                doc = inspect.getdoc(method) or ""
                checks[name.removeprefix("test_")] = " ".join(doc.split("\n\n", 1)[0].split())
    return checks


CHECKS: dict[str, str] = check_descriptions()
