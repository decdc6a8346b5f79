"""Neo4j store write benchmark: nodes/s and edges/s over Bolt, batched vs one row per transaction.

    python bench/bench_neo4j.py [--notes 5000] [--links 10] [--sizes 100,500,1000,2000,5000]
                                [--single-sample 1500] [--out bench/out]

The server is ArcadeDB from PyPI, started exactly as the test fixture starts it
(``tests/kg/conftest.py::ArcadeServer``: a subprocess on 127.0.0.1 and free ports). The
graph is a generated vault: N notes, each with a title heading, three section headings
and a block, tags, and ``--links`` wikilinks per note, built as Node/Edge objects directly
(parsing is measured by bench_ingest.py, not here). After one discarded warm-up pass, each
batch size writes the whole graph into a fresh database; the one-row-per-transaction baseline writes a sample of nodes and
edges with ``batch_size=1`` in the same run, so the ratio is comparable across machines.
Absolute numbers against real Neo4j will differ: rerun it against one with --uri.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kg.model import Edge, EdgeKind, Node, NodeKind  # noqa: E402
from kg.store.neo4j import Neo4jStore  # noqa: E402
from tests.kg.conftest import ArcadeServer  # noqa: E402

K, E = NodeKind, EdgeKind


def generate(notes: int, links: int, seed: int = 0) -> tuple[list[Node], list[Edge]]:
    """A vault-shaped graph: notes, headings, blocks, tags; CONTAINS, TAGGED, LINKS_TO."""
    rng = random.Random(seed)
    nodes: list[Node] = [Node(id=f"tag:t{t}", kind=K.TAG, name=f"t{t}") for t in range(100)]
    edges: list[Edge] = []
    for i in range(notes):
        path = f"area{i % 10}/Note {i}.md"
        note = Node(id=f"note:v/{path}", kind=K.NOTE, name=f"Note {i}", root="v", path=path,
                    text=f"Note {i} body " * 8, props={"aliases": [f"N{i}"]})
        nodes.append(note)
        for h in range(4):
            head = Node(id=f"heading:v/{path}#S{h}", kind=K.HEADING, name=f"S{h}", root="v", path=path,
                        heading=f"S{h}", text=f"section {h} " * 10, start_line=h * 5, end_line=h * 5 + 4)
            nodes.append(head)
            edges.append(Edge(note.id, E.CONTAINS, head.id, K.NOTE, K.HEADING))
        block = Node(id=f"block:v/{path}#^b{i}", kind=K.BLOCK, name=f"b{i}", root="v", path=path, text="a block")
        nodes.append(block)
        edges.append(Edge(f"heading:v/{path}#S1", E.CONTAINS, block.id, K.HEADING, K.BLOCK))
        edges += [Edge(note.id, E.TAGGED, f"tag:t{t}", K.NOTE, K.TAG) for t in {i % 100, (i * 7) % 100}]
    for i in range(notes):
        src = f"note:v/area{i % 10}/Note {i}.md"
        for j in {rng.randrange(notes) for _ in range(links)} - {i}:
            edges.append(Edge(src, E.LINKS_TO, f"note:v/area{j % 10}/Note {j}.md", K.NOTE, K.NOTE,
                              alias=f"see {j}" if j % 3 else "", line=j % 40))
    return nodes, edges


def _write(store: Neo4jStore, nodes: list[Node], edges: list[Edge]) -> dict[str, float]:
    started = time.perf_counter()
    store.upsert_nodes(nodes)
    node_s = time.perf_counter() - started
    started = time.perf_counter()
    store.upsert_edges(edges)
    edge_s = time.perf_counter() - started
    return {"nodes": len(nodes), "edges": len(edges), "node_s": round(node_s, 2), "edge_s": round(edge_s, 2),
            "nodes_per_s": round(len(nodes) / node_s, 1), "edges_per_s": round(len(edges) / edge_s, 1)}


def _run(server: ArcadeServer, batch_size: int, nodes: list[Node], edges: list[Edge]) -> dict[str, Any]:
    database = server.new_database()
    store = Neo4jStore.connect(server.settings(database, batch_size=batch_size))
    try:
        store.migrate()
        result = _write(store, nodes, edges)
        counts = store.counts().as_dict()
        if counts["total_nodes"] != len({n.id for n in nodes}):
            raise RuntimeError(f"batch {batch_size}: wrote {counts['total_nodes']} nodes, expected {len(nodes)}")
    finally:
        store.close()
        server.drop_database(database)
    return {"batch_size": batch_size, **result}


def _sample(nodes: list[Node], edges: list[Edge], size: int) -> tuple[list[Node], list[Edge]]:
    """The first ``size`` LINKS_TO edges and exactly the nodes they need."""
    picked = [e for e in edges if e.kind is E.LINKS_TO][:size]
    ids = {e.src for e in picked} | {e.dst for e in picked}
    return [n for n in nodes if n.id in ids], picked


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notes", type=int, default=5000)
    parser.add_argument("--links", type=int, default=10, help="Wikilinks per note.")
    parser.add_argument("--sizes", default="100,500,1000,2000,5000")
    parser.add_argument("--single-sample", type=int, default=1500, help="Edges in the one-row-per-transaction run.")
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    nodes, edges = generate(args.notes, args.links)
    work = Path(tempfile.mkdtemp(prefix="kg-bench-neo4j-"))
    server = ArcadeServer(work / "arcadedb", heap="1g").start()
    try:
        # One discarded pass first: the JVM compiles its hot paths during the first writes,
        # which would otherwise flatter whichever batch size runs last.
        _run(server, 1000, *_sample(nodes, edges, 20_000))
        sweep = [_run(server, int(size), nodes, edges) for size in args.sizes.split(",")]
        sample_nodes, sample_edges = _sample(nodes, edges, args.single_sample)
        single = _run(server, 1, sample_nodes, sample_edges)
        batched = _run(server, max(sweep, key=_rate)["batch_size"], sample_nodes, sample_edges)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    best = max(sweep, key=_rate)
    result = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "server": "ArcadeDB (arcadedb-embedded) over Bolt, 127.0.0.1",
        "graph": {"notes": args.notes, "nodes": len(nodes), "edges": len(edges)},
        "sweep": sweep, "best_batch_size": best["batch_size"],
        "sample_one_row_per_tx": single, "sample_batched": batched,
        "batched_vs_one_row": {"nodes": round(batched["nodes_per_s"] / single["nodes_per_s"], 1),
                               "edges": round(batched["edges_per_s"] / single["edges_per_s"], 1)},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_neo4j.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


def _rate(run: dict[str, Any]) -> float:
    """Rows per second over nodes and edges together: what a full ingest waits for."""
    return (run["nodes"] + run["edges"]) / (run["node_s"] + run["edge_s"])


if __name__ == "__main__":
    main()
