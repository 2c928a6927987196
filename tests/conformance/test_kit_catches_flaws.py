"""The kit must fail a broken plugin, check by check (a kit that passes everything proves nothing).

Each test runs one check of ``PluginConformance`` on ``LeakyPlugin`` and expects the failure
message that names the flaw. The same checks pass on core, auth, keys and the example plugin.
"""

from __future__ import annotations

import pytest

from tests.conformance.leaky_plugin import LeakyPlugin
from vetrai.core.conformance import PluginConformance, Resource

Failed = (AssertionError, pytest.fail.Exception)


class LeakyConformance(PluginConformance):
    """Not collected (no Test prefix): the tests below call its checks and expect failures."""

    plugin = "leaky"
    plugin_object = LeakyPlugin()
    resource_list = [Resource.by_post("/api/v1/leaky/things", "/api/v1/leaky/things/<thing_id>", {"name": "a"})]


KIT = LeakyConformance()


@pytest.fixture
def vetrai_plugins() -> list[str]:
    return KIT.enabled_plugins()


@pytest.fixture
def vetrai_extra_plugins() -> tuple[object, ...]:
    return (KIT.plugin_object,)


def test_enabled_plugins_follow_requires_and_with_plugins():
    assert KIT.enabled_plugins() == ["auth", "keys"]


def test_hooks_check_finds_an_undecorated_hook():
    with pytest.raises(Failed, match=r"(?s)without @hookimpl.*vetrai_startup"):
        KIT.test_hooks()


def test_skip_mapping_names_real_checks_and_gives_reasons():
    class Typo(LeakyConformance):
        skip = {"tenant_isolaton": "typo"}

    with pytest.raises(AssertionError, match="unknown check 'tenant_isolaton'"):
        Typo().test_hooks()

    class NoReason(LeakyConformance):
        skip = {"hooks": " "}

    with pytest.raises(AssertionError, match="needs a reason"):
        NoReason().test_hooks()


async def test_route_prefix_check(vetrai_kit):
    with pytest.raises(Failed, match=r"GET /api/v1/elsewhere/misplaced"):
        await KIT.test_route_prefix(vetrai_kit)


async def test_schemas_check(vetrai_kit):
    with pytest.raises(Failed, match=r"POST /api/v1/leaky/echo: no docstring"):
        await KIT.test_schemas(vetrai_kit)


async def test_components_check(vetrai_kit, vetrai_settings_factory):
    with pytest.raises(Failed, match=r"(?s)prefix these with 'leaky'.*ThingIn"):
        await KIT.test_components(vetrai_kit, vetrai_settings_factory)


async def test_tenant_isolation_check(vetrai_kit):
    with pytest.raises(Failed, match=r"GET /api/v1/leaky/things/<thing_id> as another organization: 200"):
        await KIT.test_tenant_isolation(vetrai_kit, KIT.resource_list)


async def test_tenant_isolation_demands_a_resource_for_every_parameterised_route(vetrai_kit):
    with pytest.raises(Failed, match=r"(?s)no Resource covers.*GET /api/v1/leaky/things/<thing_id>"):
        await KIT.test_tenant_isolation(vetrai_kit, [])


async def test_tenant_lists_check(vetrai_kit):
    with pytest.raises(Failed, match=r"GET /api/v1/leaky/things lists organization A's object to organization B"):
        await KIT.test_tenant_lists(vetrai_kit, KIT.resource_list)


async def test_api_key_scopes_check(vetrai_kit):
    with pytest.raises(
        Failed, match=r"(?s)expected 403 for an API key without \['leaky:read'\]:\n.*GET /api/v1/leaky/things: 200"
    ):
        await KIT.test_api_key_scopes(vetrai_kit, KIT.resource_list)


async def test_event_loop_check(vetrai_kit):
    with pytest.raises(Failed, match=r"the event loop was blocked.*GET /api/v1/leaky/slow"):
        await KIT.test_event_loop(vetrai_kit, KIT.resource_list)


async def test_bad_input_check(vetrai_kit, vetrai_settings):
    with pytest.raises(Failed, match=r"POST /api/v1/leaky/echo with a JSON array: 500"):
        await KIT.test_bad_input(vetrai_kit, vetrai_settings, KIT.resource_list)


async def test_unauthenticated_and_forged_checks_pass_because_the_core_enforces_auth(vetrai_kit):
    """The core authenticates every non-public route before the plugin runs: even this plugin passes."""
    await KIT.test_unauthenticated(vetrai_kit)
    await KIT.test_forged_token(vetrai_kit)
