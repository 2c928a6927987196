"""Heavy optional libraries imported on first use, so start-up pays only for what it runs.

``lazy_module("stripe")`` returns the module object at once (module-level ``import``-style
use keeps working: ``stripe.StripeError`` in an ``except``, ``stripe.StripeClient(...)``) and
executes the library the first time one of its attributes is read. A deployment without a
Stripe key, S3 storage or SMTP never loads those SDKs.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """``name``'s module, loaded on first attribute access (already imported: returned as is)."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
