"""The one hook dispatcher: dependency order, pluggy's tryfirst/trylast, monitoring, firstresult.

These load plugins without a database: the dispatcher is ``LoadedPlugins`` in
vetrai.core.plugins, and the core's authentication, events and lifecycle all go through it.
"""

from __future__ import annotations

from typing import Any

import pytest

from vetrai.core.errors import PluginError
from vetrai.core.events import EventBus
from vetrai.core.hooks import PluginInfo, hookimpl
from vetrai.core.plugins import load_plugins


class Named:
    def __init__(self, name: str, requires: tuple[str, ...] = ()) -> None:
        self.name = name
        self.requires = requires

    @hookimpl
    def vetrai_plugin_info(self) -> PluginInfo:
        return PluginInfo(name=self.name, version="1", requires=self.requires)


def authenticator(answer: Any, calls: list[str], **marks: bool) -> type[Named]:
    class Authenticator(Named):
        @hookimpl(**marks)
        async def vetrai_authenticate(self, request: Any) -> Any:
            calls.append(self.name)
            return answer

    return Authenticator


def test_hooks_run_in_dependency_order_whatever_the_registration_order(settings_factory):
    calls: list[str] = []
    plain = authenticator(None, calls)
    loaded = load_plugins(
        settings_factory(plugins=[]), [plain("zeta", ("alpha",)), plain("beta"), plain("alpha", ("beta",))]
    )
    assert loaded.order == ["core", "beta", "alpha", "zeta"]
    assert loaded.implementers("vetrai_authenticate") == ["beta", "alpha", "zeta"]


async def test_vetrai_authenticate_awaits_in_order_until_a_result_and_honours_tryfirst_trylast(settings_factory):
    calls: list[str] = []
    plugins = [
        authenticator(None, calls)("a"),
        authenticator("principal-of-b", calls)("b"),
        authenticator("never", calls)("c"),
        authenticator(None, calls, trylast=True)("0-last"),
        authenticator(None, calls, tryfirst=True)("z-first"),
    ]
    loaded = load_plugins(settings_factory(plugins=[]), plugins)
    assert loaded.implementers("vetrai_authenticate") == ["z-first", "a", "b", "c", "0-last"]
    assert await loaded.afirst_result("vetrai_authenticate", request=None) == "principal-of-b"
    assert calls == ["z-first", "a", "b"]


async def test_vetrai_authenticate_is_firstresult_on_the_spec(settings_factory):
    loaded = load_plugins(settings_factory(plugins=[]))
    assert loaded.manager.hook.vetrai_authenticate.spec.opts["firstresult"] is True
    with pytest.raises(TypeError, match="not a firstresult hook"):
        await loaded.afirst_result("vetrai_event", event=None)


async def test_an_authenticator_error_reaches_the_caller_unchanged(settings_factory):
    class Rejecting(Named):
        @hookimpl
        async def vetrai_authenticate(self, request: Any) -> Any:
            raise LookupError("yours but invalid")

    loaded = load_plugins(settings_factory(plugins=[]), [Rejecting("strict")])
    with pytest.raises(LookupError, match="yours but invalid"):
        await loaded.afirst_result("vetrai_authenticate", request=None)


async def test_hook_calls_go_through_pluggy_monitoring(settings_factory):
    calls: list[str] = []
    loaded = load_plugins(settings_factory(plugins=[]), [authenticator(None, calls)("watched")])
    seen: list[tuple[str, list[str]]] = []
    undo = loaded.manager.add_hookcall_monitoring(
        lambda hook_name, impls, kwargs: seen.append((hook_name, [impl.plugin_name for impl in impls])),
        lambda outcome, hook_name, impls, kwargs: None,
    )
    try:
        await loaded.afirst_result("vetrai_authenticate", request=None)
    finally:
        undo()
    assert seen == [("vetrai_authenticate", ["watched"])]


@pytest.mark.parametrize("marks", [{"hookwrapper": True}, {"wrapper": True}])
def test_hook_wrappers_are_refused_naming_the_plugin(settings_factory, marks):
    class Wrapping(Named):
        @hookimpl(**marks)
        def vetrai_event(self, event: Any) -> Any:
            yield

    with pytest.raises(PluginError, match="'wrapping': vetrai_event: hook wrappers are not supported"):
        load_plugins(settings_factory(plugins=[]), [Wrapping("wrapping")])


async def test_vetrai_event_listeners_run_in_order_and_a_failure_is_logged_not_raised(settings_factory, caplog):
    calls: list[str] = []

    class Listener(Named):
        def __init__(self, name: str, fail: bool = False, **kwargs: Any) -> None:
            super().__init__(name, **kwargs)
            self.fail = fail

        @hookimpl
        async def vetrai_event(self, event: Any) -> None:
            calls.append(self.name)
            if self.fail:
                raise RuntimeError(f"{self.name} broke")

    loaded = load_plugins(
        settings_factory(plugins=[]), [Listener("later", requires=("broken",)), Listener("broken", fail=True)]
    )
    await EventBus(loaded).emit("test.happened")
    assert calls == ["broken", "later"]
    assert "plugin broken failed in vetrai_event" in caplog.text and "broken broke" in caplog.text


async def test_a_plugin_registered_after_loading_is_called_too(settings_factory):
    calls: list[str] = []
    loaded = load_plugins(settings_factory(plugins=[]), [authenticator(None, calls)("early")])
    assert await loaded.afirst_result("vetrai_authenticate", request=None) is None
    loaded.manager.register(authenticator("late-principal", calls)("late"), name="late")
    assert await loaded.afirst_result("vetrai_authenticate", request=None) == "late-principal"
    assert calls == ["early", "late"]
