"""The GraphStore protocol: what the rest of kg sees of a graph database.

Implementations: ``kg.store.ladybug.LadybugStore`` (embedded, default) and
``kg.store.neo4j.Neo4jStore``. The contract tests in ``tests/kg/test_store_contract.py`` run
against both, so they cannot drift.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from kg.model import Edge, EdgeKind, Node, NodeKind

MAX_DEPTH = 3  # neighbourhood depth is clamped to 0..MAX_DEPTH


def clamp_depth(depth: Any) -> int:
    """Hop counts reach Cypher text only as clamped integers."""
    try:
        value = int(depth)
    except (TypeError, ValueError):
        value = 1
    return max(0, min(MAX_DEPTH, value))


@dataclass
class Subgraph:
    """Nodes and edges around a centre node."""

    center: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)


def walk_neighbourhood(centre: Node, depth: int, edge_kinds: Sequence[EdgeKind] | None, limit: int,
                       edges_touching: Callable[[list[str]], list[Edge]],
                       get_nodes: Callable[[list[str]], dict[str, Node]]) -> Subgraph:
    """Breadth-first from ``centre`` over edges in either direction, shared by every store.

    Args:
        centre: the start node.
        depth: hops; clamped to 0..MAX_DEPTH.
        edge_kinds: edge kinds to follow (None: all).
        limit: the most nodes the subgraph holds.
        edges_touching: the store's "every edge into or out of these ids".
        get_nodes: the store's "these nodes by id".
    """
    allowed = {EdgeKind(k) for k in edge_kinds} if edge_kinds else set(EdgeKind)
    sub = Subgraph(center=centre.id, nodes={centre.id: centre})
    frontier, seen = [centre.id], set()
    for _ in range(clamp_depth(depth)):  # hops as a clamped integer, never query text
        nxt: dict[str, None] = {}
        # In key order: a store returns edges in no promised order, and the limit must cut
        # the same nodes every time.
        for edge in sorted(edges_touching(frontier), key=lambda e: e.key):
            if edge.kind not in allowed or edge.key in seen:
                continue
            seen.add(edge.key)
            sub.edges.append(edge)
            for end in (edge.src, edge.dst):
                if end not in sub.nodes and end not in nxt and len(sub.nodes) + len(nxt) < limit:
                    nxt[end] = None
        sub.nodes.update(get_nodes(list(nxt)))
        frontier = list(nxt)
        if not frontier:
            break
    sub.edges = [e for e in sub.edges if e.src in sub.nodes and e.dst in sub.nodes]
    return sub


@dataclass
class QueryResult:
    """Rows of a Cypher query, values made JSON-friendly.

    Nodes come back as dicts with ``_type: "node"``, ``_label``, ``_eid`` and their
    properties; relationships with ``_type: "rel"``, ``_label``, ``_src`` and ``_dst`` (the
    ``_eid`` of their end nodes) and their properties.
    """

    columns: list[str]
    rows: list[list[Any]]
    truncated_by: str = ""  # "" (complete), "rows" (the row cap) or "bytes" (the byte cap)
    elapsed_ms: float = 0.0

    @property
    def truncated(self) -> bool:
        return bool(self.truncated_by)


@dataclass
class Counts:
    nodes: dict[str, int]
    edges: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {"nodes": self.nodes, "edges": self.edges,
                "total_nodes": sum(self.nodes.values()), "total_edges": sum(self.edges.values())}


@runtime_checkable
class GraphStore(Protocol):
    """A property graph with batched writes and guarded reads."""

    name: str

    def migrate(self) -> list[int]:
        """Apply pending numbered schema migrations; return the numbers applied."""
        ...

    def upsert_nodes(self, nodes: Sequence[Node], *, fresh: bool = False) -> None:
        """Create nodes or update them in place by id (their edges survive).

        ``fresh=True`` promises that none of them exists yet, so a store may skip its lookup.
        """
        ...

    def delete_nodes(self, nodes: Iterable[tuple[str, NodeKind]]) -> None:
        """Delete nodes by (id, kind), with every edge touching them."""
        ...

    def upsert_edges(self, edges: Sequence[Edge], *, fresh: bool = False) -> None:
        """Create edges, or update the one edge with the same (src, kind, dst).

        ``fresh=True`` promises that none of them exists yet, so a store may skip its lookup.
        """
        ...

    def delete_edges(self, edges: Iterable[Edge]) -> None:
        """Delete edges by (src, kind, dst)."""
        ...

    def get_node(self, node_id: str) -> Node | None: ...

    def get_nodes(self, node_ids: Sequence[str]) -> dict[str, Node]: ...

    def neighbourhood(self, node_id: str, depth: int = 1,
                      edge_kinds: Sequence[EdgeKind] | None = None, limit: int = 500) -> Subgraph:
        """The node and everything within ``depth`` hops (either direction), capped at ``limit`` nodes.

        Raises:
            NodeNotFound: no node has that id.
        """
        ...

    def iter_nodes(self, kinds: Sequence[NodeKind] | None = None) -> Iterator[Node]: ...

    def iter_edges(self, kinds: Sequence[EdgeKind] | None = None) -> Iterator[Edge]: ...

    def counts(self) -> Counts: ...

    def query(self, cypher: str, params: dict[str, Any] | None = None, *,
              timeout_ms: int | None = None, max_rows: int | None = None,
              max_bytes: int | None = None) -> QueryResult:
        """Run one Cypher statement for a user: the one guard of every console (CLI, web, MCP).

        Only statements that read the graph run, as the database's own planner decides; the
        answer stops at ``max_rows`` rows or ``max_bytes`` bytes (``truncated_by`` says which).

        Raises:
            ReadOnlyViolation: the statement does more than read the graph (writes, files,
                network, extensions, settings, transaction control).
            QueryTimeout: it ran past ``timeout_ms`` and was stopped.
            QueryError: the database rejected it (its message is kept).
        """
        ...

    def clear(self) -> None:
        """Delete every node and edge (schema stays)."""
        ...

    def close(self) -> None: ...
