"""The LangGraph project a deployment serves: ``VETRAI_LANGGRAPH_CONFIG=path/to/langgraph.json``.

One reader for every section the engine honours (``graphs``, ``store``, ``checkpointer``), read
once per path, and one loader for the ``path.py:attribute`` / ``module:attribute`` targets it
names, resolved against the file's folder as LangGraph resolves them.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger("vetrai.engine")


def project_file() -> Path | None:
    """The langgraph.json the deployment names, or None."""
    location = os.environ.get("VETRAI_LANGGRAPH_CONFIG")
    return Path(location).resolve() if location else None


@lru_cache(maxsize=4)
def _read(path: Path) -> dict[str, Any]:
    config = json.loads(path.read_text())
    if not isinstance(config, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    return config


def project_section(name: str) -> dict[str, Any]:
    """One top-level section of the project (empty without a project or that section).
    Raises ``OSError``/``ValueError`` when the file cannot be read."""
    path = project_file()
    if path is None:
        return {}
    section = _read(path).get(name)
    return section if isinstance(section, dict) else {}


def load_target(target: str, module_name: str) -> Any:
    """The attribute a ``./path.py:attribute`` (relative to the project file) or
    ``package.module:attribute`` target names; a file is loaded as module ``module_name``."""
    module_path, _, attribute = target.rpartition(":")
    if module_path.endswith(".py") or "/" in module_path:
        path = project_file()
        file = ((path.parent if path else Path.cwd()) / module_path).resolve()
        spec = importlib.util.spec_from_file_location(module_name, file)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {file}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # typing.get_type_hints looks the module up
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(module_path)
    return getattr(module, attribute)


def default_thread_ttl() -> dict[str, Any] | None:
    """``checkpointer.ttl`` as a thread TTL (``{"strategy", "ttl"}`` in minutes) for threads
    created without one, or None. Its ``sweep_interval_minutes`` is not needed: the reaper
    sweeps expired threads every ``VETRAI_WORKERS_REAPER_SECONDS``."""
    try:
        ttl = project_section("checkpointer").get("ttl")
    except (OSError, ValueError):
        log.exception("VETRAI_LANGGRAPH_CONFIG could not be read")
        return None
    if not isinstance(ttl, dict) or not ttl.get("default_ttl"):
        return None
    return {"strategy": ttl.get("strategy") or "delete", "ttl": float(ttl["default_ttl"])}
