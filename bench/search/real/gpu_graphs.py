"""Does training on the graph pay when compute is not the limit? ``kg train``'s recipe run for
full epochs on a GPU, on each real graph of ``bench_real``, judged on the labelled queries.

Three steps, the middle one on a GPU machine that has torch and sentence-transformers but
not kg's store or web stack (it imports only ``embed``)::

    python -m bench.search.real.gpu_graphs prepare --work /tmp/kgb --out .gpu/graphs
        # here: per graph, the triplets `kg train` would mine (train split), every indexed
        # node's embedded text, and the labelled query texts (gzipped JSON lines)
    python3 bench/search/real/gpu_graphs.py train --data .gpu/graphs --base .gpu/minilm --out $OUT
        # there: per variant and graph, fine-tune the general model from the same start,
        # then embed the graph's nodes and the queries (float16 .npz per variant)
    python -m bench.search.real.gpu_graphs score --work /tmp/kgb --vectors DIR [--split test]
        # here: kg with each variant's vectors beside kg with the general model, paired

The variants are kg train's defaults (batch 32, lr 3e-5, the query-like pairs, one hard
negative) for 1 and 4 epochs, and 4 epochs with every pair kind (definitions, calls and
containment too).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

VARIANTS = {  # name → (epochs, pair kinds: "query" is QUERY_PAIRS, "all" is PAIR_KINDS)
    "ep1": (1, "query"),
    "ep4": (4, "query"),
    "ep4all": (4, "all"),
}


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")


def _read(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def prepare(work: Path, out: Path) -> None:
    import os

    from app.workspace import Workspace
    from bench.search.real.bench_real import GRAPHS, HERE, NONSENSE, QUERY_FILES
    from embed.triplets import PAIR_KINDS, mine_triplets
    from kg.model import SEARCHABLE_KINDS
    from kg.settings import Settings
    from search.eval import load_queries
    from search.units import embed_text

    out.mkdir(parents=True, exist_ok=True)
    queries = sorted({q.query for f in QUERY_FILES for q in load_queries(HERE / f)} | set(NONSENSE))
    _write(out / "queries.jsonl.gz", [{"text": q} for q in queries])
    for graph in GRAPHS:
        with Workspace(Settings.load(os.environ, db=work / graph)) as ws:
            store = ws.store()
            ids = set(ws.index().items())
            units = [{"id": n.id, "text": embed_text(n)} for n in store.iter_nodes(list(SEARCHABLE_KINDS))
                     if n.id in ids]
            triplets = mine_triplets(store, negatives=1, seed=0, pair_kinds=PAIR_KINDS)
        rows = [{**t.as_dict(), "query_like": t.edge_kind not in ("DEFINITION", "CALLS", "CONTAINS")}
                for t in triplets if t.split == "train"]
        _write(out / f"{graph}.units.jsonl.gz", units)
        _write(out / f"{graph}.triplets.jsonl.gz", rows)
        print(f"{graph}: {len(units)} units, {len(rows)} train triplets "
              f"({sum(r['query_like'] for r in rows)} query-like)", file=sys.stderr)


def train_all(data: Path, base: Path, out: Path, device: str, limit: int = 0, only: str = "") -> None:
    import torch

    from embed.scratch import ModelSpec, build_model
    from embed.train import TrainConfig, train
    from embed.triplets import Triplet

    fields = Triplet.__dataclass_fields__
    queries = [r["text"] for r in _read(data / "queries.jsonl.gz")]
    summary: dict[str, Any] = {"gpu": torch.cuda.get_device_name() if device == "cuda" else "cpu"}
    for variant, (epochs, kinds) in VARIANTS.items():
        if only and variant not in only.split(","):
            continue
        arrays: dict[str, np.ndarray] = {}
        for units_file in sorted(data.glob("*.units.jsonl.gz")):
            graph = units_file.name.split(".")[0]
            rows = _read(data / f"{graph}.triplets.jsonl.gz")
            triplets = [Triplet(**{k: v for k, v in r.items() if k in fields}) for r in rows
                        if kinds == "all" or r["query_like"]][:limit or None]
            model = build_model(ModelSpec(kind="finetune", base=str(base)), [], Path("/tmp/unused"))
            model.float()  # the carried copy is float16; train float32 weights under bf16 autocast
            config = TrainConfig(batch_size=32, epochs=epochs, lr=3e-5, seed=0, device=device)
            started = time.perf_counter()
            result = train(model, triplets, config)
            units = _read(units_file)[:limit or None]
            model.max_seq_length = 128  # as kg's encoder reads
            encode = lambda texts: model.encode(texts, batch_size=256, convert_to_numpy=True,  # noqa: E731
                                                normalize_embeddings=True).astype(np.float16)
            arrays[f"{graph}.units"] = encode([u["text"] for u in units])
            arrays[f"{graph}.queries"] = encode(queries)
            summary[f"{variant}/{graph}"] = {"triplets": len(triplets), "steps": result.steps,
                                             "seconds": round(time.perf_counter() - started, 1),
                                             "last_loss": round(result.curve[-1]["loss"], 4)}
            print(variant, graph, summary[f"{variant}/{graph}"], flush=True)
        np.savez(out / f"{variant}.npz", **arrays)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))


class LookupEncoder:
    """Query vectors computed elsewhere, looked up by text; named as the general model's
    fine-tunes are (its lineage), so the learned ranker applies as it would to a trained model."""

    def __init__(self, texts: np.ndarray, vectors: np.ndarray, name: str, lineage: list[str]) -> None:
        self.vectors = {str(t): v.astype(np.float32) for t, v in zip(texts, vectors)}
        self.name, self.version, self.dim, self.lineage = name, "gpu", vectors.shape[1], lineage

    def encode(self, texts: Any, **_: Any) -> np.ndarray:
        return np.stack([self.vectors[t] for t in texts])


def score(work: Path, vectors: Path, data_dir: Path, split: str) -> None:
    """kg with each variant's vectors, and with them concatenated to the general model's
    ("+base": the average of the two cosines), beside kg with the general model."""
    import os

    from app.workspace import Workspace
    from bench.search.real.bench_real import GRAPHS, HERE, QUERY_FILES, graph_of
    from kg.settings import Settings
    from search.engine import Searcher
    from search.eval import TargetResolver, evaluate, format_reports, merge_reports
    from search.eval import load_queries
    from search.index import encoder_key

    queries = [q for f in QUERY_FILES for q in load_queries(HERE / f) if split == "all" or q.split == split]
    variants = {p.stem: np.load(p) for p in sorted(vectors.glob("*.npz"))}
    texts = np.array([r["text"] for r in _read(data_dir / "queries.jsonl.gz")])  # the rows' order
    reports: dict[str, list[Any]] = {name: [] for name in ["kg", *variants, *(f"{v}+base" for v in variants)]}
    general_queries = None
    for graph in GRAPHS:
        group = [q for q in queries if graph_of(q.corpus) == graph]
        with Workspace(Settings.load(os.environ, db=work / graph)) as ws:
            store, index, general = ws.store(), ws.index(), ws.encoder()
            kg = Searcher(store, index, general)
            resolver = TargetResolver(kg.refresh().items)
            reports["kg"].append(evaluate(kg.search, group, resolver, name="kg"))
            own = kg.refresh()
            if general_queries is None:
                general_queries = general.encode([str(t) for t in texts])
            for name, data in variants.items():
                encoder = LookupEncoder(texts, data[f"{graph}.queries"], name, [encoder_key(general)])
                ids = [u["id"] for u in _read(data_dir / f"{graph}.units.jsonl.gz")]
                rows = {i: r for r, i in enumerate(ids)}
                order = index.vectors_for(general, store)[0]  # the index's own row order
                matrix = np.ascontiguousarray(data[f"{graph}.units"][[rows[i] for i in order]], dtype=np.float32)
                searcher = Searcher(store, index, encoder, vectors=(order, matrix))
                reports[name].append(evaluate(searcher.search, group, resolver, name=name))
                both = np.hstack([own.matrix[[own.rows[i] for i in order]], matrix]) / np.sqrt(2)
                queries_both = np.hstack([general_queries, data[f"{graph}.queries"]]) / np.sqrt(2)
                mixed = Searcher(store, index, LookupEncoder(texts, queries_both, f"{name}+base", [encoder_key(general)]),
                                 vectors=(order, np.ascontiguousarray(both, dtype=np.float32)))
                reports[f"{name}+base"].append(evaluate(mixed.search, group, resolver, name=f"{name}+base"))
    merged = [merge_reports(r, name) for name, r in reports.items()]
    print(f"split {split}: {len(queries)} queries")
    for line in format_reports(merged, baseline="kg"):
        print(line)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--work", type=Path, default=Path("/tmp/kg-bench-real"))
    p.add_argument("--out", type=Path, default=Path(".gpu/graphs"))
    t = sub.add_parser("train")
    t.add_argument("--data", type=Path, default=Path(".gpu/graphs"))
    t.add_argument("--base", type=Path, required=True)
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--device", default="cuda")
    t.add_argument("--variants", default="", help="comma-separated subset of " + ", ".join(VARIANTS))
    t.add_argument("--limit", type=int, default=0, help="a smoke check: this many triplets and units per graph")
    s = sub.add_parser("score")
    s.add_argument("--work", type=Path, default=Path("/tmp/kg-bench-real"))
    s.add_argument("--vectors", type=Path, required=True)
    s.add_argument("--data", type=Path, default=Path(".gpu/graphs"), help="what `prepare` wrote")
    s.add_argument("--split", choices=["tune", "test", "all"], default="test")
    args = parser.parse_args(argv)
    if args.step == "prepare":
        prepare(args.work, args.out)
    elif args.step == "train":
        train_all(args.data, args.base, args.out, args.device, args.limit, args.variants)
    else:
        score(args.work, args.vectors, args.data, args.split)


if __name__ == "__main__":
    main()
