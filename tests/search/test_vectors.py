"""The exact vector index: upserts and deletes in place, filtered search, growth that leaves
searches in flight alone."""

from __future__ import annotations

import numpy as np

from search.vectors import ExactIndex, VectorFilter


def unit(*values: float) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_upsert_search_delete_and_filters() -> None:
    index = ExactIndex(3)
    index.upsert(["a", "b", "c"], np.stack([unit(1, 0, 0), unit(1, 1, 0), unit(0, 0, 1)]),
                 [("Note", "vault"), ("Function", "repo"), ("Note", "repo")])
    q = unit(1, 0.1, 0)
    assert [i for i, _ in index.search(q, 3)] == ["a", "b", "c"]
    assert [i for i, _ in index.search(q, 3, VectorFilter(kinds=["Note"]))] == ["a", "c"]
    assert [i for i, _ in index.search(q, 3, VectorFilter(roots=["repo"], kinds=["Note"]))] == ["c"]
    assert index.search(q, 3, VectorFilter(roots=["nowhere"])) == []
    assert [i for i, _ in index.search(q, 3, min_score=0.5)] == ["a", "b"]
    index.upsert(["a"], unit(0, 0, 1)[None], [("Note", "vault")])  # a changed text: same row, new vector
    assert index.search(q, 1)[0][0] == "b" and len(index) == 3
    index.delete(["b", "unknown"])
    assert [i for i, _ in index.search(q, 3)] == ["a", "c"] and "b" not in index and len(index) == 2
    assert index.cosines(q, ["a", "b", "c"]).keys() == {"a", "c"}
    assert np.isclose(index.cosines(q, ["c"])["c"], 0.0)


def test_growth_packs_the_live_rows_and_a_search_in_flight_keeps_its_snapshot() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(100, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = ExactIndex.from_rows([f"n{i}" for i in range(100)], vectors, [("Note", "v")] * 100)
    layout, before = index.layout, index.raw()
    index.delete([f"n{i}" for i in range(0, 100, 2)])
    more = rng.normal(size=(200, 8)).astype(np.float32)
    more /= np.linalg.norm(more, axis=1, keepdims=True)
    index.upsert([f"m{i}" for i in range(200)], more, [("Note", "v")] * 200)
    assert index.layout > layout and len(index) == 250
    matrix, ids, n = index.raw()
    assert n == 250 and ids[:50] == [f"n{i}" for i in range(1, 100, 2)]  # live rows first, in order
    assert before[2] == 100 and before[1][1] == "n1"  # the old layout is untouched
    everything = dict(index.search(more[7], 250))
    assert everything["m7"] > 0.999 and len(everything) == 250
    exact = {f"n{i}": float(vectors[i] @ more[7]) for i in range(1, 100, 2)}
    assert all(np.isclose(everything[k], v, atol=1e-6) for k, v in exact.items())
