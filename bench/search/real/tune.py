"""Learn the ranker's weights (search/ranker.json) on the *tune* half of the real-corpus queries.

Only tune-half queries are read; the test half is never touched here. Run after
``bench_real`` has built the graphs::

    python -m bench.search.real.tune [--work /tmp/kg-bench-real] [--out search/ranker.json]
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path

from bench.search.real.bench_real import QUERY_FILES, HERE, graph_of


def collect(work: Path, model: str) -> tuple[list[tuple[list[list[float]], list[int], str]], str]:
    from app.workspace import Workspace
    from kg.settings import Settings
    from search.engine import SearchConfig, Searcher
    from search.eval import TargetResolver, load_queries
    from search.index import encoder_key
    from search.rank import grades_of

    queries = [q for f in QUERY_FILES for q in load_queries(HERE / f) if q.split == "tune"]
    out = []
    encoder = None
    for name in sorted({graph_of(q.corpus) for q in queries}):
        with Workspace(Settings.load(os.environ, db=work / name, model=model or None)) as ws:
            encoder = encoder or ws.encoder()
            searcher = Searcher(ws.store(), ws.index(), encoder, SearchConfig())
            resolver = TargetResolver(searcher.refresh().items)
            for q in (q for q in queries if graph_of(q.corpus) == name):
                relevant: dict[str, int] = {}
                for target, grade in q.relevant.items():
                    for node_id in resolver.resolve(target):
                        relevant[node_id] = max(grade, relevant.get(node_id, 0))
                ids, rows = searcher.candidate_features(q.query)
                if relevant and any(i in relevant for i in ids):
                    out.append((rows, grades_of(ids, relevant), q.id))
    return out, encoder_key(encoder) if encoder else ""


def cross_validate(data: list[tuple[list[list[float]], list[int], str]], l2: float, folds: int = 4) -> None:
    """nDCG@10 of the learned ranking against ranking by the rrf feature, on held-out folds of
    the tune half (an estimate before the test half is ever scored)."""
    import hashlib

    import numpy as np

    from search.eval import metrics
    from search.rank import FEATURES, train

    def fold(qid: str) -> int:
        return hashlib.sha256(("cv" + qid).encode()).digest()[1] % folds

    rrf = FEATURES.index("rrf")
    learned, plain = [], []
    for f in range(folds):
        ranker = train([(r, g) for r, g, q in data if fold(q) != f], l2=l2)
        for rows, grades, qid in data:
            if fold(qid) != f:
                continue
            ids = list(range(len(rows)))
            relevant = {i: g for i, g in zip(ids, grades) if g}
            by_model = list(np.argsort(-ranker.score(rows), kind="stable"))
            by_rrf = list(np.argsort(-np.asarray(rows)[:, rrf], kind="stable"))
            learned.append(metrics(by_model, relevant)["ndcg"])
            plain.append(metrics(by_rrf, relevant)["ndcg"])
    print(f"{folds}-fold CV on the tune half (l2={l2}): learned nDCG@10 {np.mean(learned):.3f}, "
          f"rrf feature {np.mean(plain):.3f}, difference {np.mean(learned) - np.mean(plain):+.3f}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    import numpy as np

    from search.rank import WEIGHTS_FILE, calibrate, train

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/kg-bench-real"))
    parser.add_argument("--model", default="")
    parser.add_argument("--out", type=Path, default=WEIGHTS_FILE)
    parser.add_argument("--l2", type=float, default=1e-2)
    args = parser.parse_args(argv)
    data, encoder = collect(args.work, args.model)
    cross_validate(data, args.l2)
    ranker = train([(rows, grades) for rows, grades, _ in data], l2=args.l2)
    ranker.encoder = encoder
    raw, relevant = [], []  # calibrated on each query's top 20 by the learned score: what a reader sees
    for rows, grades, _ in data:
        scores = ranker.score(rows)
        for i in np.argsort(-scores)[:20]:
            raw.append(scores[i])
            relevant.append(grades[i] > 0)
    ranker.calibration = calibrate(raw, relevant)
    ranker.save(args.out, learned_on=f"bench/search/real tune half: {len(data)} queries with a relevant "
                f"candidate", date=str(date.today()), l2=args.l2)
    print(f"learned on {len(data)} tune queries → {args.out}", file=sys.stderr)
    for name, weight in sorted(ranker.weights.items(), key=lambda kv: -abs(kv[1])):
        print(f"{name:>14} {weight:+.4f}")


if __name__ == "__main__":
    main()
