"""Downloads: the whole graph (JSONL, GraphML) and training triplets (JSONL, CSV, Parquet).

The graph streams: nodes then edges, one at a time from the store, so an export never
holds the graph in memory as text. GraphML goes through networkx (it must hold the graph).
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kg.errors import ConfigError, ModelError
from kg.store.base import GraphStore

log = logging.getLogger(__name__)

GRAPH_FORMATS = {"jsonl": "application/x-ndjson", "graphml": "application/graphml+xml"}
TRIPLET_FORMATS = {"jsonl": "application/x-ndjson", "csv": "text/csv",
                   "parquet": "application/vnd.apache.parquet"}


def check_format(fmt: str, formats: dict[str, str]) -> str:
    """The MIME type of an export format.

    Raises:
        ConfigError: an unknown format.
    """
    if fmt not in formats:
        raise ConfigError(f"unknown format {fmt!r}; use one of: {', '.join(formats)}")
    return formats[fmt]


def graph_jsonl(store: GraphStore) -> Iterator[str]:
    """Every node (``{"type": "node", ...}``) then every edge (``{"type": "edge", ...}``), one per line."""
    for node in store.iter_nodes():
        row = node.row()
        row["props"] = node.props
        yield json.dumps({"type": "node", **row}, default=str) + "\n"
    for edge in store.iter_edges():
        row = edge.row()
        row["props"] = edge.props
        yield json.dumps({"type": "edge", "kind": edge.kind.value, "src_kind": edge.src_kind.value,
                          "dst_kind": edge.dst_kind.value, **row}, default=str) + "\n"


def graph_graphml(store: GraphStore) -> Iterator[str]:
    """The graph as GraphML (networkx), node and edge columns as attributes."""
    import networkx as nx

    G = nx.MultiDiGraph()  # noqa: N806 (networkx's name for a graph)
    for node in store.iter_nodes():
        G.add_node(node.id, **_attrs(node.row()))
    for edge in store.iter_edges():
        row = _attrs(edge.row())
        row.pop("src", None)
        row.pop("dst", None)
        G.add_edge(edge.src, edge.dst, key=edge.kind.value, kind=edge.kind.value, **row)
    yield from nx.generate_graphml(G, prettyprint=True)


def _attrs(row: dict[str, Any]) -> dict[str, Any]:
    """GraphML takes str/int/float/bool values only: drop nulls, keep the rest."""
    return {k: v for k, v in row.items() if v is not None and isinstance(v, (str, int, float, bool))}


def triplets_export(store: GraphStore, fmt: str, *, negatives: int, split: str | None,
                    feedback: Any = None, text_only: bool = False) -> tuple[bytes, str]:
    """Mine triplets from the graph (and the feedback log) and write them in ``fmt``.

    Returns:
        The file's bytes and its MIME type.

    Raises:
        ConfigError: an unknown format or split.
        ModelError: triplet mining is not installed.
    """
    mime = check_format(fmt, TRIPLET_FORMATS)
    try:
        from embed.export import export_triplets
        from embed.triplets import mine_triplets
    except ModuleNotFoundError as exc:
        raise ModelError(f"triplet export is not available ({exc.name} is missing)") from exc
    judgements = list(feedback.judgements()) if feedback is not None else []
    triplets = mine_triplets(store, negatives=negatives, feedback=judgements)
    if split:
        triplets = [t for t in triplets if t.split == split]
    with tempfile.TemporaryDirectory(prefix="kg-export-") as tmp:
        path = Path(tmp) / f"triplets.{fmt}"
        count = export_triplets(triplets, path, format=fmt, text_only=text_only)
        log.info("exported %d triplets as %s", count, fmt)
        return path.read_bytes(), mime
