"""Held-out evaluation: triplet accuracy and ranking metrics, for several encoders side by side.

- Triplet accuracy: the share of triplets whose anchor is closer (cosine) to the positive
  than to the negative.
- Ranking: every distinct held-out anchor ranks every distinct held-out positive text; the
  anchor's own positives are relevant. MRR@10 and nDCG@10 (binary gains) are averaged over
  anchors. The anchor's own node is left out of its candidates unless it is relevant (a
  link sentence should not be rewarded for finding the note it was cut from).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from embed.encoder import Encoder
from embed.triplets import Triplet

log = logging.getLogger(__name__)

METRICS = ("triplet_accuracy", "mrr@10", "ndcg@10")


class ModelEncoder:
    """An in-memory SentenceTransformer seen through the ``Encoder`` protocol.

    Args:
        model: A SentenceTransformer (being trained, or just loaded).
        name: A name for tables and logs.
    """

    def __init__(self, model: Any, name: str = "model", version: str = "",
                 lineage: Sequence[str] = ()) -> None:
        self.model = model
        self.name = name
        self.version = version
        self.lineage = tuple(lineage)
        self.dim = int(model.get_embedding_dimension() or 0)

    def encode(self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        vectors = self.model.encode(list(texts), batch_size=batch_size, show_progress_bar=progress,
                                    convert_to_numpy=True, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)


@dataclass
class _Encoded:
    rows: dict[str, int]
    matrix: np.ndarray

    def __getitem__(self, texts: Sequence[str]) -> np.ndarray:
        return self.matrix[[self.rows[t] for t in texts]]


def _encode(encoder: Encoder, texts: Sequence[str], batch_size: int) -> _Encoded:
    unique = list(dict.fromkeys(texts))
    matrix = encoder.encode(unique, batch_size=batch_size) if unique else np.zeros((0, 1), np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return _Encoded({t: i for i, t in enumerate(unique)}, matrix / np.maximum(norms, 1e-12))


def evaluate(encoder: Encoder, triplets: Sequence[Triplet], *, k: int = 10,
             batch_size: int = 64) -> dict[str, float]:
    """Triplet accuracy, MRR@k and nDCG@k of ``encoder`` on held-out ``triplets``.

    Args:
        encoder: Any encoder (vectors are re-normalised, so unnormalised ones work too).
        triplets: Held-out triplets (one split).
        k: Cut-off of the ranking metrics.
        batch_size: Encoding batch size.

    Returns:
        ``triplet_accuracy``, ``mrr@10``, ``ndcg@10`` (named with ``k``), and the counts of
        ``triplets``, ``queries`` and ``candidates`` they were measured on; all zero when
        there are no triplets.
    """
    empty = {"triplet_accuracy": 0.0, f"mrr@{k}": 0.0, f"ndcg@{k}": 0.0,
             "triplets": 0, "queries": 0, "candidates": 0}
    if not triplets:
        return empty
    vectors = _encode(encoder, [x for t in triplets for x in (t.anchor, t.positive, t.negative)],
                      batch_size)
    a = vectors[[t.anchor for t in triplets]]
    p = vectors[[t.positive for t in triplets]]
    n = vectors[[t.negative for t in triplets]]
    accuracy = float(np.mean(np.sum(a * p, axis=1) > np.sum(a * n, axis=1)))
    ranking = _ranking(vectors, triplets, k)
    return {"triplet_accuracy": accuracy, **ranking, "triplets": len(triplets)}


def _ranking(vectors: _Encoded, triplets: Sequence[Triplet], k: int) -> dict[str, float]:
    candidates: dict[str, str] = {}
    relevant: dict[tuple[str, str], set[str]] = {}
    for t in triplets:
        candidates.setdefault(t.positive_id, t.positive)
        relevant.setdefault((t.anchor_id, t.anchor), set()).add(t.positive_id)
    ids = list(candidates)
    column = {node_id: i for i, node_id in enumerate(ids)}
    matrix = vectors[[candidates[i] for i in ids]]
    queries = list(relevant)
    scores = vectors[[anchor for _, anchor in queries]] @ matrix.T
    rr, ndcg = [], []
    for row, (anchor_id, _anchor) in zip(scores, queries):
        wanted = relevant[(anchor_id, _anchor)]
        if anchor_id in column and anchor_id not in wanted:
            row[column[anchor_id]] = -np.inf
        top = np.argsort(-row, kind="stable")[:k]
        hits = [ids[j] in wanted for j in top]
        rr.append(next((1.0 / (r + 1) for r, hit in enumerate(hits) if hit), 0.0))
        dcg = sum(1.0 / math.log2(r + 2) for r, hit in enumerate(hits) if hit)
        ideal = sum(1.0 / math.log2(r + 2) for r in range(min(k, len(wanted))))
        ndcg.append(dcg / ideal)
    return {f"mrr@{k}": float(np.mean(rr)), f"ndcg@{k}": float(np.mean(ndcg)),
            "queries": len(queries), "candidates": len(ids)}


def compare(encoders: Mapping[str, Encoder], triplets: Sequence[Triplet], *,
            k: int = 10) -> dict[str, dict[str, float]]:
    """``evaluate`` for each named encoder on the same triplets."""
    results = {}
    for name, encoder in encoders.items():
        results[name] = evaluate(encoder, triplets, k=k)
        log.info("%s: %s", name, results[name])
    return results


def format_table(results: Mapping[str, Mapping[str, float]]) -> str:
    """A small fixed-width table: one row per model, one column per metric."""
    columns = [m for m in METRICS]
    width = max([len("model"), *(len(name) for name in results)])
    lines = ["  ".join([f"{'model':<{width}}", *(f"{c:>16}" for c in columns)])]
    for name, metrics in results.items():
        cells = [f"{metrics.get(c, float('nan')):>16.3f}" for c in columns]
        lines.append("  ".join([f"{name:<{width}}", *cells]))
    if results:
        first = next(iter(results.values()))
        lines.append(f"({int(first.get('triplets', 0))} held-out triplets, "
                     f"{int(first.get('queries', 0))} queries over "
                     f"{int(first.get('candidates', 0))} candidates)")
    return "\n".join(lines)
