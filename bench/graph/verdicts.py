"""Hand-checked verdicts for languages without a reference resolver (Go, Rust).

A samples file is JSON Lines, one edge a line, keyed by ``(src, dst, kind, line)`` so
that verdicts survive a re-run after the resolver changes. Each record carries what a
person needs to judge it without opening the tree (both places and their source lines,
from ``corpus.describe``) plus ``stratum`` ("main", or "unique-name" for name-only
guesses kept for the record), ``verdict`` ("right", "wrong", or "" while unchecked) and
``why`` for a wrong one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.graph.corpus import Graph, Site, describe, shuffled
from bench.graph.outcome import AGREE, DISAGREE, UNCONFIRMED, Outcome

Key = tuple[str, str, str, int]


class SamplesError(ValueError):
    """A samples file that cannot be read: the message names the file and line."""


def key_of(record: dict[str, Any]) -> Key:
    return (record["src"], record["dst"], record["kind"], int(record["line"]))


def load(path: Path) -> list[dict[str, Any]]:
    """The records of a samples file (none when it does not exist yet)."""
    if not path.exists():
        return []
    records = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
            key_of(record)
        except (ValueError, KeyError, TypeError) as exc:
            raise SamplesError(f"{path}:{number}: not a sample record ({exc}); fix or delete the line") from exc
        if record.get("verdict", "") not in ("", "right", "wrong"):
            raise SamplesError(f"{path}:{number}: verdict must be 'right', 'wrong' or '' (got {record['verdict']!r})")
        records.append(record)
    return records


def save(path: Path, records: list[dict[str, Any]]) -> None:
    """Write records sorted by stratum, kind and key, one JSON object a line."""
    records = sorted(records, key=lambda r: (r.get("stratum", "main"), r["kind"], key_of(r)))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


@dataclass
class Plan:
    """How many edges to draw per kind and stratum when extending a samples file."""

    calls: int = 120
    imports: int = 30
    inherits: int = 30
    unique_name: int = 40


def extend(records: list[dict[str, Any]], graph: Graph, plan: Plan, seed: int) -> list[dict[str, Any]]:
    """Add unchecked records for a seeded sample of the graph's edges that have none yet.

    Existing records (and their verdicts) are kept; the sample is drawn per kind in a
    seeded random order over the current edges, so a re-run after a resolver change adds
    only the edges that the earlier sample does not cover. Records of an "extra-*" stratum
    (checked by hand outside the random sample) join the sample when it draws them.
    """
    by_key = {key_of(r): r for r in records}
    wanted = [("CALLS", plan.calls, "main"), ("IMPORTS", plan.imports, "main"),
              ("INHERITS", plan.inherits, "main"), ("CALLS", plan.unique_name, "unique-name")]
    out = list(records)
    current = {s.key for s in graph.sites}
    for kind, n, stratum in wanted:
        live = {key_of(r) for r in out if r["kind"] == kind and r.get("stratum", "main") == stratum}
        missing = max(0, n - len(live & current))
        for site in shuffled(graph.sites, kind, seed, stratum):
            if missing == 0:
                break
            old = by_key.get(site.key)
            if old is None:
                by_key[site.key] = {**describe(site, graph), "stratum": stratum, "verdict": "", "why": ""}
                out.append(by_key[site.key])
                missing -= 1
            elif old.get("stratum", "").startswith("extra"):  # checked outside the sample: drawn now
                old["stratum"] = stratum
                missing -= 1
    return out


def outcomes(records: list[dict[str, Any]], graph: Graph, stratum: str) -> tuple[list[tuple[Site, Outcome]], dict[str, Any]]:
    """The checked records of one stratum whose edges still exist, as outcomes, and the drift.

    Returns:
        (site, outcome) pairs ("right" → agree, "wrong" → disagree, unchecked → unconfirmed),
        and a drift report: ``stale`` records whose edge is gone, ``unchecked`` records.
    """
    sites = {s.key: s for s in graph.sites}
    pairs: list[tuple[Site, Outcome]] = []
    stale, unchecked = [], []
    for record in records:
        if record.get("stratum", "main") != stratum:
            continue
        site = sites.get(key_of(record))
        if site is None:
            stale.append(record)
            continue
        verdict = {"right": AGREE, "wrong": DISAGREE}.get(record.get("verdict", ""), UNCONFIRMED)
        if verdict == UNCONFIRMED:
            unchecked.append(record)
        pairs.append((site, Outcome(verdict, [], record.get("why", ""))))
    return pairs, {"stale": stale, "unchecked": unchecked}


def new_edges(records: list[dict[str, Any]], graph: Graph) -> dict[str, int]:
    """Per kind, how many current resolved edges have no record (their precision is unknown)."""
    have = {key_of(r) for r in records}
    counts: dict[str, int] = {}
    for site in graph.sites:
        if site.key not in have and site.edge.how != "unique-name":
            counts[site.edge.kind.value] = counts.get(site.edge.kind.value, 0) + 1
    return counts
