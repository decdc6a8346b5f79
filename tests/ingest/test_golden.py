"""The whole graph of the fixture vault and code, as sorted JSON lines under tests/golden/:
any change in a node or an edge shows in review.

After a deliberate change to ingest, write the files again and read their diff::

    KG_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/ingest/test_golden.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ingest.pipeline import IngestOptions, Pipeline
from kg.model import Edge, Node
from kg.store.ladybug import LadybugStore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GOLDEN = Path(__file__).resolve().parents[1] / "golden"
# Each golden file: the roots ingested together (name, folder under tests/fixtures).
GRAPHS = {
    "vault": [("vault", "vault"), ("code", "code/python")],
    "code": [(lang, f"code/{lang}") for lang in ("c", "cpp", "csharp", "go", "java", "javascript", "php", "python",
                                                 "ruby", "rust", "typescript")],
}


def node_line(node: Node) -> dict[str, object]:
    """What a reviewer reads of a node: where it is and what it is called; its text as a hash."""
    out = {"id": node.id, "kind": node.kind.value, "name": node.name, "lines": [node.start_line, node.end_line],
           "qualname": node.qualname, "heading": node.heading, "signature": node.signature,
           "text": node.hash[:12] if node.text else "", "props": node.props}
    return {k: v for k, v in out.items() if v not in ("", {}, [None, None])}


def edge_line(edge: Edge) -> dict[str, object]:
    out = {"src": edge.src, "kind": edge.kind.value, "dst": edge.dst, "line": edge.line, "alias": edge.alias,
           "subpath": edge.subpath, "ambiguous": edge.ambiguous or None, "resolved": None if edge.resolved else False,
           "how": edge.how, "props": edge.props}
    return {k: v for k, v in out.items() if v not in ("", None, {})}


def graph_lines(tmp_path: Path, roots: list[tuple[str, str]]) -> list[str]:
    store = LadybugStore.open(tmp_path / "graph")
    store.migrate()
    pipeline = Pipeline(store, tmp_path / "ingest.sqlite", IngestOptions())
    try:
        pipeline.ingest([(name, FIXTURES / folder) for name, folder in roots])
        nodes = sorted(json.dumps(node_line(n), sort_keys=True, default=str) for n in store.iter_nodes())
        edges = sorted(json.dumps(edge_line(e), sort_keys=True, default=str) for e in store.iter_edges())
    finally:
        pipeline.close()
        store.close()
    return nodes + edges


@pytest.mark.parametrize("graph", sorted(GRAPHS))
def test_the_fixture_graph_matches_its_golden_file(graph: str, tmp_path: Path) -> None:
    lines = graph_lines(tmp_path, GRAPHS[graph])
    golden = GOLDEN / f"{graph}.jsonl"
    if os.environ.get("KG_UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = golden.read_text(encoding="utf-8").splitlines()
    gone, new = sorted(set(expected) - set(lines)), sorted(set(lines) - set(expected))
    assert not gone and not new, (f"{golden.name}: {len(gone)} line(s) gone, {len(new)} new "
                                  f"(KG_UPDATE_GOLDEN=1 writes the file again after a deliberate change)\n"
                                  + "\n".join(["- " + g for g in gone[:15]] + ["+ " + n for n in new[:15]]))
