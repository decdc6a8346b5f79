"""The graph model: node and edge kinds, stable ids, and the allow-list of endpoints.

Every label and relationship type that reaches Cypher text comes from the enums here
(``NodeKind``/``EdgeKind``); nothing read from a file or a request is ever pasted into a
query. Ids are derived from where a thing lives, so ingesting twice gives the same graph:

====================  ==========================================
``note:<root>/<path>``              a Markdown note
``heading:<root>/<path>#H1#H2``      a heading, by its heading path
``block:<root>/<path>#^id``          a block with a block id
``tag:<name>``                       a tag (lower case)
``file:<root>/<path>``               a source file
``def:<root>/<path>::<Qual.name>``   a class or function
``module:<name>``                    an external module
``attachment:<root>/<path>``         an image, PDF, ... in a vault
``unresolved:<root>/<target>``       a link target that does not exist (yet)
====================  ==========================================
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from dataclasses import dataclass, field
from collections.abc import Iterable
from typing import Any


class NodeKind(str, enum.Enum):
    NOTE = "Note"
    HEADING = "Heading"
    BLOCK = "Block"
    TAG = "Tag"
    ATTACHMENT = "Attachment"
    UNRESOLVED = "Unresolved"
    FILE = "File"
    CLASS = "Class"
    FUNCTION = "Function"
    EXTERNAL_MODULE = "ExternalModule"

    def __str__(self) -> str:
        return self.value


class EdgeKind(str, enum.Enum):
    CONTAINS = "CONTAINS"
    LINKS_TO = "LINKS_TO"
    EMBEDS = "EMBEDS"
    TAGGED = "TAGGED"
    TAG_PARENT = "TAG_PARENT"
    IMPORTS = "IMPORTS"
    CALLS = "CALLS"
    INHERITS = "INHERITS"
    MENTIONS = "MENTIONS"

    def __str__(self) -> str:
        return self.value


N = NodeKind
VAULT_SOURCES = (N.NOTE, N.HEADING, N.BLOCK)
LINK_TARGETS = (N.NOTE, N.HEADING, N.BLOCK, N.ATTACHMENT, N.UNRESOLVED, N.FILE, N.CLASS, N.FUNCTION)
CODE_DEFS = (N.CLASS, N.FUNCTION)

# Which (source kind, target kind) pairs each edge kind may join. The embedded store
# creates its relationship tables from this; the resolvers may only emit these pairs.
ENDPOINTS: dict[EdgeKind, tuple[tuple[NodeKind, NodeKind], ...]] = {
    EdgeKind.CONTAINS: (
        (N.NOTE, N.HEADING), (N.NOTE, N.BLOCK), (N.HEADING, N.HEADING), (N.HEADING, N.BLOCK),
        (N.FILE, N.CLASS), (N.FILE, N.FUNCTION), (N.CLASS, N.CLASS), (N.CLASS, N.FUNCTION),
        (N.FUNCTION, N.FUNCTION), (N.FUNCTION, N.CLASS),
    ),
    EdgeKind.LINKS_TO: tuple((s, t) for s in VAULT_SOURCES for t in LINK_TARGETS),
    EdgeKind.EMBEDS: tuple((s, t) for s in VAULT_SOURCES for t in LINK_TARGETS),
    EdgeKind.TAGGED: tuple((s, N.TAG) for s in VAULT_SOURCES),
    EdgeKind.TAG_PARENT: ((N.TAG, N.TAG),),
    EdgeKind.IMPORTS: (
        (N.FILE, N.FILE), (N.FILE, N.CLASS), (N.FILE, N.FUNCTION), (N.FILE, N.EXTERNAL_MODULE),
    ),
    EdgeKind.CALLS: tuple(
        (s, t) for s in (N.FILE, N.CLASS, N.FUNCTION) for t in (N.CLASS, N.FUNCTION, N.UNRESOLVED)
    ),
    EdgeKind.INHERITS: ((N.CLASS, N.CLASS), (N.CLASS, N.UNRESOLVED), (N.CLASS, N.EXTERNAL_MODULE)),
    EdgeKind.MENTIONS: tuple((s, t) for s in (N.NOTE, N.HEADING) for t in (N.FILE, N.CLASS, N.FUNCTION)),
}

# Node columns shared by every node table, with their Cypher types. `props` holds the rest
# (frontmatter, aliases, candidates, ...) as a JSON object string.
NODE_COLUMNS: dict[str, str] = {
    "id": "STRING", "root": "STRING", "path": "STRING", "kind": "STRING", "name": "STRING",
    "text": "STRING", "hash": "STRING", "start_line": "INT64", "end_line": "INT64", "qualname": "STRING",
    "heading": "STRING", "lang": "STRING", "signature": "STRING", "doc": "STRING",
    "props": "STRING",
}
# Edge columns shared by every relationship table.
EDGE_COLUMNS: dict[str, str] = {
    "alias": "STRING", "subpath": "STRING", "ambiguous": "BOOLEAN", "resolved": "BOOLEAN",
    "confidence": "DOUBLE", "how": "STRING", "line": "INT64", "props": "STRING",
}


def check_pair(kind: EdgeKind, src: NodeKind, dst: NodeKind) -> bool:
    """Whether ``(src)-[kind]->(dst)`` is an allowed pair."""
    return (src, dst) in _PAIRS[kind]


_PAIRS = {k: frozenset(v) for k, v in ENDPOINTS.items()}


_TEST_PATH = re.compile(r"(^|/)(tests?|spec|__tests__|testdata|benches|benchmarks?)(/|$)|(_test|\.test|\.spec|_spec)\.\w+$"
                        r"|(^|/)test_[^/]*$|(^|/)conftest\.py$")


def is_test_path(path: str) -> bool:
    """Whether a file path is a test, spec, fixture or benchmark by the usual conventions."""
    return bool(_TEST_PATH.search(path))


def content_hash(data: bytes | str) -> str:
    """A short stable hash of content (sha1, 16 hex digits)."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    return hashlib.sha1(data).hexdigest()[:16]


@dataclass
class Node:
    """One node of the graph. ``props`` holds kind-specific extras."""

    id: str
    kind: NodeKind
    name: str
    root: str = ""
    path: str = ""
    text: str = ""
    hash: str = ""
    start_line: int | None = None
    end_line: int | None = None
    qualname: str = ""
    heading: str = ""
    lang: str = ""
    signature: str = ""
    doc: str = ""
    props: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.kind = NodeKind(self.kind)
        if not self.hash:
            self.hash = content_hash(json.dumps(self.row(hash_=False), sort_keys=True, default=str))

    def row(self, hash_: bool = True) -> dict[str, Any]:
        """The node as a flat row of NODE_COLUMNS (props as a JSON string)."""
        row = {
            "id": self.id, "root": self.root, "path": self.path, "kind": self.kind.value,
            "name": self.name, "text": self.text, "start_line": self.start_line, "end_line": self.end_line,
            "qualname": self.qualname, "heading": self.heading, "lang": self.lang,
            "signature": self.signature, "doc": self.doc,
            "props": json.dumps(self.props, sort_keys=True, default=str),
        }
        if hash_:
            row["hash"] = self.hash
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Node:
        """Build a node back from a store row (the inverse of ``row``)."""
        data = {k: row.get(k) for k in NODE_COLUMNS if k in row}
        props = data.pop("props", None)
        for key in ("root", "path", "text", "hash", "qualname", "heading", "lang", "signature", "doc"):
            data[key] = data.get(key) or ""
        return cls(props=json.loads(props) if props else {}, **data)


@dataclass
class Edge:
    """One directed edge. Its key is ``(src, kind, dst)``: at most one edge per key."""

    src: str
    kind: EdgeKind
    dst: str
    src_kind: NodeKind
    dst_kind: NodeKind
    alias: str = ""
    subpath: str = ""
    ambiguous: bool = False
    resolved: bool = True
    confidence: float = 1.0
    how: str = ""
    line: int | None = None
    props: dict[str, Any] = field(default_factory=dict)
    # The fingerprint, computed once (parsed edges carry it from parse time).
    fp: str = field(default="", repr=False, compare=False)

    def __post_init__(self) -> None:
        self.kind = EdgeKind(self.kind)
        self.src_kind = NodeKind(self.src_kind)
        self.dst_kind = NodeKind(self.dst_kind)
        self._key = (self.src, self.kind.value, self.dst)  # read for every edge of every ingest

    @property
    def key(self) -> tuple[str, str, str]:
        """``(src, kind, dst)``: what identifies the edge (endpoints are never changed in place)."""
        return self._key

    def row(self) -> dict[str, Any]:
        """The edge's property columns (EDGE_COLUMNS) plus ``src``/``dst``."""
        return {
            "src": self.src, "dst": self.dst, "alias": self.alias, "subpath": self.subpath,
            "ambiguous": self.ambiguous, "resolved": self.resolved,
            "confidence": float(self.confidence), "how": self.how, "line": self.line,
            "props": json.dumps(self.props, sort_keys=True, default=str),
        }

    def fingerprint(self) -> str:
        """A hash of everything about the edge, to tell a changed edge from an unchanged one."""
        if not self.fp:
            self.fp = self._fingerprint()
        return self.fp

    def _fingerprint(self) -> str:
        return content_hash(repr((
            self.src, self.kind.value, self.dst, self.src_kind.value, self.dst_kind.value, self.alias,
            self.subpath, self.ambiguous, self.resolved, float(self.confidence), self.how, self.line,
            sorted(self.props.items()))))

    @classmethod
    def from_row(cls, kind: str, src_kind: str, dst_kind: str, row: dict[str, Any]) -> Edge:
        props = row.get("props")
        data = {k: row[k] for k in EDGE_COLUMNS if k in row and k != "props" and row[k] is not None}
        return cls(src=row["src"], dst=row["dst"], kind=EdgeKind(kind), src_kind=NodeKind(src_kind),
                   dst_kind=NodeKind(dst_kind), props=json.loads(props) if props else {}, **data)


# --- stable ids -----------------------------------------------------------------------

def note_id(root: str, path: str) -> str:
    return f"note:{root}/{path}"


def heading_id(root: str, path: str, headings: list[str] | tuple[str, ...]) -> str:
    return f"heading:{root}/{path}#" + "#".join(headings)


def block_id(root: str, path: str, block: str) -> str:
    return f"block:{root}/{path}#^{block}"


def tag_id(name: str) -> str:
    return f"tag:{name.lower()}"


def attachment_id(root: str, path: str) -> str:
    return f"attachment:{root}/{path}"


def unresolved_id(root: str, target: str) -> str:
    return f"unresolved:{root}/{target.lower()}"


def file_id(root: str, path: str) -> str:
    return f"file:{root}/{path}"


def def_id(root: str, path: str, qualname: str) -> str:
    return f"def:{root}/{path}::{qualname}"


def module_id(name: str) -> str:
    return f"module:{name}"


SEARCHABLE_KINDS = (N.NOTE, N.HEADING, N.BLOCK, N.FILE, N.CLASS, N.FUNCTION)


_PREFIX_KINDS = {
    "note": (N.NOTE,), "heading": (N.HEADING,), "block": (N.BLOCK,), "tag": (N.TAG,),
    "file": (N.FILE,), "def": (N.CLASS, N.FUNCTION), "module": (N.EXTERNAL_MODULE,),
    "attachment": (N.ATTACHMENT,), "unresolved": (N.UNRESOLVED,),
}


def kinds_for_ids(ids: Iterable[str]) -> list[NodeKind]:
    """The node kinds these ids can have (an id carries its kind in its prefix)."""
    kinds: dict[NodeKind, None] = {}
    for node_id in ids:
        for kind in _PREFIX_KINDS.get(node_id.split(":", 1)[0], tuple(NodeKind)):
            kinds[kind] = None
    return list(kinds)
