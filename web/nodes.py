"""A node's page: its body (a note rendered, a definition highlighted) and its relations.

Source files are read only from inside an ingested root: the path is resolved and must
stay below the root's folder, or nothing is read (the node's stored ``text`` is shown
instead). No route serves a file outside the ingested roots.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from markupsafe import Markup, escape

from kg.model import Edge, EdgeKind, Node, NodeKind, attachment_id, note_id
from kg.store.base import GraphStore, Subgraph
from web.http import node_url
from web.render import Link, highlight_source, render_markdown

log = logging.getLogger(__name__)

E, N = EdgeKind, NodeKind
MAX_SOURCE_LINES = 5_000
MAX_CHILDREN = 40  # a note's headings and blocks whose backlinks are gathered
IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp"}

# (key, title, direction, edge kinds): the order they appear around a node.
RELATIONS: list[tuple[str, str, str, tuple[EdgeKind, ...]]] = [
    ("parent", "Contained in", "in", (E.CONTAINS,)),
    ("backlinks", "Backlinks", "in", (E.LINKS_TO, E.EMBEDS)),
    ("links", "Outgoing links", "out", (E.LINKS_TO, E.EMBEDS)),
    ("tags", "Tags", "out", (E.TAGGED,)),
    ("tagged", "Tagged with this", "in", (E.TAGGED,)),
    ("tag_parent", "Parent tag", "out", (E.TAG_PARENT,)),
    ("tag_children", "Child tags", "in", (E.TAG_PARENT,)),
    ("callers", "Callers", "in", (E.CALLS,)),
    ("callees", "Callees", "out", (E.CALLS,)),
    ("imports", "Imports", "out", (E.IMPORTS,)),
    ("imported_by", "Imported by", "in", (E.IMPORTS,)),
    ("bases", "Inherits from", "out", (E.INHERITS,)),
    ("subclasses", "Subclasses", "in", (E.INHERITS,)),
    ("mentions", "Mentioned in notes", "in", (E.MENTIONS,)),
    ("mentions_code", "Mentions code", "out", (E.MENTIONS,)),
    ("children", "Contains", "out", (E.CONTAINS,)),
]


def label(node: Node) -> str:
    """How a node is named in lists: qualified name, heading, name, or id."""
    return node.qualname or node.heading or node.name or node.id


def summary(node: Node) -> dict[str, Any]:
    """The short JSON form of a node (lists, graphs)."""
    return {"id": node.id, "kind": node.kind.value, "label": label(node), "root": node.root,
            "path": node.path}


def node_json(node: Node) -> dict[str, Any]:
    """The full JSON form of a node."""
    row = node.row()
    row["props"] = node.props
    return row


def read_root_file(roots: Mapping[str, Path], root: str, path: str, max_bytes: int) -> bytes | None:
    """The bytes of ``root/path``, only when it lies inside that ingested root.

    Returns None when the root is unknown, the path escapes it (``..``, absolute paths,
    symlinks pointing out), the file is missing, or it is larger than ``max_bytes``.
    """
    base = roots.get(root)
    if base is None or not path:
        return None
    base = base.resolve()
    try:
        target = (base / path).resolve()
    except (OSError, RuntimeError):
        return None
    if not target.is_relative_to(base) or target == base:
        log.warning("refused to read %r: outside the root %s", path, base)
        return None
    try:
        if not target.is_file() or target.stat().st_size > max_bytes:
            return None
        return target.read_bytes()
    except OSError:
        return None


@dataclass
class NodePage:
    """Everything a node page shows."""

    node: Node
    sub: Subgraph
    relations: list[dict[str, Any]]
    body: Markup
    body_source: str  # "file", "text" or "none"

    def as_json(self) -> dict[str, Any]:
        return {"node": node_json(self.node), "relations": self.relations,
                "body": {"source": self.body_source, "html": str(self.body)}}


class NodePages:
    """Builds node pages from a store and the ingested roots."""

    def __init__(self, store: GraphStore, roots: Mapping[str, Path], max_file_bytes: int) -> None:
        self.store = store
        self.roots = roots
        self.max_file_bytes = max_file_bytes

    def build(self, node_id: str, guesses: bool = False) -> NodePage:
        """The page of ``node_id`` (with its possible callers by name only when ``guesses``).

        Raises:
            NodeNotFound: no node has that id.
        """
        node, sub, extra, relations = node_relations(self.store, node_id, guesses)
        body, source = self.body(node, sub, extra, depth=0)
        return NodePage(node=node, sub=sub, relations=relations, body=body, body_source=source)

    # -- bodies -------------------------------------------------------------------------

    def body(self, node: Node, sub: Subgraph, extra: Subgraph, depth: int) -> tuple[Markup, str]:
        """The rendered body of a node, and where it came from ("file", "text", "none")."""
        if node.kind in (N.NOTE, N.HEADING, N.BLOCK):
            text, source = self._text(node)
            linker = GraphLinker(self, node, sub, extra, depth)
            return render_markdown(text, linker, depth=depth), source
        if node.kind in (N.FILE, N.CLASS, N.FUNCTION):
            return self._code(node)
        if node.kind is N.ATTACHMENT:
            return attachment_html(node), "file"
        return Markup(""), "none"

    def _text(self, node: Node) -> tuple[str, str]:
        if node.kind is N.NOTE:
            data = read_root_file(self.roots, node.root, node.path, self.max_file_bytes)
            if data is not None:
                return data.decode("utf-8", errors="replace"), "file"
        return node.text or "", "text" if node.text else "none"

    def _code(self, node: Node) -> tuple[Markup, str]:
        data = read_root_file(self.roots, node.root, node.path, self.max_file_bytes)
        start = 1
        if data is not None:
            lines = data.decode("utf-8", errors="replace").splitlines(keepends=True)
            if node.kind is not N.FILE and node.start_line:
                start = node.start_line
                lines = lines[start - 1:(node.end_line or start)]
            source, origin = "".join(lines[:MAX_SOURCE_LINES]), "file"
        else:
            source, origin = node.text or "", "text" if node.text else "none"
            start = node.start_line or 1
        if not source:
            return Markup(""), "none"
        return highlight_source(source, path=node.path, lang=node.lang, start_line=start), origin

    def embed(self, target_id: str, depth: int) -> Markup | None:
        """Safe HTML for an embedded node (a note, heading, block or image)."""
        if target_id.startswith("attachment:"):
            node = self.store.get_node(target_id)
            return attachment_html(node) if node else None
        try:
            sub = self.store.neighbourhood(target_id, depth=1, limit=500)
        except Exception:  # a vanished target shows as a plain link
            log.debug("embed %s failed", target_id, exc_info=True)
            return None
        node = sub.nodes[target_id]
        if node.kind not in (N.NOTE, N.HEADING, N.BLOCK):
            return None
        html, _ = self.body(node, sub, Subgraph(center=target_id), depth)
        head = f'<a class="embed-title" href="{escape(node_url(node.id))}">{escape(label(node))}</a>'
        return Markup(f'<div class="embed">{head}{html}</div>')


def node_relations(store: GraphStore, node_id: str, guesses: bool = False,
                   ) -> tuple[Node, Subgraph, Subgraph, list[dict[str, Any]]]:
    """A node, its neighbourhood, its sections' links and its relations grouped as RELATIONS:
    what its page (and the MCP ``node`` tool) lists around it.

    Args:
        guesses: also list the calls that only name-match a function or class ("possible
            callers"): unresolved calls that name it among their candidates.

    Raises:
        NodeNotFound: no node has that id.
    """
    sub = store.neighbourhood(node_id, depth=1, limit=1_000)
    node = sub.nodes[node_id]
    extra = _child_links(store, node)
    relations = group_relations(node, sub, extra)
    if guesses and node.kind in (N.FUNCTION, N.CLASS):
        group = {"key": "possible_callers", "title": "Possible callers (by name only)",
                 "items": possible_callers(store, node)}
        after = next((n + 1 for n, g in enumerate(relations) if g["key"] == "callers"), min(1, len(relations)))
        relations.insert(after, group)  # beside the callers they may add to
    return node, sub, extra, relations


# Unresolved calls that match a definition by its name alone: the edge lists its first
# candidates (JSON props), and any such call in the root whose callee ends in the name may
# mean it. Values are parameters.
_POSSIBLE_CALLERS = ("MATCH (s)-[c:CALLS]->(u:Unresolved) WHERE c.how = 'name-only' AND u.root = $root "
                     "AND (c.props CONTAINS $needle OR u.name = $name OR u.name ENDS WITH $dotted "
                     "OR u.name ENDS WITH $scoped) RETURN s.id, c.line, c.confidence, u.name LIMIT 500")


def possible_callers(store: GraphStore, node: Node) -> list[dict[str, Any]]:
    """The functions and files whose unresolved calls name ``node`` as a candidate by name alone."""
    rows = store.query(_POSSIBLE_CALLERS, {"needle": json.dumps(node.id), "root": node.root, "name": node.name,
                                           "dotted": f".{node.name}", "scoped": f"::{node.name}"}).rows
    callers = store.get_nodes([row[0] for row in rows])
    items = []
    for src, line, confidence, callee in rows:
        if src in callers:
            item = summary(callers[src])
            item.update(edge=E.CALLS.value, line=line, resolved=False, how="name-only", confidence=confidence,
                        via=f"{callee}() at line {line}")
            items.append(item)
    return items


def _child_links(store: GraphStore, node: Node) -> Subgraph:
    """A note's headings and blocks with their links (Obsidian counts them as the note's)."""
    out = Subgraph(center=node.id)
    if node.kind is not N.NOTE:
        return out
    tree = store.neighbourhood(node.id, depth=3, edge_kinds=[E.CONTAINS], limit=MAX_CHILDREN + 1)
    out.nodes.update(tree.nodes)
    out.edges += tree.edges
    for child in list(tree.nodes)[:MAX_CHILDREN]:
        if child == node.id:
            continue
        part = store.neighbourhood(child, depth=1, edge_kinds=[E.LINKS_TO, E.EMBEDS, E.MENTIONS], limit=200)
        out.nodes.update(part.nodes)
        out.edges += part.edges
    return out


def attachment_html(node: Node) -> Markup:
    """An image inline, anything else as a download link."""
    src = escape("/file/" + node_url(node.id)[len("/node/"):])
    mime = mimetypes.guess_type(node.path)[0] or ""
    if mime in IMAGE_TYPES:
        return Markup(f'<img class="attachment" src="{src}" alt="{escape(node.name)}">')
    return Markup(f'<a class="attachment" href="{src}" download>{escape(node.name or node.path)}</a>')


class GraphLinker:
    """Resolves a note's wikilinks through the LINKS_TO/EMBEDS edges the pipeline stored."""

    def __init__(self, pages: NodePages, node: Node, sub: Subgraph, extra: Subgraph, depth: int) -> None:
        self.pages = pages
        self.node = node
        self.depth = depth
        nodes = {**sub.nodes, **extra.nodes}
        sources = descendants(node.id, sub.edges + extra.edges)
        self.links = [(e, nodes[e.dst]) for e in sub.edges + extra.edges
                      if e.kind in (E.LINKS_TO, E.EMBEDS, E.MENTIONS) and e.src in sources and e.dst in nodes]

    def href(self, url: str, image: bool) -> str | None:
        """A relative Markdown link → the page of what it names (an image → the attachment's bytes)."""
        path, _, sub = unquote(url).partition("#")
        folder = posixpath.dirname(self.node.path)
        wanted = posixpath.normpath(posixpath.join(folder, path)) if path else self.node.path
        if wanted.startswith("../"):
            return None
        found = [(e, d) for e, d in self.links if d.path == wanted]
        exact = [d for e, d in found if sub and _norm(e.subpath.lstrip("#^")) == _norm(sub.lstrip("^"))]
        whole = [d for _, d in found if d.kind in (N.NOTE, N.FILE, N.ATTACHMENT)]
        if exact or whole:
            dst = (exact or whole)[0]
            return ("/file/" + node_url(dst.id)[len("/node/"):]) if image and dst.kind is N.ATTACHMENT \
                else node_url(dst.id)
        if image:
            return "/file/" + node_url(attachment_id(self.node.root, wanted))[len("/node/"):]
        if wanted.lower().endswith(".md"):
            return node_url(note_id(self.node.root, wanted))
        return None

    def resolve(self, target: str) -> Link:
        found = self._find(target)
        if found is None:
            return Link(href=None, css="wikilink unresolved", title=f"{target} (not in the graph)")
        css = "wikilink unresolved" if found.kind is N.UNRESOLVED else "wikilink"
        return Link(href=node_url(found.id), css=css, title=label(found))

    def embed(self, target: str, depth: int) -> Markup | None:
        found = self._find(target)
        if found is None or found.id == self.node.id:
            return None
        return self.pages.embed(found.id, depth)

    def _find(self, target: str) -> Node | None:
        base, _, sub = target.partition("#")
        base_key, sub_key = _norm(base), _norm(sub.lstrip("^"))
        best: Node | None = None
        for edge, dst in self.links:
            if edge.props.get("target") == target:
                return dst
            if base_key and not {base_key, base_key.removesuffix(".md")} & _keys(dst):
                continue
            if not base_key and dst.path != self.node.path:
                continue
            if _norm(edge.subpath.lstrip("#^")) == sub_key or (sub_key and sub_key in _norm(dst.id)):
                return dst
            best = best or (dst if dst.kind in (N.NOTE, N.ATTACHMENT, N.FILE, N.UNRESOLVED) else None)
        if best is None and base:
            guess = note_id(self.node.root, base if base.endswith(".md") else base + ".md")
            best = self.pages.store.get_node(guess)
        return best


def _norm(text: str) -> str:
    return " ".join(text.strip().lower().split())


def _keys(node: Node) -> set[str]:
    """Names a wikilink may use for a node: its file name with and without extension, its path."""
    path = node.path.lower()
    name = path.rsplit("/", 1)[-1]
    stem = name[:-3] if name.endswith(".md") else name
    keys = {path, name, stem, path[:-3] if path.endswith(".md") else path, _norm(node.name)}
    if node.kind is N.UNRESOLVED:
        keys.add(node.id.split("/", 1)[-1])
    aliases = node.props.get("aliases")
    if isinstance(aliases, list):
        keys |= {_norm(str(a)) for a in aliases}
    return {k for k in keys if k}


def descendants(node_id: str, edges: list[Edge]) -> set[str]:
    """``node_id`` and everything it contains, transitively."""
    found, frontier = {node_id}, [node_id]
    while frontier:
        step = {e.dst for e in edges if e.kind is E.CONTAINS and e.src in frontier} - found
        found |= step
        frontier = list(step)
    return found


_SECTIONS_COUNT = ("backlinks", "links", "mentions_code")  # relations where a note's sections count as the note


def group_relations(node: Node, sub: Subgraph, extra: Subgraph) -> list[dict[str, Any]]:
    """The node's edges grouped as RELATIONS, each item the other end's summary."""
    nodes = {**extra.nodes, **sub.nodes}
    children = descendants(node.id, sub.edges + extra.edges) - {node.id}
    groups = []
    for key, title, direction, kinds in RELATIONS:
        items, seen = [], set()
        for edge in sub.edges + (extra.edges if key in _SECTIONS_COUNT else []):
            if edge.kind not in kinds:
                continue
            mine = edge.dst if direction == "in" else edge.src
            other = edge.src if direction == "in" else edge.dst
            if key in _SECTIONS_COUNT:  # a note's sections count as the note
                if (mine != node.id and mine not in children) or other in children | {node.id}:
                    continue
            elif mine != node.id:
                continue
            if other not in nodes or (other, mine) in seen:
                continue
            seen.add((other, mine))
            item = summary(nodes[other])
            item.update(edge=edge.kind.value, alias=edge.alias, line=edge.line, ambiguous=edge.ambiguous,
                        resolved=edge.resolved, how=edge.how, via=label(nodes[mine]) if mine != node.id else "")
            items.append(item)
        if items:
            groups.append({"key": key, "title": title, "items": items})
    return groups
