"""Ranking evaluation: MRR@10, nDCG@10 and Recall@10 over labelled queries.

A queries file is JSON Lines, one query a line::

    {"id": "q1", "query": "retry with backoff", "relevant": ["utils/resilience.py::retry",
     "Backoff strategies.md", "Backoff strategies.md#Exponential", "note:vault/Jitter.md"]}
    {"id": "q2", "query": "jitter", "kind": "semantic", "relevant": {"Backoff.md#Jitter": 2, "Backoff.md": 1}}

``relevant`` is a list (every item grade 1) or an object of graded items (2 answers the
query, 1 helps). ``kind`` (semantic, lexical, graph) groups the report; ``corpus`` says
which graph the query is for (a benchmark over several graphs uses it).

A relevant item is a node id, or a path target: ``path.md`` (a note), ``path.md#Heading``
(a heading, by its own text or its full path ``#H1#H2``), ``path.py`` (a file),
``path.py::Class.method`` (a definition). A path may start with its root's name.
Metrics (nDCG with gains 2^grade - 1) are computed overall, by query kind and by the node
kind of the relevant items, for one configuration or several side by side (``compare``),
with paired bootstrap intervals against a baseline (``paired_bootstrap``). ``split_of``
puts every query id in a *tune* or a *test* half by a hash, fixed before any result is seen.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg.errors import ConfigError
from search.units import Item

log = logging.getLogger(__name__)

METRICS = ("mrr", "ndcg", "recall")


@dataclass
class LabelledQuery:
    id: str
    query: str
    relevant: dict[str, int]  # target → grade (1 helps, 2 answers)
    kind: str = ""
    corpus: str = ""

    @property
    def split(self) -> str:
        return split_of(self.id)


def split_of(query_id: str) -> str:
    """``"tune"`` or ``"test"``: half of all ids each, by a hash of the id alone."""
    return "tune" if hashlib.sha256(query_id.encode()).digest()[0] % 2 == 0 else "test"


@dataclass
class EvalReport:
    """Metrics of one configuration: overall, by node kind, and per query."""

    name: str
    k: int
    overall: dict[str, float] = field(default_factory=dict)
    by_kind: dict[str, dict[str, float]] = field(default_factory=dict)
    by_query_kind: dict[str, dict[str, float]] = field(default_factory=dict)
    per_query: list[dict[str, Any]] = field(default_factory=list)
    latency_ms: dict[str, float] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "k": self.k, "overall": self.overall, "by_kind": self.by_kind,
                "by_query_kind": self.by_query_kind,
                "latency_ms": self.latency_ms, "unresolved": self.unresolved, "per_query": self.per_query}


def load_queries(path: Path) -> list[LabelledQuery]:
    """Read a JSONL queries file.

    Raises:
        ConfigError: the file is missing or a line is not {"id", "query", "relevant": [...]}
            (the message names the file and line).
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read queries file {path}: {exc}") from exc
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            row = json.loads(line)
            query = str(row["query"])
            relevant = row.get("relevant", [])
            if isinstance(relevant, list):
                relevant = {str(r): 1 for r in relevant}
            if not isinstance(relevant, dict) or not all(isinstance(g, int) for g in relevant.values()):
                raise TypeError("relevant must be a list of targets or an object of target: grade")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"{path}:{number}: expected {{\"id\", \"query\", \"relevant\": [...]}} ({exc})") from exc
        out.append(LabelledQuery(str(row.get("id", number)), query, {str(t): int(g) for t, g in relevant.items()},
                                 kind=str(row.get("kind", "")), corpus=str(row.get("corpus", ""))))
    return out


class TargetResolver:
    """Turns relevant items (node ids or path targets) into node ids, using the index's items."""

    def __init__(self, items: Mapping[str, Item]) -> None:
        self.items = items
        self.by_key: dict[str, set[str]] = defaultdict(set)
        for item in items.values():
            for key in self._keys(item):
                self.by_key[key].add(item.id)
                self.by_key[f"{item.root}/{key}"].add(item.id)

    @staticmethod
    def _keys(item: Item) -> list[str]:
        if item.kind in ("Note", "File"):
            return [item.path]
        if item.kind == "Heading":
            return [f"{item.path}#{item.heading}", f"{item.path}#" + item.hpath.replace(" > ", "#")]
        if item.kind == "Block":
            return [f"{item.path}#{item.id.rsplit('#', 1)[-1]}"]
        return [f"{item.path}::{item.qualname or item.name}"]

    def resolve(self, target: str) -> set[str]:
        """The node ids a target names (empty when nothing matches)."""
        if target in self.items:
            return {target}
        return set(self.by_key.get(target, ()))


def metrics(ranked: Sequence[str], relevant: Mapping[str, int] | Iterable[str], k: int = 10) -> dict[str, float]:
    """MRR@k, nDCG@k (gain 2^grade - 1; a plain iterable is grade 1) and Recall@k of one list."""
    grades = dict(relevant) if isinstance(relevant, Mapping) else {r: 1 for r in relevant}
    grades = {node: g for node, g in grades.items() if g > 0}
    top = list(dict.fromkeys(ranked))[:k]
    if not grades:
        return {"mrr": 0.0, "ndcg": 0.0, "recall": 0.0}
    first = next((n for n, node in enumerate(top, 1) if node in grades), None)
    dcg = sum((2 ** grades[node] - 1) / math.log2(n + 1) for n, node in enumerate(top, 1) if node in grades)
    best = sorted(grades.values(), reverse=True)[:k]
    ideal = sum((2 ** g - 1) / math.log2(n + 1) for n, g in enumerate(best, 1))
    return {"mrr": 1.0 / first if first else 0.0, "ndcg": dcg / ideal,
            "recall": len(set(grades).intersection(top)) / len(grades)}


def paired_bootstrap(a: Sequence[float], b: Sequence[float], *, samples: int = 10_000,
                     seed: int = 0) -> tuple[float, float, float]:
    """Mean of ``a - b`` over paired queries, with its 95% bootstrap interval ``(mean, lo, hi)``."""
    import numpy as np

    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if diff.size == 0:
        return 0.0, 0.0, 0.0
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, diff.size, size=(samples, diff.size))].mean(axis=1)
    return float(diff.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    if not rows:
        return {m: 0.0 for m in METRICS} | {"n": 0}
    return {m: round(sum(r[m] for r in rows) / len(rows), 4) for m in METRICS} | {"n": len(rows)}


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


Search = Callable[[str, int], Sequence[Any]]  # (query, k) → results with .id


def evaluate(search: Search, queries: Sequence[LabelledQuery], resolver: TargetResolver, *,
             k: int = 10, name: str = "default") -> EvalReport:
    """Run every query and score its results.

    Args:
        search: called as ``search(query, k)``; returns results with an ``id``.
        queries: the labelled queries.
        resolver: turns relevant items into node ids.
        k: cut-off rank for the metrics.
        name: the configuration's name, for the report.
    """
    report = EvalReport(name=name, k=k)
    rows: list[dict[str, float]] = []
    kind_rows: dict[str, list[dict[str, float]]] = defaultdict(list)
    query_kind_rows: dict[str, list[dict[str, float]]] = defaultdict(list)
    times: list[float] = []
    for q in queries:
        relevant = _resolve_all(q, resolver, report)
        if not relevant:
            continue
        started = time.perf_counter()
        ranked = [r.id for r in search(q.query, k)]
        times.append((time.perf_counter() - started) * 1000)
        ms = round(times[-1], 2)
        scores = metrics(ranked, relevant, k)
        rows.append(scores)
        if q.kind:
            query_kind_rows[q.kind].append(scores)
        by_kind: dict[str, dict[str, int]] = defaultdict(dict)
        for node_id, grade in relevant.items():
            by_kind[resolver.items[node_id].kind][node_id] = grade
        for kind, ids in by_kind.items():
            kind_rows[kind].append(metrics(ranked, ids, k))
        report.per_query.append({"id": q.id, "query": q.query, "kind": q.kind, "corpus": q.corpus,
                                 **{m: round(v, 4) for m, v in scores.items()}, "ms": ms, "returned": len(ranked), "top": ranked[:3]})
    report.overall = _mean(rows)
    report.by_kind = {kind: _mean(r) for kind, r in sorted(kind_rows.items())}
    report.by_query_kind = {kind: _mean(r) for kind, r in sorted(query_kind_rows.items())}
    report.latency_ms = {"p50": _percentile(times, 0.5), "p95": _percentile(times, 0.95)}
    return report


def _resolve_all(q: LabelledQuery, resolver: TargetResolver, report: EvalReport) -> dict[str, int]:
    relevant: dict[str, int] = {}
    for target, grade in q.relevant.items():
        ids = resolver.resolve(target)
        if not ids:
            report.unresolved.append(f"{q.id}: {target}")
        for node_id in ids:
            relevant[node_id] = max(grade, relevant.get(node_id, 0))
    if not relevant:
        log.warning("query %s (%r): no relevant item is in the index; skipped", q.id, q.query)
    return relevant


def merge_reports(reports: Sequence[EvalReport], name: str) -> EvalReport:
    """One report over the queries of several (e.g. one per corpus graph): overall and by
    query kind recomputed from the per-query rows; node-kind groups are not merged."""
    merged = EvalReport(name=name, k=reports[0].k if reports else 10)
    for r in reports:
        merged.per_query.extend(r.per_query)
        merged.unresolved.extend(r.unresolved)
    rows = merged.per_query
    merged.overall = _mean(rows)
    kinds = sorted({row["kind"] for row in rows if row.get("kind")})
    merged.by_query_kind = {kind: _mean([row for row in rows if row.get("kind") == kind]) for kind in kinds}
    times = [row["ms"] for row in rows]
    merged.latency_ms = {"p50": _percentile(times, 0.5), "p95": _percentile(times, 0.95)}
    return merged


def format_reports(reports: Sequence[EvalReport], baseline: str = "rrf") -> list[str]:
    """Side-by-side text table lines: overall, by query kind, by node kind, then each
    configuration against ``baseline`` (when it is among them) with paired 95% intervals."""
    lines = [f"{'config':<12} {'group':<16} {'n':>4} {'MRR@10':>7} {'nDCG@10':>8} {'R@10':>6} "
             f"{'p50 ms':>7} {'p95 ms':>7}"]
    for r in reports:
        o = r.overall
        lines.append(f"{r.name:<12} {'all':<16} {o['n']:>4} {o['mrr']:>7.3f} {o['ndcg']:>8.3f} "
                     f"{o['recall']:>6.3f} {r.latency_ms['p50']:>7.1f} {r.latency_ms['p95']:>7.1f}")
    for attr, label in (("by_query_kind", "query "), ("by_kind", "target ")):
        groups = sorted({g for r in reports for g in getattr(r, attr)})
        for group in groups:
            for r in reports:
                o = getattr(r, attr).get(group)
                if o:
                    lines.append(f"{r.name:<12} {label + group:<16} {o['n']:>4} {o['mrr']:>7.3f} "
                                 f"{o['ndcg']:>8.3f} {o['recall']:>6.3f}")
    base = next((r for r in reports if r.name == baseline), None)
    for r in reports:
        if base is None or r is base:
            continue
        parts = []
        for metric in ("ndcg", "recall"):
            mean, lo, hi = paired_bootstrap(*paired(r, base, metric))
            parts.append(f"{metric} {mean:+.3f} [{lo:+.3f}, {hi:+.3f}]")
        lines.append(f"{r.name} vs {baseline} (paired, 95% CI): " + "; ".join(parts))
    return lines


def paired(a: EvalReport, b: EvalReport, metric: str) -> tuple[list[float], list[float]]:
    """Per-query values of ``metric`` for the queries both reports scored, in the same order."""
    theirs = {row["id"]: row[metric] for row in b.per_query}
    ours = [(row[metric], theirs[row["id"]]) for row in a.per_query if row["id"] in theirs]
    return [x for x, _ in ours], [y for _, y in ours]


def compare(searcher: Any, queries: Sequence[LabelledQuery], *, names: Sequence[str] | None = None,
            k: int = 10) -> list[EvalReport]:
    """Evaluate several configurations (``SearchConfig.preset`` names) with one Searcher.

    The Searcher's in-memory state (vectors, graph) is shared; its config is swapped per run
    and restored afterwards.

    Raises:
        ConfigError: an unknown configuration name.
    """
    from search.config import PRESETS, SearchConfig

    resolver = TargetResolver(searcher.refresh().items)
    original = searcher.config
    reports = []
    try:
        for name in names or PRESETS:
            searcher.config = SearchConfig.preset(name)
            if queries:
                searcher.search(queries[0].query, k)  # warm caches before timing
            reports.append(evaluate(lambda q, n: searcher.search(q, n), queries, resolver, k=k, name=name))
    finally:
        searcher.config = original
    return reports
