"""Whole-root and local graph views, folded to the grain a reader looks at.

Both read the searcher's in-memory view (``Searcher.refresh``: every indexed node's display
data and ``LocalGraph``), so drawing a root of thousands of nodes reads nothing from the
store.

- ``overview``: one node per note and per source file; every link, embed, mention, call,
  import or inheritance between the things inside them becomes one weighted edge between
  the two, clustered by top-level folder.
- ``local``: the neighbourhood of one node, ``depth`` hops out, with sections and blocks
  folded into their note (a note's graph includes its sections' links, as in Obsidian) and
  definitions kept as they are (who calls whom).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kg.errors import NodeNotFound

UNITS = ("Note", "File")  # what the overview draws
INSIDE_NOTES = ("Heading", "Block")  # folded into their note in the local graph
MAX_DEPTH = 3
MAX_OVERVIEW = 600  # nodes: the server lays them out per request (about 1 s at 400, 2 s at 600 on 2 cores)


@dataclass
class GraphView:
    """Nodes ``{key, id, kind, label, cluster, degree}``, edges ``{src, dst, kind, weight}``,
    clusters ``{key, label}``; ``total`` nodes matched before the cap."""

    nodes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)
    clusters: list[dict[str, str]] = field(default_factory=list)
    total: int = 0
    center: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"nodes": self.nodes, "edges": self.edges, "clusters": self.clusters, "total": self.total,
                "shown": len(self.nodes), "truncated": self.total > len(self.nodes), "center": self.center}


def _folder_cluster(item: Any) -> str:
    top = item.path.split("/", 1)[0] if "/" in item.path else ""
    return f"{item.root}/{top}" if top else item.root


def _label(item: Any) -> str:
    if item.kind in ("Note", "File"):
        return item.title or item.name or item.path
    return item.qualname or item.heading or item.name or item.id


def _fold(view: Any, node_id: str, into: Sequence[str] | None, inside: Sequence[str]) -> str | None:
    """The node ``node_id`` is drawn as: itself, or the nearest container of a kind in ``into``
    (None: none) — only when its own kind is in ``inside`` (every kind when ``inside`` is empty)."""
    item = view.items.get(node_id)
    if item is None:
        return None
    if inside and item.kind not in inside:
        return node_id
    current: str | None = node_id
    while current is not None:
        found = view.items.get(current)
        if found is not None and (into is None or found.kind in into):
            return current
        current = view.graph.parent.get(current)
    return None


def _folded_edges(view: Any, fold: Callable[[str], str | None], keep: Callable[[str], bool]) -> Counter[tuple[str, str, str]]:
    weights: Counter[tuple[str, str, str]] = Counter()
    for src, steps in view.graph.adj.items():
        a = fold(src)
        if a is None or not keep(a):
            continue
        for step in steps:
            if not step.out or step.kind.value == "CONTAINS":
                continue
            b = fold(step.other)
            if b is not None and b != a and keep(b):
                weights[(a, b, step.kind.value)] += 1
    return weights


def _view_of(view: Any, keys: Sequence[str], weights: Counter[tuple[str, str, str]], total: int,
             center: str = "") -> GraphView:
    degree: Counter[str] = Counter()
    for (a, b, _), w in weights.items():
        degree[a] += w
        degree[b] += w
    shown = set(keys)
    clusters = sorted({_folder_cluster(view.items[k]) for k in keys})
    return GraphView(
        nodes=[{"key": k, "id": k, "kind": view.items[k].kind, "label": _label(view.items[k]),
                "cluster": _folder_cluster(view.items[k]), "degree": degree[k]} for k in keys],
        edges=[{"src": a, "dst": b, "kind": kind, "weight": w} for (a, b, kind), w in sorted(weights.items())
               if a in shown and b in shown],
        clusters=[{"key": c, "label": c} for c in clusters], total=total, center=center)


def overview(view: Any, *, root: str | None = None, kinds: Sequence[str] | None = None,
             tags: Sequence[str] | None = None, folder: str = "", limit: int = 400) -> GraphView:
    """Notes and files of ``root`` (all roots when None), the ``limit`` best connected of them.

    Args:
        kinds: "Note" and/or "File" (default both).
        tags: only notes carrying one of these tags (files have none, so they drop out).
        folder: only paths under this folder.
    """
    wanted = tuple(k for k in (kinds or UNITS) if k in UNITS)
    prefix = folder.strip().strip("/")

    def keep(node_id: str) -> bool:
        item = view.items[node_id]
        return (item.kind in wanted and (not root or item.root == root)
                and (not prefix or item.path == prefix or item.path.startswith(prefix + "/"))
                and (not tags or view.graph.has_tag(node_id, tags)))

    units = sorted(i for i in view.items if keep(i))
    cache: dict[str, str | None] = {}

    def fold(node_id: str) -> str | None:
        if node_id not in cache:
            cache[node_id] = _fold(view, node_id, UNITS, ())
        return cache[node_id]

    weights = _folded_edges(view, fold, lambda k: k in view.items and keep(k))
    degree: Counter[str] = Counter()
    for (a, b, _), w in weights.items():
        degree[a] += w
        degree[b] += w
    best = sorted(units, key=lambda k: (-degree[k], k))[:max(1, limit)]
    return _view_of(view, sorted(best), weights, len(units))


def local(view: Any, node_id: str, depth: int = 1, limit: int = 300) -> GraphView:
    """The neighbourhood of ``node_id``, ``depth`` hops (1..3), sections folded into their note.

    Raises:
        NodeNotFound: the node is not indexed.
    """
    depth = max(1, min(MAX_DEPTH, int(depth)))

    def fold(n: str) -> str | None:
        return _fold(view, n, ("Note",), INSIDE_NOTES)

    center = fold(node_id) if node_id in view.items else None
    if center is None:
        raise NodeNotFound(node_id)
    members: dict[str, list[str]] = defaultdict(list)  # folded node → the nodes it stands for
    for n in view.items:
        folded = fold(n)
        if folded is not None and folded != n:
            members[folded].append(n)
    seen, frontier = {center}, [center]
    for _ in range(depth):
        nxt = []
        for key in frontier:
            for member in (key, *members.get(key, ())):
                for step in view.graph.adj.get(member, ()):
                    other = fold(step.other)
                    if other is not None and other not in seen and len(seen) < limit:
                        seen.add(other)
                        nxt.append(other)
        frontier = nxt
    weights = _folded_edges(view, fold, lambda k: k in seen)
    for member in seen:  # a definition inside a file or class drawn here: show where it sits
        parent = view.graph.parent.get(member)
        if parent in seen:
            weights[(parent, member, "CONTAINS")] += 1
    return _view_of(view, sorted(seen), weights, len(seen), center=center)
