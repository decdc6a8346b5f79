"""The graph the owners contribute, kept across ingests and patched one owner at a time.

An owner is what contributes nodes and edges as a unit: a parsed file (its own nodes and
edges) or one note's link resolution. Each version of an owner is a new object, so an owner
that did not change is the very object seen last time, and its part of the graph is already
here: an ingest adds the owners that are new, takes out those that went away, and leaves the
rest alone. So assembling the graph after one edit costs that edit, not the whole graph.

A node or edge that several owners give (a tag every tagged note names) stays while one of
them still gives it, in the version of the first of them in owner order. An owner's edges are checked once, when its version arrives: both ends
must be nodes of the kinds the edge says, and the pair must be allowed. That holds for the
version's life because a parsed file's edges join its own nodes, and a note's link
resolution is redone whenever a file it links to changes (see ``ingest.links``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

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
        self.touched: set[str] = set()  # ids of the nodes the last update added, changed or took out
        # Who gives each node and edge: (id of the owner, its version of it). What the graph
        # holds is the version of the first of them in owner order, as a fresh assembly
        # would have it (two notes' links to one missing note spell its name each their way).
        self._node_givers: dict[str, list[tuple[int, Node]]] = {}
        self._edge_givers: dict[EdgeKey, list[tuple[int, Edge]]] = {}
        # id(owner) → (owner, its nodes, its valid edges, how many it had that were not): the
        # owner is held so that its id cannot be taken by a new object while it is here.
        self._held: dict[int, tuple[object, Sequence[Node], list[Edge], int]] = {}
        self._givers_known = True  # False after a first assembly, until a second one needs them

    def update(self, owners: Sequence[tuple[object, Sequence[Node], Sequence[Edge]]],
               extra_nodes: Iterable[Node] = ()) -> tuple[dict[str, Node], list[EdgeKey]]:
        """Make the assembly that of ``owners``: (owner, its nodes, its edges) each.

        Args:
            owners: every current owner, in order (unchanged ones are recognised by identity).
            extra_nodes: nodes owned by no one here (what resolution made this time:
                unresolved targets, external modules): edges may end at them.

        Returns:
            Every node (the owners' and the extra ones; an owner's wins on the same id) and the
            keys of the edges that may differ from last time (those new owners brought, and
            those whose first giver changed).
        """
        if not self._held:
            return self._first_assembly(owners, extra_nodes)
        self._know_givers()
        self.touched = set()
        order = {id(owner): n for n, (owner, _, _) in enumerate(owners)}
        node_keys: set[str] = set()
        edge_keys: set[EdgeKey] = set()
        for key in [k for k in self._held if k not in order]:
            _, nodes, edges, dropped = self._held.pop(key)
            self.dropped -= dropped
            _take(self._node_givers, key, [(n.id, n) for n in nodes], node_keys)
            _take(self._edge_givers, key, [(e.key, e) for e in edges], edge_keys)
        arriving = [(owner, nodes, edges) for owner, nodes, edges in owners if id(owner) not in self._held]
        for owner, nodes, _ in arriving:
            _give(self._node_givers, id(owner), [(n.id, n) for n in nodes], node_keys)
        for node_id in node_keys:
            before = self.nodes.get(node_id)
            now = _first(self._node_givers, node_id, order)
            if now is not before:
                self.touched.add(node_id)
                _place(self.nodes, self.node_kinds, node_id, now, lambda n: n.kind.value)
        everything, valid = self._hold(arriving, extra_nodes)
        for (owner, _, _), edges in zip(arriving, valid):
            _give(self._edge_givers, id(owner), [(e.key, e) for e in edges], edge_keys)
        brought = []
        for key in edge_keys:
            now = _first(self._edge_givers, key, order)
            if now is not self.edges.get(key):
                _place(self.edges, self.edge_kinds, key, now, lambda e: e.key[1])
                if now is not None:
                    brought.append(key)
        return everything, brought

    def _first_assembly(self, owners: Sequence[tuple[object, Sequence[Node], Sequence[Edge]]],
                        extra_nodes: Iterable[Node]) -> tuple[dict[str, Node], list[EdgeKey]]:
        """Assemble from nothing: the first giver in owner order is the first one met. Who
        gives what is worked out only if another update comes (a CLI ingest has none)."""
        gone = set(self.nodes)
        self.nodes, self.edges, self.dropped = {}, {}, 0
        self._node_givers, self._edge_givers, self._givers_known = {}, {}, False
        for _, nodes, _ in owners:
            for node in nodes:
                if node.id not in self.nodes:
                    self.nodes[node.id] = node
        self.touched = gone | set(self.nodes)
        self.node_kinds = Counter(n.kind.value for n in self.nodes.values())
        everything, valid = self._hold(owners, extra_nodes)
        for edges in valid:
            for edge in edges:
                if edge.key not in self.edges:
                    self.edges[edge.key] = edge
        self.edge_kinds = Counter(key[1] for key in self.edges)
        return everything, list(self.edges)

    def _hold(self, arriving: Sequence[tuple[object, Sequence[Node], Sequence[Edge]]],
              extra_nodes: Iterable[Node]) -> tuple[dict[str, Node], list[list[Edge]]]:
        """Every node an edge may end at (the owners' and the extra ones), and the valid edges
        of each arriving owner, which is held with them from now on."""
        everything = dict(self.nodes)
        for node in extra_nodes:
            everything.setdefault(node.id, node)
        valid = []
        for owner, nodes, edges in arriving:
            kept = [e for e in edges if valid_edge(e, everything)]
            self._held[id(owner)] = (owner, nodes, kept, len(edges) - len(kept))
            self.dropped += len(edges) - len(kept)
            valid.append(kept)
        return everything, valid

    def _know_givers(self) -> None:
        if self._givers_known:
            return
        for key, (_, nodes, valid, _) in self._held.items():
            _give(self._node_givers, key, [(n.id, n) for n in nodes], set())
            _give(self._edge_givers, key, [(e.key, e) for e in valid], set())
        self._givers_known = True


def _give(givers: dict[Any, list[tuple[int, Any]]], owner: int, items: list[tuple[Any, Any]], keys: set[Any]) -> None:
    for key, value in items:
        givers.setdefault(key, []).append((owner, value))
        keys.add(key)


def _take(givers: dict[Any, list[tuple[int, Any]]], owner: int, items: list[tuple[Any, Any]], keys: set[Any]) -> None:
    for key, _ in items:
        left = [g for g in givers.get(key, ()) if g[0] != owner]
        if left:
            givers[key] = left
        else:
            givers.pop(key, None)
        keys.add(key)


def _first(givers: dict[Any, list[tuple[int, Any]]], key: Any, order: dict[int, int]) -> Any:
    """The version of the first giver in owner order (None: no one gives it now)."""
    found = givers.get(key)
    if not found:
        return None
    return found[0][1] if len(found) == 1 else min(found, key=lambda g: order[g[0]])[1]


def _place(held: dict[Any, Any], kinds: Counter[str], key: Any, value: Any, kind_of: Any) -> None:
    """Hold ``value`` under ``key`` (None: drop it), keeping the counts by kind right."""
    old = held.pop(key, None)
    if old is not None:
        kinds[kind_of(old)] -= 1
    if value is not None:
        held[key] = value
        kinds[kind_of(value)] += 1


def valid_edge(edge: Edge, nodes: Mapping[str, Node]) -> bool:
    """Whether both ends are nodes of the kinds the edge says, and the pair is allowed."""
    src, dst = nodes.get(edge.src), nodes.get(edge.dst)
    return src is not None and dst is not None and src.kind is edge.src_kind and dst.kind is edge.dst_kind \
        and check_pair(edge.kind, edge.src_kind, edge.dst_kind)

