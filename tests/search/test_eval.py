"""Ranking metrics and the evaluation of labelled queries."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from kg.errors import ConfigError
from kg.model import def_id, heading_id, note_id
from search.engine import Searcher
from search.eval import TargetResolver, compare, evaluate, load_queries, metrics


def test_metrics_on_a_hand_made_ranking() -> None:
    ranked = ["a", "b", "c", "d"]
    scores = metrics(ranked, {"c", "z"}, k=10)
    assert scores["mrr"] == pytest.approx(1 / 3)
    assert scores["recall"] == pytest.approx(0.5)
    assert scores["ndcg"] == pytest.approx((1 / math.log2(4)) / (1 + 1 / math.log2(3)))
    assert metrics(ranked, {"a"})["ndcg"] == pytest.approx(1.0)
    assert metrics(ranked, {"d"}, k=3) == {"mrr": 0.0, "ndcg": 0.0, "recall": 0.0}


def test_path_targets_resolve_to_node_ids(searcher: Searcher) -> None:
    resolver = TargetResolver(searcher.refresh().items)
    assert resolver.resolve("Jitter.md") == {note_id("vault", "Jitter.md")}
    assert resolver.resolve("vault/Backoff strategies.md#Exponential") == {
        heading_id("vault", "Backoff strategies.md", ["Exponential"])}
    assert resolver.resolve("utils/users.py::UserStore.getUserName") == {
        def_id("app", "utils/users.py", "UserStore.getUserName")}
    assert resolver.resolve("nowhere.md") == set()


def test_evaluate_known_mrr_and_by_kind(searcher: Searcher, tmp_path: Path) -> None:
    lines = [
        {"id": "q1", "query": "getUserName", "relevant": ["utils/users.py::UserStore.getUserName"]},
        {"id": "q2", "query": "pancakes", "relevant": ["Cooking.md#Pancakes", "missing.md"]},
        {"id": "q3", "query": "pancakes", "relevant": ["Jitter.md"]},
    ]
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines))
    queries = load_queries(path)
    resolver = TargetResolver(searcher.refresh().items)
    report = evaluate(lambda q, k: searcher.search(q, k), queries, resolver)
    assert report.overall["mrr"] == pytest.approx(2 / 3, abs=1e-4) and report.overall["n"] == 3
    assert report.by_kind["Function"]["mrr"] == 1.0 and report.by_kind["Note"]["mrr"] == 0.0
    assert report.unresolved == ["q2: missing.md"]


def test_compare_reports_every_configuration(searcher: Searcher, tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"id": "q", "query": "user name", "relevant": ["utils/users.py::UserStore.getUserName"]}))
    reports = compare(searcher, load_queries(path))
    assert [r.name for r in reports] == ["bm25", "vector", "rrf", "kg"]
    assert reports[0].overall["mrr"] == 1.0


def test_a_bad_queries_line_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "q", "query": "x", "relevant": []}\n{"id": "q2"}\n')
    with pytest.raises(ConfigError, match=r"bad.jsonl:2"):
        load_queries(path)


def test_graded_ndcg_and_a_duplicate_counts_once() -> None:
    from search.eval import metrics

    perfect = metrics(["a", "b"], {"a": 2, "b": 1})
    swapped = metrics(["b", "a"], {"a": 2, "b": 1})
    assert perfect["ndcg"] == 1.0 and 0.0 < swapped["ndcg"] < 1.0 and swapped["mrr"] == 1.0
    assert metrics(["b", "b", "a"], {"a": 1, "b": 1})["ndcg"] == 1.0


def test_split_is_a_fixed_half_by_id() -> None:
    from search.eval import split_of

    ids = [f"q{i}" for i in range(400)]
    tune = [i for i in ids if split_of(i) == "tune"]
    assert 150 < len(tune) < 250 and [split_of(i) for i in ids] == [split_of(i) for i in ids]


def test_paired_bootstrap_interval_covers_the_true_difference() -> None:
    from search.eval import paired_bootstrap

    a, b = [0.5 + 0.1 * (i % 3) for i in range(60)], [0.4 + 0.1 * (i % 3) for i in range(60)]
    mean, lo, hi = paired_bootstrap(a, b)
    assert abs(mean - 0.1) < 1e-9 and lo - 1e-9 <= 0.1 <= hi + 1e-9
    mean, lo, hi = paired_bootstrap([1.0, 0.0] * 20, [0.0, 1.0] * 20)
    assert lo < 0.0 < hi


def test_graded_queries_file_with_kinds(tmp_path: Path) -> None:
    from search.eval import load_queries

    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "x", "query": "q", "kind": "graph", "corpus": "c", "relevant": {"a.md": 2, "b.md": 1}}\n',
                    encoding="utf-8")
    [q] = load_queries(path)
    assert q.relevant == {"a.md": 2, "b.md": 1} and q.kind == "graph" and q.corpus == "c"
