"""A tiny deterministic encoder for tests that are not about the encoder.

``tiny_encoder()`` returns a ``HashingEncoder``: a bag of lower-cased word pieces
(camelCase and snake_case split) and character trigrams, hashed with sha1 into a small
signed vector and L2-normalised. No torch, no model files, the same vectors in every
process; texts that share words or word pieces get a positive cosine. It implements
``embed.encoder.Encoder`` and counts its calls, so tests can check what was embedded::

    from tests.support.encoders import tiny_encoder

    enc = tiny_encoder()
    enc.encode(["retry with backoff"])   # shape (1, 64)
    enc.calls, enc.texts_encoded        # 1, 1
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

_WORD = re.compile(r"[A-Za-z0-9]+")
_PIECE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


@lru_cache(maxsize=65536)
def _slot(feature: str, dim: int) -> tuple[int, float]:
    digest = hashlib.sha1(feature.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "little") % dim, (1.0 if digest[4] & 1 else -1.0)


def _features(text: str) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    for word in _WORD.findall(text):
        for piece in _PIECE.findall(word) or [word]:
            piece = piece.lower()
            out.append(("w:" + piece, 1.0))
            padded = f"^{piece}$"
            out.extend(("c:" + padded[i:i + 3], 0.3) for i in range(len(padded) - 2))
    return out


class HashingEncoder:
    """A deterministic hashing bag-of-words encoder (see the module docstring).

    Args:
        dim: vector size.
        name: encoder name; two encoders with different names or versions do not share
            cached embeddings.
        version: encoder version.
    """

    def __init__(self, dim: int = 64, *, name: str = "tiny-hashing", version: str = "1") -> None:
        self.dim = dim
        self.name = name
        self.version = version
        self.calls = 0
        self.texts_encoded = 0
        self.seen: list[str] = []

    def encode(self, texts: Sequence[str], *, batch_size: int = 32,
               progress: bool = False) -> np.ndarray:
        """Vectors of shape (len(texts), dim), unit length (a zero text gets a fixed unit vector)."""
        self.calls += 1
        self.texts_encoded += len(texts)
        self.seen.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature, weight in _features(text):
                slot, sign = _slot(feature, self.dim)
                out[row, slot] += sign * weight
            norm = float(np.linalg.norm(out[row]))
            if norm == 0.0:
                out[row, 0] = 1.0
            else:
                out[row] /= norm
        return out

    def __repr__(self) -> str:
        return f"HashingEncoder(dim={self.dim}, name={self.name!r}, version={self.version!r})"


def tiny_encoder(dim: int = 64, *, name: str = "tiny-hashing", version: str = "1") -> HashingEncoder:
    """A fresh HashingEncoder (its call counters start at zero)."""
    return HashingEncoder(dim, name=name, version=version)
