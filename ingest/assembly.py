"""The graph the owners contribute, kept across ingests and patched one owner at a time.

An owner is what contributes nodes and edges as a unit: a parsed file (its own nodes and
edges) or one note's link resolution. Each version of an owner is a new object, so an owner
that did not change is the very object seen last time, and its part of the graph is already
here: an ingest adds the owners that are new, takes out those that went away, and leaves the
rest alone. So assembling the graph after one edit costs that edit, not the whole graph.

A node or edge that several owners give (a tag every tagged note names) stays while one of
them still gives it. An owner's edges are checked once, when its version arrives: both ends
must be nodes of the kinds the edge says, and the pair must be allowed. That holds for the
version's life because a parsed file's edges join its own nodes, and a note's link
resolution is redone whenever a file it links to changes (see ``ingest.links``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from kg.model import Edge, Node, check_pair

EdgeKey = tuple[str, str, str]


class Assembly:
    """Nodes and valid edges of every owner, with counts by kind."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.edges: dict[EdgeKey, Edge] = {}
        self.node_kinds: Counter[str] = Counter()
        self.edge_kinds: Counter[str] = Counter()
        self.dropped = 0  # edges of the current owners that are not valid
        self.touched: set[str] = set()  # ids of the nodes the last update added or took out
        self._node_refs: Counter[str] = Counter()
        self._edge_refs: Counter[EdgeKey] = Counter()
        # id(owner) → (owner, its nodes, its valid edges, how many it had that were not): the
        # owner is held so that its id cannot be taken by a new object while it is here.
        self._held: dict[int, tuple[object, Sequence[Node], list[Edge], int]] = {}

    def update(self, owners: Sequence[tuple[object, Sequence[Node], Sequence[Edge]]],
               extra_nodes: Iterable[Node] = ()) -> tuple[dict[str, Node], list[EdgeKey]]:
        """Make the assembly that of ``owners``: (owner, its nodes, its edges) each.

        Args:
            owners: every current owner (unchanged ones are recognised by identity).
            extra_nodes: nodes owned by no one here (what resolution made this time:
                unresolved targets, external modules): edges may end at them.

        Returns:
            Every node (the owners' and the extra ones; an owner's wins on the same id) and the
            keys of the edges the new owners brought.
        """
        self.touched = set()
        current = {id(owner) for owner, _, _ in owners}
        for key in [k for k in self._held if k not in current]:
            self._remove(*self._held.pop(key))
        arriving = [(owner, nodes, edges) for owner, nodes, edges in owners if id(owner) not in self._held]
        for _, nodes, _ in arriving:
            self._add_nodes(nodes)
        everything = dict(self.nodes)
        for node in extra_nodes:
            everything.setdefault(node.id, node)
        brought: list[EdgeKey] = []
        for owner, nodes, edges in arriving:
            valid = [e for e in edges if valid_edge(e, everything)]
            self._held[id(owner)] = (owner, nodes, valid, len(edges) - len(valid))
            self.dropped += len(edges) - len(valid)
            for edge in valid:
                key = edge.key
                if not self._edge_refs[key]:
                    self.edges[key] = edge
                    self.edge_kinds[key[1]] += 1
                self._edge_refs[key] += 1
                brought.append(key)
        return everything, brought

    def _add_nodes(self, nodes: Iterable[Node]) -> None:
        for node in nodes:
            if not self._node_refs[node.id]:
                self.nodes[node.id] = node
                self.node_kinds[node.kind.value] += 1
                self.touched.add(node.id)
            self._node_refs[node.id] += 1

    def _remove(self, owner: object, nodes: Sequence[Node], edges: list[Edge], dropped: int) -> None:
        self.dropped -= dropped
        for edge in edges:
            key = edge.key
            self._edge_refs[key] -= 1
            if not self._edge_refs[key]:
                del self._edge_refs[key]
                self.edge_kinds[key[1]] -= 1
                self.edges.pop(key, None)
        for node in nodes:
            self._node_refs[node.id] -= 1
            if not self._node_refs[node.id]:
                del self._node_refs[node.id]
                self.node_kinds[node.kind.value] -= 1
                self.nodes.pop(node.id, None)
                self.touched.add(node.id)


def valid_edge(edge: Edge, nodes: Mapping[str, Node]) -> bool:
    """Whether both ends are nodes of the kinds the edge says, and the pair is allowed."""
    src, dst = nodes.get(edge.src), nodes.get(edge.dst)
    return src is not None and dst is not None and src.kind is edge.src_kind and dst.kind is edge.dst_kind \
        and check_pair(edge.kind, edge.src_kind, edge.dst_kind)

