"""Graph-neighbourhood expansion and de-duplication over a cached adjacency.

``LocalGraph`` is built once from ``store.iter_edges`` (only edges between indexed nodes,
plus TAGGED edges for the tag filter) and kept by the ``Searcher`` until the index syncs
again. ``expand`` is a truncated personalised PageRank: the fused scores of the strongest
hits are the restart distribution, and activation flows ``hops`` steps along the edges with
a weight per edge kind, a decay per hop, and damping at hubs (a file with 200 functions
does not lend each of them much). Every node it reaches remembers its strongest single
source, which becomes its "why" ("called by utils/resilience.py::retry").
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kg.model import Edge, EdgeKind
from kg.store.base import GraphStore

log = logging.getLogger(__name__)

EXPANSION_EDGES = (EdgeKind.CONTAINS, EdgeKind.LINKS_TO, EdgeKind.EMBEDS, EdgeKind.CALLS,
                   EdgeKind.IMPORTS, EdgeKind.INHERITS, EdgeKind.MENTIONS)


@dataclass(frozen=True)
class Step:
    """One edge as seen from a node: the neighbour, the edge kind, and whether it points out."""

    other: str
    kind: EdgeKind
    out: bool


@dataclass
class LocalGraph:
    """Adjacency of the indexed nodes, with the CONTAINS parent of each node and node tags."""

    adj: dict[str, list[Step]] = field(default_factory=lambda: defaultdict(list))
    parent: dict[str, str] = field(default_factory=dict)
    tags: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    seconds: float = 0.0

    @classmethod
    def build(cls, store: GraphStore, indexed: Mapping[str, object] | set[str]) -> LocalGraph:
        """Read the expansion edges (and TAGGED) of a store, keeping those between indexed nodes."""
        started = time.perf_counter()
        graph = cls()
        edges = store.iter_edges(list(EXPANSION_EDGES) + [EdgeKind.TAGGED])
        graph.add_edges(edges, indexed)
        graph.seconds = time.perf_counter() - started
        log.info("search graph: %d nodes with edges, built in %.2fs", len(graph.adj), graph.seconds)
        return graph

    def add_edges(self, edges: Iterable[Edge], indexed: Mapping[str, object] | set[str]) -> None:
        for edge in edges:
            if edge.kind == EdgeKind.TAGGED:
                self.tags[edge.src].add(edge.dst.removeprefix("tag:"))
                continue
            if edge.src not in indexed or edge.dst not in indexed or edge.src == edge.dst:
                continue
            self.adj[edge.src].append(Step(edge.dst, edge.kind, True))
            self.adj[edge.dst].append(Step(edge.src, edge.kind, False))
            if edge.kind == EdgeKind.CONTAINS:
                self.parent[edge.dst] = edge.src

    def patched(self, put: Iterable[Edge], gone: Iterable[tuple[str, str, str]],
                indexed: Mapping[str, object] | set[str]) -> LocalGraph:
        """A copy with edges removed (``gone`` keys, and the old version of each ``put`` edge)
        and ``put`` added; this graph is left as it is for the searches still using it."""
        started = time.perf_counter()
        put = [e for e in put if e.kind in EXPANSION_EDGES or e.kind == EdgeKind.TAGGED]
        removed = set(gone) | {e.key for e in put}
        new = LocalGraph(adj=defaultdict(list, self.adj), parent=dict(self.parent),
                         tags=defaultdict(set, self.tags))
        for node in {s for s, _, _ in removed} | {d for _, _, d in removed} | \
                {n for e in put for n in (e.src, e.dst)}:
            if node in new.adj:
                new.adj[node] = [st for st in new.adj[node] if
                                 ((node, st.kind.value, st.other) if st.out else (st.other, st.kind.value, node))
                                 not in removed]
            if node in new.tags:
                new.tags[node] = set(new.tags[node])
        for src, kind, dst in removed:
            if kind == EdgeKind.TAGGED.value and src in new.tags:
                new.tags[src].discard(dst.removeprefix("tag:"))
            elif kind == EdgeKind.CONTAINS.value and new.parent.get(dst) == src:
                del new.parent[dst]
        new.add_edges(put, indexed)
        new.seconds = time.perf_counter() - started
        return new

    def ancestors(self, node_id: str) -> list[str]:
        """CONTAINS parents, nearest first (a heading's parent heading, then its note)."""
        out, seen = [], {node_id}
        current = self.parent.get(node_id)
        while current is not None and current not in seen:
            out.append(current)
            seen.add(current)
            current = self.parent.get(current)
        return out

    def has_tag(self, node_id: str, wanted: Iterable[str]) -> bool:
        """Whether a node or one of its ancestors carries a tag (or a nested tag under it)."""
        wanted = [t.lower().lstrip("#") for t in wanted]
        for owner in [node_id, *self.ancestors(node_id)]:
            for tag in self.tags.get(owner, ()):
                if any(tag == w or tag.startswith(w + "/") for w in wanted):
                    return True
        return False


@dataclass
class Source:
    """Where a node's expansion score came from: the strongest single contribution."""

    seed: str  # the node that passed the activation on (a seed, or a node one hop out)
    step: Step  # the edge as seen from that node
    amount: float


def expand(graph: LocalGraph, seeds: Mapping[str, float], *, edge_weights: Mapping[str, float],
           hops: int = 2, decay: float = 0.5, hub_degree: int = 8,
           max_nodes: int = 400) -> tuple[dict[str, float], dict[str, Source]]:
    """Spread activation from seeds (a truncated personalised PageRank).

    Args:
        graph: the cached adjacency.
        seeds: node id → fused score of the strong hits.
        edge_weights: EdgeKind value → how much activation that edge passes on.
        hops: steps to take (1 or 2 is enough to find a caller's callee or a linked note).
        decay: multiplier per extra hop.
        hub_degree: nodes with more neighbours than this pass on proportionally less.
        max_nodes: stop reaching new nodes after this many (bounds latency).

    Returns:
        (node id → activation received, node id → its strongest source).
    """
    received: dict[str, float] = defaultdict(float)
    sources: dict[str, Source] = {}
    frontier = dict(seeds)
    for hop in range(max(0, int(hops))):
        nxt: dict[str, float] = defaultdict(float)
        for node, active in frontier.items():
            steps = graph.adj.get(node, ())
            damp = min(1.0, math.sqrt(hub_degree / len(steps))) if steps else 0.0
            for step in steps:
                amount = active * edge_weights.get(step.kind.value, 0.0) * damp * decay ** hop
                if amount <= 0.0 or (hop > 0 and step.other in seeds):
                    continue  # no flowing back into the seeds on later hops
                if step.other not in received and len(received) >= max_nodes:
                    continue
                received[step.other] += amount
                nxt[step.other] += amount
                best = sources.get(step.other)
                if best is None or amount > best.amount:
                    sources[step.other] = Source(seed=node, step=step, amount=amount)
        frontier = nxt
    return dict(received), sources


def dedupe(scores: Mapping[str, float], graph: LocalGraph, ratio: float) -> dict[str, str]:
    """Choose between a hit and its CONTAINS ancestors (a section and its note, a method and its class).

    The more specific hit stays unless the ancestor scores more than ``ratio`` times higher
    (the tuned ratio is 1.0: whichever scores higher stays; ties go to the specific hit).

    Returns:
        dropped node id → the id of the hit that replaced it.
    """
    dropped: dict[str, str] = {}
    # Most specific first: deeper nodes have more ancestors.
    order = sorted(scores, key=lambda n: (-len(graph.ancestors(n)), -scores[n]))
    for node in order:
        if node in dropped:
            continue
        for anc in graph.ancestors(node):
            if anc not in scores or anc in dropped:
                continue
            if scores[anc] > scores[node] * ratio:
                dropped[node] = anc
                break
            dropped[anc] = node
    return dropped
