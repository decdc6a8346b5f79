"""Grid-search a few SearchConfig knobs on the labelled queries (run after bench_search.py built the index).

Prints the best configurations by mean of MRR@10 and nDCG@10. The defaults in
``search.config.SearchConfig`` come from this; 44 queries are few, so prefer round values
near the top over the single best row.

Run: ``HF_HUB_OFFLINE=1 .venv/bin/python bench/search/tune.py --db /tmp/kgbench``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from embed.encoder import load_encoder  # noqa: E402
from kg.store.ladybug import LadybugStore  # noqa: E402
from search.config import SearchConfig  # noqa: E402
from search.engine import Searcher  # noqa: E402
from search.eval import TargetResolver, evaluate, load_queries  # noqa: E402
from search.index import SearchIndex  # noqa: E402

GRID = {
    "fusion": ["linear", "rrf"],
    "bm25_weight": [0.3, 0.5, 0.7],
    "vector_floor": [None, 0.2],
    "expand_weight": [0.0, 0.3, 0.5],
    "cutoff_gap": [0.4, 0.55],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/kgbench"))
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(2)
    store = LadybugStore.open(args.db / "graph", read_only=True)
    index = SearchIndex.open(args.db / "search")
    searcher = Searcher(store, index, load_encoder(None, device="cpu"))
    queries = load_queries(Path(__file__).with_name("queries.jsonl"))
    resolver = TargetResolver(searcher.refresh().items)
    rows = []
    keys = list(GRID)
    for values in itertools.product(*(GRID[k] for k in keys)):
        changes = dict(zip(keys, values))
        changes["vector_weight"] = 1.0 - changes["bm25_weight"]
        changes["expand"] = changes["expand_weight"] > 0
        if changes["fusion"] == "rrf" and changes["vector_floor"] is not None:
            continue
        searcher.config = SearchConfig().with_(**changes)
        report = evaluate(lambda q, k: searcher.search(q, k), queries, resolver)
        o = report.overall
        rows.append(((o["mrr"] + o["ndcg"]) / 2, o["mrr"], o["ndcg"], o["recall"], changes))
    rows.sort(key=lambda r: -r[0])
    for score, mrr, ndcg, recall, changes in rows[:args.top]:
        shown = {k: v for k, v in changes.items() if k in GRID}
        print(f"{score:.3f}  MRR {mrr:.3f}  nDCG {ndcg:.3f}  R {recall:.3f}  {shown}")


if __name__ == "__main__":
    main()
