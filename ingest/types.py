"""What parsers produce and resolvers consume.

A parser turns one file into a ``ParsedFile``: the nodes it defines, the edges it can
resolve by itself (CONTAINS, TAGGED, TAG_PARENT) and ``Ref``s, references by name that
can only be resolved once every file is known (links, imports, calls, base classes,
code mentions). Parsers never touch the store; ``ingest.pipeline`` stores parsed files,
runs the resolvers over all of them and writes the difference through ``GraphStore``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kg.model import Edge, EdgeKind, Node, NodeKind


@dataclass
class Ref:
    """A reference by name from node ``src`` (of kind ``src_kind``).

    ``kind`` is the edge kind it becomes when resolved (LINKS_TO, EMBEDS, IMPORTS, CALLS,
    INHERITS, MENTIONS). ``target`` is the text as written (``Folder/Note#H1#H2``,
    ``../pkg/mod``, ``self.save``, ``Base``); ``props`` carries what the resolver needs
    (``alias``, ``markdown`` for ``[x](y)`` links, ``names`` imported, ``lang``...).
    """

    src: str
    src_kind: NodeKind
    kind: EdgeKind
    target: str
    line: int | None = None
    props: dict[str, Any] = field(default_factory=dict)


@dataclass
class ParsedFile:
    """One file, parsed. ``kind`` is 'note', 'code' or 'attachment'."""

    root: str
    path: str
    kind: str
    lang: str = ""
    hash: str = ""
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    refs: list[Ref] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
