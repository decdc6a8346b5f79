"""Search quality on real third-party data: labelled queries over ../shared/corpora.

The queries (``vault.jsonl``, ``code_a.jsonl``, ``code_b.jsonl`` beside this file) were
written by reading the corpora only, before any system was run on them, and every query id
falls in a *tune* or a *test* half by a hash (``search.eval.split_of``). Tune on ``--split
tune``; report ``--split test``. The baselines (BM25, MiniLM dense, their RRF with k=60, all
plain: same units, no kind weights, expansion, de-duplication or cut-off) come from the same
harness, the same index and the same run as kg, with paired bootstrap intervals.

Each corpus is its own graph (the vault shares one with the TypeScript API it documents)::

    python -m bench.search.real.bench_real                 # ingest + index once, then score the test half
    python -m bench.search.real.bench_real --split tune    # the half to tune on
    python -m bench.search.real.bench_real --model DIR     # another encoder (a trained model)
    python -m bench.search.real.bench_real --train NAME --minutes 5
        # `kg train` (the default: fine-tune MiniLM on the graph's query-like pairs) on every
        # graph, then "kg-trained" (the kg pipeline with that graph's model) beside the rest

Ingest and index are kept in ``--work`` (default /tmp/kg-bench-real) and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
GRAPHS = {  # graph name → the corpus folders it holds
    "vault": ["obsidian-developer-docs", "obsidian-api"],
    "httpx": ["httpx"], "chi": ["chi"], "express": ["express"], "ripgrep": ["ripgrep"], "hono": ["hono"],
}
QUERY_FILES = ["vault.jsonl", "code_a.jsonl", "code_b.jsonl"]
# Queries with no answer in any corpus (not the ones the no-match threshold was set on): the
# share that gets "no good match" is reported per graph.
NONSENSE = ["grandmother's apple pie with cinnamon", "train timetable from paris to lyon",
            "florp zangle quixby", "who painted the mona lisa", "yoga poses for back pain",
            "weather forecast tomorrow rain", "lkjh poiu mnbv", "how to grow tomatoes on a balcony",
            "famous jazz saxophonists", "wedding speech ideas"]


def graph_of(corpus: str) -> str:
    first = corpus.split("+")[0]
    return next(name for name, folders in GRAPHS.items() if first in folders)


def build(work: Path, corpora: Path, model: str) -> None:
    """Ingest and index every graph that is not there yet (incremental if it is)."""
    kg = str(Path(sys.executable).with_name("kg"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **({"KG_MODEL": model} if model else {})}
    for name, folders in GRAPHS.items():
        db = work / name
        started = time.perf_counter()
        subprocess.run([kg, "--db", str(db), "ingest", *[str(corpora / f) for f in folders], "--no-index"],
                       check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run([kg, "--db", str(db), "index"], check=True, env=env, stdout=subprocess.DEVNULL)
        print(f"[build] {name}: {time.perf_counter() - started:.1f} s", file=sys.stderr)


def train(work: Path, name: str, minutes: float, graphs: list[str] | None) -> dict[str, str]:
    """``kg train --name NAME`` on each graph that has no model of that name yet; its output
    (what the promotion check said) by graph."""
    kg = str(Path(sys.executable).with_name("kg"))
    said = {}
    for graph in GRAPHS:
        if graphs and graph not in graphs:
            continue
        log = work / graph / "models" / f"{name}.log"
        if not (work / graph / "models" / name).is_dir():
            started = time.perf_counter()
            out = subprocess.run([kg, "--db", str(work / graph), "train", "--name", name, "--minutes", str(minutes)],
                                 check=True, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
            log.write_text(out.stdout)
            print(f"[train] {graph}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
        lines = log.read_text().splitlines() if log.is_file() else []  # a model trained by hand has no log here
        said[graph] = next((line for line in lines if " vs current" in line), "?")
    return said


def score(work: Path, split: str, model: str, names: list[str], graphs: list[str] | None = None,
          trained: str = "") -> dict[str, Any]:
    from app.workspace import Workspace
    from kg.settings import Settings
    from app.workspace import share_cores_with_torch
    from search.engine import Searcher
    from search.eval import compare, load_queries, merge_reports
    from search.eval import TargetResolver, evaluate

    queries = [q for f in QUERY_FILES for q in load_queries(HERE / f) if split == "all" or q.split == split]
    by_graph: dict[str, list[Any]] = defaultdict(list)
    for q in queries:
        if not graphs or graph_of(q.corpus) in graphs:
            by_graph[graph_of(q.corpus)].append(q)
    queries = [q for group in by_graph.values() for q in group]
    per_config: dict[str, list[Any]] = defaultdict(list)
    no_match: dict[str, int] = {}
    encoder = None
    share_cores_with_torch()  # as a server or the CLI does when it searches
    for name, group in by_graph.items():
        with Workspace(Settings.load(os.environ, db=work / name, model=model or None)) as ws:
            encoder = encoder or ws.encoder()
            store, index = ws.store(), ws.index()
            searcher = Searcher(store, index, encoder)
            reports = compare(searcher, group, names=names)
            if trained:
                from embed.encoder import load_encoder

                own = load_encoder(work / name / "models" / trained)
                tuned = Searcher(store, index, own, vectors=index.vectors_for(own, store))
                reports.append(evaluate(tuned.search, group, TargetResolver(index.items()), name="kg-trained"))
            for report in reports:
                report.per_query = [{**row, "graph": name} for row in report.per_query]
                per_config[report.name].append(report)
            no_match[name] = sum(not searcher.search(q) for q in NONSENSE)
    merged = [merge_reports(per_config[n], n) for n in [*names, *(["kg-trained"] if trained else [])]]
    return {"split": split, "queries": len(queries), "reports": merged, "nonsense_no_match": no_match,
            "encoder": getattr(encoder, "name", "?"), "machine": f"{platform.machine()}, {os.cpu_count()} cores"}


def print_trained(result: dict[str, Any], said: dict[str, str], label: str) -> None:
    """kg with the trained models against kg with the general model (paired), and what
    ``kg train``'s own check said on each graph."""
    from search.eval import paired, paired_bootstrap

    trained, kg = (next(r for r in result["reports"] if r.name == n) for n in ("kg-trained", "kg"))
    for metric in ("ndcg", "recall"):
        mean, lo, hi = paired_bootstrap(*paired(trained, kg, metric))
        print(f"{label} vs kg (paired, 95% CI): {metric} {mean:+.3f} [{lo:+.3f}, {hi:+.3f}]")
    for graph, line in said.items():
        print(f"kg train's own check on {graph}: {line}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=REPO.parent / "shared" / "corpora")
    parser.add_argument("--work", type=Path, default=Path("/tmp/kg-bench-real"))
    parser.add_argument("--split", choices=["tune", "test", "all"], default="test")
    parser.add_argument("--model", default="", help="encoder directory (default: the general model)")
    parser.add_argument("--configs", default="bm25,vector,rrf,kg")
    parser.add_argument("--graphs", default="", help="comma-separated subset of " + ", ".join(GRAPHS))
    parser.add_argument("--no-build", action="store_true", help="score the graphs already in --work")
    parser.add_argument("--out", type=Path, default=None, help="write the reports as JSON here")
    parser.add_argument("--train", default="", metavar="NAME", help="train a model of this name on every graph "
                        "(kept in the graph's registry) and score kg with it as kg-trained")
    parser.add_argument("--minutes", type=float, default=5.0, help="--train: time budget per graph")
    args = parser.parse_args(argv)
    from search.eval import format_reports

    if not args.no_build:
        build(args.work, args.corpora, args.model)
    graphs = [g for g in args.graphs.split(",") if g]
    said = train(args.work, args.train, args.minutes, graphs) if args.train else {}
    result = score(args.work, args.split, args.model, args.configs.split(","), graphs, trained=args.train)
    print(f"split {result['split']}: {result['queries']} queries; encoder {result['encoder']}; {result['machine']}")
    for line in format_reports(result["reports"]):
        print(line)
    if args.train:
        print_trained(result, said, "kg-trained")
    print(f"nonsense queries answered 'no good match' (of {len(NONSENSE)} per graph): {result['nonsense_no_match']}")
    for report in result["reports"]:
        short = sum(1 for row in report.per_query if row["returned"] < 10)
        print(f"{report.name}: {short} of {len(report.per_query)} lists shorter than 10")
    missing = sorted({u for r in result["reports"] for u in r.unresolved})
    if missing:
        print(f"{len(missing)} target(s) not in the graphs: " + "; ".join(missing[:20]), file=sys.stderr)
    if args.out:
        args.out.write_text(json.dumps({**result, "reports": [r.as_dict() for r in result["reports"]]}, indent=1))


if __name__ == "__main__":
    main()
