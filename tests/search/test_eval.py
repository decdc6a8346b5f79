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
    assert [r.name for r in reports] == ["bm25", "vector", "fused", "fused+expansion"]
    assert reports[0].overall["mrr"] == 1.0


def test_a_bad_queries_line_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "q", "query": "x", "relevant": []}\n{"id": "q2"}\n')
    with pytest.raises(ConfigError, match=r"bad.jsonl:2"):
        load_queries(path)
