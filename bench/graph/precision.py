"""Precision of kg's resolved code edges against an independent reference, on a real tree.

Usage::

    python -m bench.graph.precision --lang python --sample 300 --seed 1       # jedi
    python -m bench.graph.precision --lang typescript --sample 300 --seed 1   # TypeScript LanguageService (hono)
    python -m bench.graph.precision --lang javascript --sample 300 --seed 1   # the same, allowJs (express)
    python -m bench.graph.precision --lang go                                 # hand verdicts in samples/go.jsonl
    python -m bench.graph.precision --lang rust --draw                        # add unchecked records to label

The corpus (``--corpus``, default ``../shared/corpora``; the tree per language is in
``corpus.CORPORA``) is parsed and resolved in-process. A seeded sample of resolved
CALLS, IMPORTS and INHERITS edges to a Class, Function or File of the tree is checked,
per kind, in two strata: "main" (every ``how`` but name-only guesses) and "unique-name".
Each edge comes out agree, disagree or unconfirmed; precision is agree / (agree +
disagree) with a Wilson 95% interval. The table goes to the terminal, the details (every
disagreement with the reference's answer) to ``bench/out/graph_precision_<lang>.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from bench.graph import verdicts
from bench.graph.corpus import CORPORA, Graph, Site, build, describe, sample
from bench.graph.outcome import AGREE, DISAGREE, UNCONFIRMED, Outcome

HAND = ("go", "rust", "java", "csharp", "c", "cpp", "ruby", "php")  # no toolchain reference here
STRATA = (("CALLS", "main"), ("IMPORTS", "main"), ("INHERITS", "main"), ("CALLS", "unique-name"))
Checked = list[tuple[Site, Outcome]]


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion k/n (0, 0 when n is 0)."""
    if n == 0:
        return (0.0, 0.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def summarise(checked: Checked) -> dict[str, Any]:
    """n, agree, disagree, unconfirmed, precision and its interval for a list of outcomes.

    ``strict_precision`` also counts as wrong the unconfirmed edges whose reference named
    only a definition outside the tree (``outside``).
    """
    counts = Counter(o.verdict for _, o in checked)
    agree, disagree = counts[AGREE], counts[DISAGREE]
    outside = sum(1 for _, o in checked if o.outside)
    low, high = wilson(agree, agree + disagree)
    strict = agree + disagree + outside
    return {"n": len(checked), "agree": agree, "disagree": disagree, "unconfirmed": counts[UNCONFIRMED],
            "outside": outside, "precision": agree / (agree + disagree) if agree + disagree else None,
            "ci95": [low, high], "strict_precision": agree / strict if strict else None,
            "strict_ci95": list(wilson(agree, strict))}


def check_reference(graph: Graph, sites: list[Site]) -> list[Outcome]:
    """Outcomes from the language's reference resolver (jedi, or TypeScript)."""
    if graph.lang == "python":
        from bench.graph.ref_python import JediReference

        jedi_ref = JediReference(graph)
        return [jedi_ref.check(s) for s in sites]
    from bench.graph.ref_ts import TypeScriptReference

    return TypeScriptReference(graph).check_all(sites)


def run_reference(graph: Graph, n: int, seed: int) -> dict[tuple[str, str], Checked]:
    """Draw the sample of every stratum and check it in one pass of the reference."""
    drawn = {(kind, stratum): sample(graph.sites, kind, n, seed, stratum) for kind, stratum in STRATA}
    flat = [s for sites in drawn.values() for s in sites]
    results = iter(check_reference(graph, flat))
    return {key: [(s, next(results)) for s in sites] for key, sites in drawn.items()}


def run_hand(graph: Graph, path: Path, draw: bool, seed: int) -> tuple[dict[tuple[str, str], Checked], dict[str, Any]]:
    """Outcomes from the hand verdicts in ``path`` (extended with unchecked records if ``draw``)."""
    records = verdicts.load(path)
    if draw:
        records = verdicts.extend(records, graph, verdicts.Plan(), seed)
        verdicts.save(path, records)
    out: dict[tuple[str, str], Checked] = {}
    drift: dict[str, Any] = {"stale": [], "unchecked": 0, "new_edges_without_record": verdicts.new_edges(records, graph)}
    # The strata the file holds (a fresh draw adds one, e.g. "main2"); "extra-*" records are
    # kept for reuse, not counted.
    found = sorted({(r["kind"], r.get("stratum", "main")) for r in records
                    if not r.get("stratum", "main").startswith("extra")})
    for kind, stratum in found:
        pairs, d = verdicts.outcomes([r for r in records if r["kind"] == kind], graph, stratum)
        out[(kind, stratum)] = pairs
        drift["stale"] += [[stratum, *verdicts.key_of(r)] for r in d["stale"]]
        drift["unchecked"] += len(d["unchecked"])
    return out, drift


def by_how(checked: Checked) -> dict[str, dict[str, Any]]:
    groups: dict[str, Checked] = defaultdict(list)
    for site, outcome in checked:
        groups[site.edge.how].append((site, outcome))
    return {how: summarise(pairs) for how, pairs in sorted(groups.items())}


def disagreement(site: Site, outcome: Outcome, graph: Graph) -> dict[str, Any]:
    row = describe(site, graph)
    row["dst_qualname"] = site.dst.qualname or site.dst.path
    row["reference"] = [str(p) for p in outcome.reference] or [outcome.note]
    row["note"] = outcome.note
    return row


def report(graph: Graph, results: dict[tuple[str, str], Checked], reference: str) -> dict[str, Any]:
    """The JSON report: per kind and stratum, per how, and every disagreement and unconfirmed edge."""
    done, calls = graph.calls_share()
    rows = {f"{k}/{s}": {**summarise(c), "by_how": by_how(c)} for (k, s), c in results.items()}
    edges = Counter(f"{s.edge.kind.value}/{s.edge.how}" for s in graph.sites)
    return {
        "lang": graph.lang, "tree": str(graph.root), "reference": reference,
        "calls": {"all": calls, "resolved": done, "share": done / calls if calls else 0},
        "resolved_edges_by_kind_how": dict(sorted(edges.items())), "rows": rows,
        "disagreements": [disagreement(s, o, graph) for c in results.values() for s, o in c if o.verdict == DISAGREE],
        "unconfirmed": [disagreement(s, o, graph) for c in results.values() for s, o in c if o.verdict == UNCONFIRMED],
    }


def _fmt(p: float | None) -> str:
    return "    -" if p is None else f"{p:5.1%}"


def _row(name: str, row: dict[str, Any], interval: bool) -> str:
    text = (f"{name:<22} {row['n']:>4} {row['agree']:>6} {row['disagree']:>6} {row['unconfirmed']:>6} "
            f"{row['outside']:>5} {_fmt(row['precision']):>9}")
    if interval:
        (low, high), (s_low, s_high) = row["ci95"], row["strict_ci95"]
        text += f"  [{low:5.1%}, {high:5.1%}] {_fmt(row['strict_precision']):>6}  [{s_low:5.1%}, {s_high:5.1%}]"
    return text


def print_table(data: dict[str, Any]) -> None:
    calls = data["calls"]
    print(f"{data['lang']} ({data['tree']}), reference: {data['reference']}")
    print(f"calls resolved: {calls['resolved']:,} / {calls['all']:,} = {calls['share']:.1%}   "
          f"resolved edges: {data['resolved_edges_by_kind_how']}")
    print(f"{'kind/stratum':<22} {'n':>4} {'agree':>6} {'disag':>6} {'unconf':>6} {'(out)':>5} {'precision':>9}"
          f"  {'95% CI':<16} {'strict':>6}  95% CI")
    for name, row in data["rows"].items():
        print(_row(name, row, True))
        for how, sub in row["by_how"].items():
            print(_row(f"  how={how or '-'}", sub, False))
    if data["disagreements"]:
        print("disagreements:")
    for d in data["disagreements"]:
        print(f"  {d['kind']} {d['how']} {d['site']}: {d['site_text'][:90]}\n"
              f"      ours: {d['def']} {d['dst_qualname']}   reference: {', '.join(d['reference'][:3])}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=Path("../shared/corpora"), help="the corpora folder")
    ap.add_argument("--lang", required=True, choices=sorted(CORPORA), help="the language (and so the tree)")
    ap.add_argument("--tree", type=Path, help="check this tree instead of the language's corpus")
    ap.add_argument("--sample", type=int, default=300, help="edges checked per kind and stratum (reference runs)")
    ap.add_argument("--seed", type=int, default=1, help="the sample's seed")
    ap.add_argument("--samples", type=Path, help="hand verdicts (default for go/rust: bench/graph/samples/<lang>.jsonl)")
    ap.add_argument("--draw", action="store_true", help="add unchecked records for edges the samples file lacks")
    ap.add_argument("--out", type=Path, default=Path("bench/out"), help="where the JSON report goes")
    args = ap.parse_args(argv)
    if args.tree is None and not CORPORA[args.lang]:
        ap.error(f"{args.lang} has no tree in the corpora: pass --tree (see bench/graph/README.md)")
    tree = args.tree or args.corpus / CORPORA[args.lang]
    if not tree.is_dir():
        ap.error(f"no tree at {tree}: pass --corpus (the folder holding {CORPORA[args.lang]}/) or --tree")
    started = time.perf_counter()
    graph = build(args.lang, tree)
    hand = args.lang in HAND or args.samples is not None
    drift: dict[str, Any] = {}
    if hand:
        path = args.samples or Path(__file__).parent / "samples" / f"{args.lang}.jsonl"
        results, drift = run_hand(graph, path, args.draw, args.seed)
        reference = "hand-checked"
    else:
        results, reference = run_reference(graph, args.sample, args.seed), ("jedi" if args.lang == "python" else "typescript")
    data = report(graph, results, reference)
    data.update(seed=args.seed, sample=args.sample, drift=drift, seconds=round(time.perf_counter() - started, 1))
    print_table(data)
    if drift:
        stale = Counter(k[0] for k in drift["stale"])
        print(f"hand records: stale (edge gone) {dict(stale) or 0}, {drift['unchecked']} unchecked; "
              f"current edges without a record: {drift['new_edges_without_record']}")
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"graph_precision_{args.lang}.json"
    out.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    print(f"wrote {out} ({data['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
