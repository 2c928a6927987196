"""The store's semantic index, configured as LangGraph's ``langgraph.json`` configures it:
``"store": {"index": {"embed": "path.py:func" | "module:attr" | "provider:model", "dims": N,
"fields": ["$"]}, "ttl": {"default_ttl": minutes, "refresh_on_read": true}}`` in the file that
``VETRAI_LANGGRAPH_CONFIG`` names.

The vectors are stored with the items (a JSON column, one vector per indexed field) and ranked
by cosine similarity in Python over the candidate namespace: pgvector is not assumed, so a
search scores every live item under its namespace prefix (fine for the thousands of memories
an organization keeps per namespace, not for millions).
"""

from __future__ import annotations

import importlib
import json
import logging
import math
from functools import lru_cache
from typing import Any

from vetrai.engine.project import load_target, project_file, project_section

log = logging.getLogger("vetrai.engine")


def store_config() -> dict[str, Any]:
    """The ``store`` section of the deployment's langgraph.json (empty without one)."""
    try:
        return project_section("store")
    except (OSError, ValueError):
        log.exception("VETRAI_LANGGRAPH_CONFIG could not be read")
        return {}


def index_config() -> dict[str, Any] | None:
    index = store_config().get("index")
    return index if isinstance(index, dict) and index.get("embed") else None


def ttl_config() -> dict[str, Any]:
    ttl = store_config().get("ttl")
    return ttl if isinstance(ttl, dict) else {}


@lru_cache(maxsize=4)
def _load_embeddings(location: str, embed: str) -> Any:
    from langgraph.store.base.embed import ensure_embeddings

    module_path = embed.rpartition(":")[0]
    if not (module_path.endswith(".py") or "/" in module_path):
        try:
            importlib.import_module(module_path)
        except ImportError:
            return ensure_embeddings(embed)  # "provider:model": LangChain's init_embeddings
    return ensure_embeddings(load_target(embed, f"vetrai_langgraph_embed_{abs(hash((location, embed)))}"))


def embeddings() -> Any | None:
    """The configured embedding model (a LangChain ``Embeddings``), or None: search then
    filters without ranking."""
    index = index_config()
    if index is None:
        return None
    try:
        return _load_embeddings(str(project_file()), str(index["embed"]))
    except Exception:
        log.exception("the store's embedding model %r could not be loaded", index["embed"])
        return None


def texts_of(value: dict[str, Any], fields: list[str] | None) -> list[str]:
    """The texts an item is indexed by: each field path's text (``$`` is the whole value)."""
    from langgraph.store.base.embed import get_text_at_path, tokenize_path

    paths = fields if fields is not None else list((index_config() or {}).get("fields") or ["$"])
    texts: list[str] = []
    for path in paths:
        if path == "$":
            texts.append(json.dumps(value, sort_keys=True))
        else:
            texts.extend(get_text_at_path(value, tokenize_path(path)))
    return [text for text in texts if text]


async def embed_value(value: dict[str, Any], index: Any) -> list[list[float]] | None:
    """The vectors to store with an item (``index=False``: none; a list: those fields)."""
    model = embeddings()
    if model is None or index is False:
        return None
    texts = texts_of(value, list(index) if isinstance(index, list) else None)
    if not texts:
        return None
    return [list(map(float, vector)) for vector in await model.aembed_documents(texts)]


async def embed_query(query: str) -> list[float] | None:
    model = embeddings()
    if model is None:
        return None
    return list(map(float, await model.aembed_query(query)))


def cosine(left: list[float], right: list[float]) -> float:
    dot = sum(a * b for a, b in zip(left, right, strict=False))
    norm = math.sqrt(sum(a * a for a in left)) * math.sqrt(sum(b * b for b in right))
    return dot / norm if norm else 0.0


def score(query: list[float], vectors: list[list[float]] | None) -> float | None:
    """The item's best field match (max pooling, as LangGraph's stores rank)."""
    if not vectors:
        return None
    return max(cosine(query, vector) for vector in vectors)
