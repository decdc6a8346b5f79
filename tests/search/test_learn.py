"""Judging an encoder by searching with it: held-out queries, another encoder's vectors
beside the index's own, and the verdict that decides promotion."""

from __future__ import annotations

import numpy as np

from embed.triplets import Triplet
from kg.store.ladybug import LadybugStore
from search.config import SearchConfig
from search.engine import Searcher
from search.eval import EvalReport
from search.index import SearchIndex, encoder_key
from search.learn import compare_encoders, held_out_queries, verdict
from tests.search.conftest import C
from tests.support.encoders import HashingEncoder


def _t(anchor: str, positive_id: str, kind: str, split: str = "test") -> Triplet:
    return Triplet(anchor, "p", "n", "a", positive_id, "x", kind, split)


def test_held_out_queries_are_the_test_split_query_like_pairs_spread_over_kinds() -> None:
    triplets = [_t("retry a call", "def:a", "DOC"), _t("retry a call", "def:b", "DOC"),
                _t("caller text", "def:c", "CALLS"), _t("train only", "def:d", "DOC", "train"),
                *[_t(f"see the retry notes {i}", f"note:{i}", "LINKS_TO") for i in range(10)],
                *[_t(f"Retry > Backoff {i}", f"heading:{i}", "SECTION") for i in range(10)],
                _t("backoff policy", "note:p", "ALIAS")]
    queries = held_out_queries(triplets, limit=4)
    # Headings and aliases are the target's own title: a model learns their template, so they
    # do not judge it; structural pairs (CALLS) are not queries at all.
    assert len(queries) == 4 and {q.kind for q in queries} == {"DOC", "LINKS_TO"}
    doc = next(q for q in queries if q.kind == "DOC")
    assert doc.query == "retry a call" and doc.relevant == {"def:a": 1, "def:b": 1}
    assert held_out_queries(triplets, limit=4) == queries  # stable


def test_another_encoders_vectors_leave_the_index_alone_and_are_cached(store: LadybugStore, index: SearchIndex,
                                                                       encoder: HashingEncoder) -> None:
    before = index.vectors()
    other = HashingEncoder(dim=32, name="other", version="7")
    ids, matrix = index.vectors_for(other, store)
    assert sorted(ids) == sorted(before[0]) and matrix.shape == (len(ids), 32)
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-5)
    assert index.vectors()[2] == encoder_key(encoder)  # the index still serves its own encoder
    calls = other.calls
    again = index.vectors_for(other, store)[1]
    assert other.calls == calls and np.array_equal(again, matrix)  # from the cache
    results = Searcher(store, index, other, vectors=(ids, matrix)).search("retry with backoff")
    assert f"def:{C}/utils/resilience.py::retry" in [r.id for r in results]


def test_a_useless_encoder_loses_the_comparison(store: LadybugStore, index: SearchIndex,
                                                encoder: HashingEncoder) -> None:
    class Constant(HashingEncoder):
        def encode(self, texts, *, batch_size=32, progress=False):
            out = np.zeros((len(texts), self.dim), dtype=np.float32)
            out[:, 0] = 1.0
            return out

    queries = held_out_queries([_t("sleep between attempts jitter", f"def:{C}/utils/resilience.py::sleep_with_jitter", "DOC"),
                                _t("exponential backoff retry", f"def:{C}/utils/resilience.py::retry", "DOC")])
    vectors_only = SearchConfig.preset("vector")  # so that only the encoders differ
    current, useless = compare_encoders(store, index, {"current": encoder, "useless": Constant(name="c")}, queries,
                                        config=vectors_only)
    assert current.overall["n"] == useless.overall["n"] == 2
    judged = verdict(useless, current)
    assert judged.gain < 0 and not judged.better


def test_verdict_needs_the_interval_above_zero() -> None:
    def report(name: str, values: list[float], recall: list[float] | None = None) -> EvalReport:
        recall = recall or [1.0] * len(values)
        return EvalReport(name, 10, per_query=[{"id": str(i), "ndcg": v, "recall": r}
                                               for i, (v, r) in enumerate(zip(values, recall))])

    assert verdict(report("new", [1.0] * 30), report("old", [0.5] * 30)).better
    assert not verdict(report("new", [1.0] * 5), report("old", [0.5] * 5)).better  # too few to tell
    # higher nDCG but fewer of the relevant items found (a word-matching static model does this)
    assert not verdict(report("new", [1.0] * 30, [0.5] * 30), report("old", [0.5] * 30)).better
    mixed = verdict(report("new", [1.0, 0.0] * 15), report("old", [0.0, 1.0] * 15))
    assert mixed.gain == 0 and not mixed.better
    assert not verdict(report("new", []), report("old", [])).better
