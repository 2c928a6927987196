"""Lazily imported libraries run on first use, not at import time."""

from __future__ import annotations

import sys

import pytest

from vetrai.core.imports import lazy_module


def test_a_lazy_module_executes_on_first_attribute_access(tmp_path, monkeypatch):
    (tmp_path / "vetrai_lazy_probe.py").write_text(
        "import builtins\nbuiltins.vetrai_lazy_probe_ran = True\nVALUE = 42\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "vetrai_lazy_probe", raising=False)
    import builtins

    monkeypatch.setattr(builtins, "vetrai_lazy_probe_ran", False, raising=False)
    probe = lazy_module("vetrai_lazy_probe")
    assert builtins.vetrai_lazy_probe_ran is False
    assert probe.VALUE == 42
    assert builtins.vetrai_lazy_probe_ran is True
    assert lazy_module("vetrai_lazy_probe") is sys.modules["vetrai_lazy_probe"]
    monkeypatch.delitem(sys.modules, "vetrai_lazy_probe")


def test_a_missing_module_fails_at_once():
    with pytest.raises(ModuleNotFoundError):
        lazy_module("vetrai_no_such_module_anywhere")
