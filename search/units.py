"""What a node is to search: the text its vector embeds, the columns BM25 reads, and the
``Item`` a result shows (kept by the index, so results need no store).
"""

from __future__ import annotations

from dataclasses import dataclass

from kg.model import Node, NodeKind
from search.tokenize import code_tokens

EMBED_CHARS = 700  # the model reads 128 tokens; this is a little more than that
BODY_CHARS = 20_000  # BM25 reads this much of a node's text


@dataclass(frozen=True)
class Item:
    """What the index knows of one node: enough to show a result without the store."""

    id: str
    kind: str
    root: str
    path: str
    name: str
    qualname: str
    heading: str  # the heading's own text (headings only)
    hpath: str  # "H1 > H2": the heading path (headings only)
    title: str  # the note's title (vault nodes only)
    line: int | None
    chars: int = 0  # length of its text as stored for snippets (at most SNIPPET_CHARS)


def note_title(node: Node) -> str:
    """The title of the note a vault node belongs to (frontmatter title, else the file name)."""
    title = node.props.get("title") if node.kind == NodeKind.NOTE else None
    if isinstance(title, str) and title.strip():
        return title.strip()
    stem = node.path.rsplit("/", 1)[-1]
    return stem[:-3] if stem.endswith(".md") else stem


def heading_path(node: Node) -> str:
    """``H1 > H2`` for a heading node (from its id), else its ``heading`` field."""
    if node.kind == NodeKind.HEADING and "#" in node.id:
        return " > ".join(p for p in node.id.split("#")[1:] if p)
    return node.heading


def embed_text(node: Node) -> str:
    """The compact text embedded for a node (truncated to about what the model reads).

    A heading reads "note title > heading path: section text", a definition "qualname
    signature docstring body", a note "title: text"; parts the node's text already starts
    with are not repeated.
    """
    kind, text = node.kind, node.text.strip()
    if kind == NodeKind.HEADING:
        hpath = heading_path(node)
        text = text[len(hpath):].lstrip() if text.startswith(hpath) else text
        head = f"{note_title(node)} > {hpath}"
    elif kind in (NodeKind.NOTE, NodeKind.BLOCK):
        head = note_title(node)
        text = text[len(head):].lstrip() if text.startswith(head) else text
    elif kind == NodeKind.FILE:
        head, text = node.path, (node.doc or text.removeprefix(node.path).lstrip())
    else:  # class / function: qualified name, signature, docstring, start of body
        qualname = node.qualname or node.name
        head = f"{qualname}{node.signature and ' ' + node.signature}"
        if text.startswith(qualname):
            head, text = "", text
        elif node.doc and node.doc not in text:
            text = f"{node.doc}\n{text}"
    flat = " ".join(text.split())
    return (f"{head}: {flat}" if head else flat)[:EMBED_CHARS]


def fts_fields(node: Node) -> tuple[str, str, str]:
    """The name, path and body columns for FTS5 (code-aware tokens, space-separated)."""
    names = [node.name, node.qualname, heading_path(node) if node.kind == NodeKind.HEADING else ""]
    if node.kind == NodeKind.NOTE:
        names.append(note_title(node))
        names.extend(str(a) for a in node.props.get("aliases") or [] if isinstance(a, str))
    path = f"{node.path} {note_title(node) if node.kind in (NodeKind.HEADING, NodeKind.BLOCK) else ''}"
    body = f"{node.signature} {node.doc} {node.text[:BODY_CHARS]}"
    return (" ".join(code_tokens(" ".join(names))), " ".join(code_tokens(path)),
            " ".join(code_tokens(body)))
