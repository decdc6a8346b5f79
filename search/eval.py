"""Ranking evaluation: MRR@10, nDCG@10 and Recall@10 over labelled queries.

A queries file is JSON Lines, one query a line::

    {"id": "q1", "query": "retry with backoff", "relevant": ["utils/resilience.py::retry",
     "Backoff strategies.md", "Backoff strategies.md#Exponential", "note:vault/Jitter.md"]}

A relevant item is a node id, or a path target: ``path.md`` (a note), ``path.md#Heading``
(a heading, by its own text or its full path ``#H1#H2``), ``path.py`` (a file),
``path.py::Class.method`` (a definition). A path may start with its root's name.
Metrics are computed overall and by the node kind of the relevant items, for one
configuration or several side by side (``compare``).
"""

from __future__ import annotations

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
from search.index import Item

log = logging.getLogger(__name__)

METRICS = ("mrr", "ndcg", "recall")


@dataclass
class LabelledQuery:
    id: str
    query: str
    relevant: list[str]


@dataclass
class EvalReport:
    """Metrics of one configuration: overall, by node kind, and per query."""

    name: str
    k: int
    overall: dict[str, float] = field(default_factory=dict)
    by_kind: dict[str, dict[str, float]] = field(default_factory=dict)
    per_query: list[dict[str, Any]] = field(default_factory=list)
    latency_ms: dict[str, float] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "k": self.k, "overall": self.overall, "by_kind": self.by_kind,
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
            if not isinstance(relevant, list):
                raise TypeError("relevant must be a list")
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}:{number}: expected {{\"id\", \"query\", \"relevant\": [...]}} ({exc})") from exc
        out.append(LabelledQuery(str(row.get("id", number)), query, [str(r) for r in relevant]))
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


def metrics(ranked: Sequence[str], relevant: Iterable[str], k: int = 10) -> dict[str, float]:
    """MRR@k, nDCG@k (binary gains) and Recall@k of one ranked list."""
    rel = set(relevant)
    top = list(ranked[:k])
    if not rel:
        return {"mrr": 0.0, "ndcg": 0.0, "recall": 0.0}
    first = next((n for n, node in enumerate(top, 1) if node in rel), None)
    dcg = sum(1.0 / math.log2(n + 1) for n, node in enumerate(top, 1) if node in rel)
    ideal = sum(1.0 / math.log2(n + 1) for n in range(1, min(len(rel), k) + 1))
    return {"mrr": 1.0 / first if first else 0.0, "ndcg": dcg / ideal,
            "recall": len(rel.intersection(top)) / len(rel)}


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
    times: list[float] = []
    for q in queries:
        relevant = _resolve_all(q, resolver, report)
        if not relevant:
            continue
        started = time.perf_counter()
        ranked = [r.id for r in search(q.query, k)]
        times.append((time.perf_counter() - started) * 1000)
        scores = metrics(ranked, relevant, k)
        rows.append(scores)
        by_kind: dict[str, set[str]] = defaultdict(set)
        for node_id in relevant:
            by_kind[resolver.items[node_id].kind].add(node_id)
        for kind, ids in by_kind.items():
            kind_rows[kind].append(metrics(ranked, ids, k))
        report.per_query.append({"id": q.id, "query": q.query, **{m: round(v, 4) for m, v in scores.items()},
                                 "top": ranked[:3]})
    report.overall = _mean(rows)
    report.by_kind = {kind: _mean(r) for kind, r in sorted(kind_rows.items())}
    report.latency_ms = {"p50": _percentile(times, 0.5), "p95": _percentile(times, 0.95)}
    return report


def _resolve_all(q: LabelledQuery, resolver: TargetResolver, report: EvalReport) -> set[str]:
    relevant: set[str] = set()
    for target in q.relevant:
        ids = resolver.resolve(target)
        if not ids:
            report.unresolved.append(f"{q.id}: {target}")
        relevant |= ids
    if not relevant:
        log.warning("query %s (%r): no relevant item is in the index; skipped", q.id, q.query)
    return relevant


def format_reports(reports: Sequence[EvalReport]) -> list[str]:
    """Side-by-side text table lines: overall, then one block per node kind."""
    lines = [f"{'config':<18} {'kind':<10} {'n':>4} {'MRR@10':>7} {'nDCG@10':>8} {'R@10':>6} "
             f"{'p50 ms':>7} {'p95 ms':>7}"]
    kinds = sorted({kind for r in reports for kind in r.by_kind})
    for r in reports:
        o = r.overall
        lines.append(f"{r.name:<18} {'all':<10} {o['n']:>4} {o['mrr']:>7.3f} {o['ndcg']:>8.3f} "
                     f"{o['recall']:>6.3f} {r.latency_ms['p50']:>7.1f} {r.latency_ms['p95']:>7.1f}")
    for kind in kinds:
        for r in reports:
            o = r.by_kind.get(kind)
            if o:
                lines.append(f"{r.name:<18} {kind:<10} {o['n']:>4} {o['mrr']:>7.3f} {o['ndcg']:>8.3f} "
                             f"{o['recall']:>6.3f}")
    return lines


def compare(searcher: Any, queries: Sequence[LabelledQuery], *, names: Sequence[str] | None = None,
            k: int = 10) -> list[EvalReport]:
    """Evaluate several configurations (``SearchConfig.preset`` names) with one Searcher.

    The Searcher's in-memory state (vectors, graph) is shared; its config is swapped per run
    and restored afterwards.

    Raises:
        ConfigError: an unknown configuration name.
    """
    from search.engine import PRESETS, SearchConfig

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
