"""A deterministic embedding for the store's semantic search (no model, no network): each word
lands in one of 64 buckets, so texts sharing words point the same way."""

from __future__ import annotations

import re
import zlib

DIMS = 64


def embed(texts: list[str]) -> list[list[float]]:
    vectors = []
    for text in texts:
        vector = [0.0] * DIMS
        for word in re.findall(r"[a-z]+", text.lower()):
            vector[zlib.crc32(word.encode()) % DIMS] += 1.0
        vectors.append(vector)
    return vectors
