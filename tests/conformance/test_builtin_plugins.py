"""The conformance kit run against every finished built-in plugin (and the core itself).

Adding a plugin's name to ``PLUGINS`` adds its whole conformance run; its resource factories,
skips and prefixes go in ``resources.py``.
"""

from __future__ import annotations

from tests.conformance.resources import class_attributes
from vetrai.core.conformance import PluginConformance

PLUGINS = ["core", "auth", "keys"]

for _name in PLUGINS:
    _class_name = "TestConformance" + "".join(part.title() for part in _name.replace("-", "_").split("_"))
    globals()[_class_name] = type(_class_name, (PluginConformance,), class_attributes(_name))
