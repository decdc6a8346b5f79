"""Learning from use, measured: simulated clicks on the *tune* half, the effect on the *test* half.

For every graph of ``bench_real``, each tune-half query is searched with kg as it stands
(the general model) and a simulated user reads the list top-down with a cascade model:
rank r is looked at with probability 1 for the first three and 0.7 per rank after that, and
the first result looked at that is relevant (grade 2 always, grade 1 half the time) is
opened. Searches and opens go through the graph's real feedback log (``kg.feedback``), as
the web UI writes them. Then ``kg train`` runs on each graph (it mines the log's
judgements as FEEDBACK pairs beside the graph's own), and the test half is scored with that
model ("kg-trained") beside kg with the general model, paired. No test-half query is ever
searched before the scoring, so nothing of the test half reaches training::

    python -m bench.search.real.clicks --work /tmp/kg-bench-real --name clicks --minutes 5

It needs the graphs ``bench_real`` builds (run it first) and changes each graph's
``feedback.sqlite`` (it is rewritten from scratch on every run).
"""

from __future__ import annotations

import argparse
import os
import random
from collections import Counter
from pathlib import Path

from bench.search.real import bench_real

EXAMINE_ALL = 3  # ranks looked at for sure
EXAMINE_DECAY = 0.7  # after them, each further rank is looked at with this much less probability


def simulate(work: Path, graphs: list[str], seed: int) -> Counter[str]:
    """Search every tune-half query once per graph and log the simulated opens."""
    from app.workspace import Workspace
    from kg.settings import Settings
    from search.engine import Searcher
    from search.eval import TargetResolver, load_queries

    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    queries = [q for f in bench_real.QUERY_FILES for q in load_queries(bench_real.HERE / f) if q.split == "tune"]
    encoder = None
    for graph in graphs:
        with Workspace(Settings.load(os.environ, db=work / graph)) as ws:
            encoder = encoder or ws.encoder()
            ws.layout.feedback.unlink(missing_ok=True)
            feedback = ws.feedback()
            searcher = Searcher(ws.store(), ws.index(), encoder)
            resolver = TargetResolver(searcher.refresh().items)
            for q in (q for q in queries if bench_real.graph_of(q.corpus) == graph):
                grades = {node: g for target, g in q.relevant.items() for node in resolver.resolve(target)}
                shown = [r.id for r in searcher.search(q.query, 10)]
                counts["searches"] += 1
                if not shown:
                    continue
                search_id = feedback.record_search(q.query, shown)
                for rank, node in enumerate(shown):
                    if rank >= EXAMINE_ALL and rng.random() > EXAMINE_DECAY:  # reached with 0.7^(r-3)
                        break
                    grade = grades.get(node, 0)
                    if grade >= 2 or (grade == 1 and rng.random() < 0.5):
                        feedback.record_open(search_id, node, rank)
                        counts["opens"] += 1
                        counts[f"opened at {rank + 1}"] += 1
                        break
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/kg-bench-real"))
    parser.add_argument("--name", default="clicks", help="registry name of the models trained with the clicks")
    parser.add_argument("--minutes", type=float, default=5.0, help="training time budget per graph")
    parser.add_argument("--graphs", default="", help="comma-separated subset of " + ", ".join(bench_real.GRAPHS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from search.eval import format_reports

    graphs = [g for g in args.graphs.split(",") if g] or list(bench_real.GRAPHS)
    taken = [g for g in graphs if (args.work / g / "models" / args.name).exists()]
    if taken:
        parser.error(f"{', '.join(taken)} already hold a model named {args.name!r}: pick a new --name")
    counts = simulate(args.work, graphs, args.seed)
    print(f"simulated on the tune half: {dict(sorted(counts.items()))}")
    said = bench_real.train(args.work, args.name, args.minutes, graphs)
    result = bench_real.score(args.work, "test", "", ["rrf", "kg"], graphs, trained=args.name)
    print(f"test half: {result['queries']} queries; {result['machine']}")
    for line in format_reports(result["reports"]):
        print(line)
    bench_real.print_trained(result, said, "kg trained with clicks")

if __name__ == "__main__":
    main()
