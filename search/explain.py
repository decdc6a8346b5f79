"""Human reasons and snippets for search results.

A reason is short and concrete: "matched: retry, backoff", "similar meaning (cos 0.62)",
"called by utils/resilience.py::retry", "linked from [[Backoff strategies]]",
"section of [[Note]]". Nodes are named the way a user would write them: notes and
headings as wikilinks, code as ``path::Qualified.name``.
"""

from __future__ import annotations

import re

from kg.model import EdgeKind
from search.expand import Step
from search.units import Item

SNIPPET_WIDTH = 180

# (edge kind, edge points from the source node to the result) → how the result relates.
_PHRASES = {
    (EdgeKind.CONTAINS, True): "section of",
    (EdgeKind.CONTAINS, False): "contains",
    (EdgeKind.LINKS_TO, True): "linked from",
    (EdgeKind.LINKS_TO, False): "links to",
    (EdgeKind.EMBEDS, True): "embedded in",
    (EdgeKind.EMBEDS, False): "embeds",
    (EdgeKind.CALLS, True): "called by",
    (EdgeKind.CALLS, False): "calls",
    (EdgeKind.IMPORTS, True): "imported by",
    (EdgeKind.IMPORTS, False): "imports",
    (EdgeKind.INHERITS, True): "base class of",
    (EdgeKind.INHERITS, False): "subclass of",
    (EdgeKind.MENTIONS, True): "mentioned in",
    (EdgeKind.MENTIONS, False): "mentions",
}
_CODE_KINDS = {"File", "Class", "Function"}


def label(item: Item) -> str:
    """How a user names a node: ``[[Note]]``, ``[[Note#Heading]]``, ``path.py::Class.method``."""
    if item.kind == "Note":
        return f"[[{item.title or item.name}]]"
    if item.kind == "Heading":
        return f"[[{item.title}#{item.heading or item.name}]]"
    if item.kind == "Block":
        block = item.id.rsplit("#", 1)[-1]
        return f"[[{item.title}#{block}]]"
    if item.kind == "File":
        return item.path
    return f"{item.path}::{item.qualname or item.name}"


def relation(step: Step, source: Item) -> str:
    """The reason a node reached by expansion is there, e.g. "called by utils/x.py::retry".

    Args:
        step: the edge as seen from the source node.
        source: the node whose activation reached the result.
    """
    phrase = _PHRASES.get((step.kind, step.out), step.kind.value.lower().replace("_", " "))
    if step.kind == EdgeKind.CONTAINS and step.out and source.kind in _CODE_KINDS:
        phrase = "defined in"
    return f"{phrase} {label(source)}"


def why(matched: list[str], cosine: float | None, related: str | None) -> str:
    """Join the parts of a reason, strongest evidence first."""
    parts = []
    if matched:
        parts.append("matched: " + ", ".join(matched))
    if cosine is not None:
        parts.append(f"similar meaning (cos {cosine:.2f})")
    if related:
        parts.append(related)
    return "; ".join(parts) or "related"


def snippet(text: str, terms: list[str], width: int = SNIPPET_WIDTH) -> str:
    """A window of the text around the first matched term (whitespace collapsed)."""
    flat = " ".join(text.split())
    if not flat:
        return ""
    lower = flat.lower()
    positions = [p for p in (_find(lower, t) for t in terms) if p >= 0]
    if not positions or len(flat) <= width:
        return flat[:width] + ("…" if len(flat) > width else "")
    start = max(0, min(positions) - width // 3)
    start = flat.rfind(" ", 0, start) + 1 if start else 0
    piece = flat[start:start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(flat) else "")


def _find(lower: str, term: str) -> int:
    match = re.search(r"(?<![a-z0-9])" + re.escape(term), lower)
    if match:
        return match.start()
    return lower.find(term)
