"""Example queries that work on this graph, for the home page: per root, the names of its most
referenced notes, sections and definitions, each kept only when searching it finds that node
in the top three."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kg.model import is_test_path
from search.expand import LocalGraph
from search.tokenize import code_tokens
from search.units import Item

EXAMPLE_KINDS = frozenset({"Note", "Heading", "Class", "Function"})


def find_examples(items: Mapping[str, Item], graph: LocalGraph, search: Callable[..., list[Any]], *,
                  per_root: int = 2, tries: int = 8) -> list[dict[str, str]]:
    """Per root, up to ``per_root`` of its most referenced nodes (most backlinks, callers,
    mentions; ``tries`` of them searched) whose name, searched with ``search(query, 3,
    roots=[root])``, finds them in the top three. Names of several words come first: they show
    more of what search does than one.

    Returns:
        ``[{"query", "root", "id"}]``, roots in name order.
    """
    referenced: dict[str, list[tuple[int, str]]] = {}
    for node_id, item in items.items():
        if item.kind not in EXAMPLE_KINDS or is_test_path(item.path):
            continue
        refs = sum(1 for s in graph.adj.get(node_id, ()) if not s.out and s.kind.value != "CONTAINS")
        if refs:
            referenced.setdefault(item.root, []).append((refs, node_id))
    out: list[dict[str, str]] = []
    for root in sorted(referenced):
        named = []
        for refs, node_id in referenced[root]:
            item = items[node_id]
            words = item.name if item.kind in ("Class", "Function") else item.heading or item.title or item.name
            query = " ".join(code_tokens(words, keep_joined=False))
            if query:
                named.append((len(query.split()) < 2, -refs, node_id, query))
        found, seen = 0, set()
        for _, _, node_id, query in sorted(named)[:tries]:
            if query in seen:
                continue
            seen.add(query)
            if node_id in [r.id for r in search(query, 3, roots=[root])]:
                out.append({"query": query, "root": root, "id": node_id})
                found += 1
            if found >= per_root:
                break
    return out
