"""Held-out metrics: triplet accuracy, MRR@10 and nDCG@10, and the comparison table."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from embed.evaluate import evaluate, format_table
from embed.triplets import Triplet


class TopicEncoder:
    """Maps a text to the one-hot vector of its topic word: a perfect encoder for these triplets."""

    name, version, dim = "topics", "1", 4
    topics = ("cache", "retry", "parser", "queue")

    def encode(self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i, next(j for j, t in enumerate(self.topics) if t in text)] = 1.0
        return out


class ReverseEncoder(TopicEncoder):
    """Sends each query to the next topic: always prefers the negative."""

    def encode(self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        out = super().encode(texts)
        queries = np.array(["query" in t for t in texts])
        out[queries] = np.roll(out[queries], 1, axis=1)
        return out


def _triplets() -> list[Triplet]:
    topics = TopicEncoder.topics
    return [Triplet(f"{a} query", f"{a} doc", f"{topics[(i + 1) % 4]} other", f"q:{a}", f"d:{a}",
                    f"d:{topics[(i + 1) % 4]}", "TEST", "test") for i, a in enumerate(topics)]


def test_a_perfect_encoder_scores_one() -> None:
    metrics = evaluate(TopicEncoder(), _triplets())
    assert metrics["triplet_accuracy"] == 1.0
    assert metrics["mrr@10"] == 1.0 and metrics["ndcg@10"] == 1.0
    assert (metrics["queries"], metrics["candidates"], metrics["triplets"]) == (4, 4, 4)


def test_a_wrong_encoder_scores_lower() -> None:
    metrics = evaluate(ReverseEncoder(), _triplets())
    assert metrics["triplet_accuracy"] == 0.0
    assert 0.0 < metrics["mrr@10"] < 0.5


def test_the_anchor_node_is_not_its_own_candidate_unless_relevant() -> None:
    t = _triplets()
    # the query of "cache" is cut from node d:retry, which is also a candidate
    t[0] = Triplet("cache query", "cache doc", "retry other", "d:retry", "d:cache", "d:retry", "LINKS_TO", "test")
    assert evaluate(TopicEncoder(), t)["mrr@10"] == 1.0


def test_no_triplets_give_zeros() -> None:
    assert evaluate(TopicEncoder(), [])["triplet_accuracy"] == 0.0


def test_table_lists_models_side_by_side() -> None:
    table = format_table({"new": evaluate(TopicEncoder(), _triplets()),
                          "current (general)": evaluate(ReverseEncoder(), _triplets())})
    lines = table.splitlines()
    assert "triplet_accuracy" in lines[0] and "mrr@10" in lines[0] and "ndcg@10" in lines[0]
    assert lines[1].startswith("new") and "1.000" in lines[1]
    assert lines[2].startswith("current (general)")
    assert "4 held-out triplets" in lines[-1]
