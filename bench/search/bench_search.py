"""Search benchmark: quality (MRR@10, nDCG@10) per configuration, latency, indexing throughput.

Stages (``--stages``, comma-separated; default all):

``ingest``     ingest the corpus roots (installed flask, click, werkzeug, networkx and the
               project's docs/ vault) through ``ingest.pipeline`` into ``--db``.
``speed``      encoder throughput on 512 real node texts: torch threads 1 vs 2, one
               length-sorted call vs unsorted batches.
``index``      a fresh full sync with all-MiniLM-L6-v2: units embedded + indexed per second.
``eval``       bench/search/queries.jsonl: bm25, vector, rrf and kg side by side.
``latency``    p50/p95 per query on the real graph, query encoding included.
``synthetic``  p50/p95 on generated graphs of ``--sizes`` nodes (random vectors for the
               nodes, real MiniLM encoding for the queries); then the first size again with
               numpy's BLAS on all cores, the baseline of ``app.workspace.share_cores_with_torch``.

Run: ``HF_HUB_OFFLINE=1 .venv/bin/python bench/search/bench_search.py --db /tmp/kgbench``.
Results go to stdout and, as JSON, to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from embed.encoder import load_encoder, set_torch_threads  # noqa: E402
from kg.model import Edge, EdgeKind, Node, NodeKind  # noqa: E402
from kg.store.ladybug import LadybugStore  # noqa: E402
from app.workspace import share_cores_with_torch  # noqa: E402
from search.engine import Searcher  # noqa: E402
from search.eval import compare, format_reports, load_queries  # noqa: E402
from search.index import SearchIndex  # noqa: E402
from search.units import embed_text  # noqa: E402

log = logging.getLogger("bench")
QUERIES = Path(__file__).with_name("queries.jsonl")
STAGES = ("ingest", "speed", "index", "eval", "latency", "synthetic")


def corpus_roots() -> list[tuple[str, Path]]:
    import click
    import flask
    import networkx
    import werkzeug

    mods = (flask, click, werkzeug, networkx)
    return [(m.__name__, Path(m.__file__).parent) for m in mods] + [("docs", ROOT / "docs")]


def stage_ingest(db: Path) -> dict[str, Any]:
    from ingest.pipeline import Pipeline

    store = LadybugStore.open(db / "graph")
    store.migrate()
    pipeline = Pipeline(store, db / "ingest.sqlite")
    try:
        report = pipeline.ingest(corpus_roots())
    finally:
        pipeline.close()
        store.close()
    return {"nodes": dict(report.nodes), "seconds": round(report.seconds, 1)}


def _texts(store: LadybugStore, n: int) -> list[str]:
    from kg.model import SEARCHABLE_KINDS

    texts = [embed_text(node) for node in store.iter_nodes(list(SEARCHABLE_KINDS))]
    random.Random(0).shuffle(texts)
    return texts[:n]


def stage_speed(store: LadybugStore, encoder: Any) -> dict[str, Any]:
    """Texts/s (wall and per CPU-second) for thread counts, truncation and batching strategies."""
    import torch

    texts = _texts(store, 192)
    model = encoder.model
    out: dict[str, Any] = {}

    def timed(label: str, run: Any) -> None:
        run(texts[:16])  # warm up
        wall, cpu = time.perf_counter(), time.process_time()
        run(texts)
        out[label] = {"wall": round(len(texts) / (time.perf_counter() - wall), 1),
                      "per_cpu_s": round(len(texts) / (time.process_time() - cpu), 1)}
        print(f"  {label}: {out[label]}", flush=True)

    default_len = model.max_seq_length
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for length in (default_len, 64):
            model.max_seq_length = length
            timed(f"threads={threads} tokens={length} sorted", lambda t: encoder.encode(t, batch_size=32))
        model.max_seq_length = default_len
        # One call per batch of 32: each call sorts only its own batch, so batches pad to random lengths.
        timed(f"threads={threads} tokens={default_len} unsorted",
              lambda t: [encoder.encode(t[i:i + 32]) for i in range(0, len(t), 32)])
    return out


def stage_index(db: Path, store: LadybugStore, encoder: Any) -> dict[str, Any]:
    import shutil

    shutil.rmtree(db / "search", ignore_errors=True)
    index = SearchIndex.open(db / "search")
    report = index.sync(store, encoder)
    again = index.sync(store, encoder)
    index.close()
    units = report.added
    return {"units": units, "seconds": round(report.seconds, 1), "units_per_s": round(units / report.seconds, 1),
            "embedded": report.embedded, "resync_seconds": round(again.seconds, 2), "resync_embedded": again.embedded}


def stage_eval(store: LadybugStore, index: SearchIndex, encoder: Any) -> dict[str, Any]:
    searcher = Searcher(store, index, encoder)
    started = time.perf_counter()
    view = searcher.refresh()
    load_s = time.perf_counter() - started
    reports = compare(searcher, load_queries(QUERIES))
    for line in format_reports(reports):
        print(line)
    unresolved = sorted({u for r in reports for u in r.unresolved})
    if unresolved:
        print("unresolved targets:", unresolved)
    return {"searcher_load_s": round(load_s, 2), "graph_build_s": round(view.graph.seconds, 2),
            "reports": [{k: v for k, v in r.as_dict().items() if k != "per_query"} for r in reports],
            "per_query": reports[-1].per_query}


def _latency(searcher: Searcher, queries: list[str], rounds: int = 3) -> dict[str, float]:
    searcher.refresh()
    searcher.search(queries[0])
    times = []
    for _ in range(rounds):
        searcher._query_vectors.clear()  # measure query encoding every time
        for query in queries:
            started = time.perf_counter()
            searcher.search(query)
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    encode = []
    for query in queries:
        started = time.perf_counter()
        searcher.encoder.encode([query])
        encode.append((time.perf_counter() - started) * 1000)
    encode.sort()
    return {"queries": len(times), "encode_p50_ms": round(encode[len(encode) // 2], 1), "p50_ms": round(times[len(times) // 2], 1),
            "p95_ms": round(times[int(len(times) * 0.95)], 1), "max_ms": round(times[-1], 1)}


class RandomEncoder:
    """Deterministic pseudo-random unit vectors (for generated graphs: no model time)."""

    def __init__(self, dim: int = 384, name: str = "synthetic", version: str = "1") -> None:
        self.dim, self.name, self.version = dim, name, version

    def encode(self, texts: Any, *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        out = np.stack([np.random.default_rng(abs(hash(t)) % 2**32).standard_normal(self.dim) for t in texts])
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out.astype(np.float32)


class QueryEncoder:
    """Encodes queries with a real model but carries the synthetic index's name and version."""

    def __init__(self, inner: Any, like: RandomEncoder) -> None:
        self.inner, self.dim, self.name, self.version = inner, like.dim, like.name, like.version

    def encode(self, texts: Any, *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        return self.inner.encode(texts, batch_size=batch_size)


def generate(n: int, vocab: list[str], seed: int = 0) -> tuple[list[Node], list[Edge]]:
    """A vault-and-code-like graph: files of functions, notes of headings, calls and links."""
    rng = random.Random(seed)
    nodes: list[Node] = []
    edges: list[Edge] = []
    parent: Node | None = None
    for i in range(n):
        words = " ".join(rng.choices(vocab, k=rng.randint(12, 40)))
        if i % 10 == 0:
            code = i % 20 == 0
            kind = NodeKind.FILE if code else NodeKind.NOTE
            path = f"pkg{i // 1000}/mod{i}.py" if code else f"notes/n{i}.md"
            parent = Node(id=f"{'file' if code else 'note'}:gen/{path}", kind=kind, name=path.rsplit("/", 1)[-1],
                          root="gen", path=path, text=words)
            nodes.append(parent)
            continue
        assert parent is not None
        if parent.kind == NodeKind.FILE:
            q = f"f{i}_{rng.choice(vocab)}"
            node = Node(id=f"def:gen/{parent.path}::{q}", kind=NodeKind.FUNCTION, name=q, qualname=q,
                        root="gen", path=parent.path, text=f"def {q}(): {words}")
        else:
            node = Node(id=f"heading:gen/{parent.path}#H{i}", kind=NodeKind.HEADING, name=f"H{i} {vocab[i % len(vocab)]}",
                        heading=f"H{i}", root="gen", path=parent.path, text=words)
        nodes.append(node)
        edges.append(Edge(parent.id, EdgeKind.CONTAINS, node.id, parent.kind, node.kind))
    defs = [x for x in nodes if x.kind == NodeKind.FUNCTION]
    vault = [x for x in nodes if x.kind in (NodeKind.NOTE, NodeKind.HEADING)]
    for node in defs:
        for other in rng.sample(defs, 2):
            if other.id != node.id:
                edges.append(Edge(node.id, EdgeKind.CALLS, other.id, node.kind, other.kind))
    for node in vault:
        other = rng.choice(vault)
        if other.id != node.id:
            edges.append(Edge(node.id, EdgeKind.LINKS_TO, other.id, node.kind, other.kind))
    return nodes, list({e.key: e for e in edges}.values())


def stage_synthetic(work: Path, sizes: list[int], minilm: Any, queries: list[str],
                    vocab: list[str]) -> dict[str, Any]:
    out = {}
    for n in sizes:
        db = work / f"synthetic-{n}"
        fake = RandomEncoder()
        build = time.perf_counter()
        store = LadybugStore.open(db / "graph")
        store.migrate()
        if store.counts().nodes.get("Function", 0) == 0:
            nodes, edges = generate(n, vocab)
            for i in range(0, len(nodes), 5000):
                store.upsert_nodes(nodes[i:i + 5000])
            for i in range(0, len(edges), 20000):
                store.upsert_edges(edges[i:i + 20000])
        index = SearchIndex.open(db / "search")
        sync = index.sync(store, fake)
        searcher = Searcher(store, index, QueryEncoder(minilm, fake))
        load = time.perf_counter()
        searcher.refresh()
        import resource

        result = {"build_s": round(load - build, 1), "sync_s": round(sync.seconds, 1),
                  "searcher_load_s": round(time.perf_counter() - load, 1), **_latency(searcher, queries),
                  "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
        print(f"synthetic {n}: {result}")
        out[str(n)] = result
        index.close()
        store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/kgbench"))
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    import torch

    stages = args.stages.split(",")
    results: dict[str, Any] = {}
    if "ingest" in stages:
        results["ingest"] = stage_ingest(args.db)
        print("ingest:", results["ingest"])
    set_torch_threads(args.threads)
    share_cores_with_torch()  # as kg does wherever it searches: one BLAS thread beside torch's
    encoder = load_encoder(None, device="cpu", max_seq_length=args.max_seq_length)
    store = LadybugStore.open(args.db / "graph", read_only=True)
    if "speed" in stages:
        results["speed"] = stage_speed(store, encoder)
        print("speed (texts/s):", results["speed"])
        torch.set_num_threads(args.threads)
    if "index" in stages:
        store.close()
        store = LadybugStore.open(args.db / "graph")
        results["index"] = stage_index(args.db, store, encoder)
        print("index:", results["index"])
    index = SearchIndex.open(args.db / "search")
    queries = [q.query for q in load_queries(QUERIES)]
    if "eval" in stages:
        results["eval"] = stage_eval(store, index, encoder)
    if "latency" in stages:
        results["latency"] = {"nodes": len(index), **_latency(Searcher(store, index, encoder), queries)}
        print("latency (real graph):", results["latency"])
    if "synthetic" in stages:
        vocab = sorted({w for t in _texts(store, 3000) for w in t.split() if w.isalpha() and len(w) > 2})
        sizes = [int(s) for s in args.sizes.split(",")]
        results["synthetic"] = stage_synthetic(args.db.parent / (args.db.name + "-synthetic"), sizes, encoder,
                                               queries, vocab)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=os.cpu_count(), user_api="blas"):  # the baseline: BLAS's own threads
            results["synthetic_blas_threads"] = stage_synthetic(
                args.db.parent / (args.db.name + "-synthetic"), sizes[:1], encoder, queries, vocab)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
