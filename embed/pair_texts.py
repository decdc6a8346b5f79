"""The texts of training pairs: what a definition, a section or a link's sentence reads like
as an anchor, a positive or a negative (``embed.triplets`` pairs them).
"""

from __future__ import annotations

import re

from embed.negatives import tokenize
from kg.model import Edge, Node, NodeKind

MAX_CHARS = 1000  # texts are cut here: longer ones add training cost, not signal


def cut(text: str, limit: int = MAX_CHARS) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0]


def def_header(node: Node) -> str:
    """A definition's name, signature and docstring on one line."""
    name = node.qualname or node.name
    return cut(" ".join(p for p in (name, node.signature, node.doc) if p))


def def_body(node: Node) -> str:
    """A definition's code without its docstring or the header lines the store puts first."""
    body = node.text.replace(node.doc, "") if node.doc else node.text
    for empty in ('""""""', "''''''"):
        body = body.replace(empty, "")
    body = strip_header(body, node, def_header(node))
    return cut(re.sub(r"\n\s*\n", "\n", body))


def code_text(node: Node) -> str:
    """A definition as code alone: its name and signature, then its body without the docstring."""
    name = node.qualname or node.name
    return cut(f"{' '.join(p for p in (name, node.signature) if p)}\n{def_body(node)}")


_DOC_TAG = re.compile(r"^\s*[@:]\w+|^\s*(Args|Arguments|Returns?|Raises|Yields|Example|Examples|Parameters|Note)s?:?\s*$")
_MARKUP = re.compile(r"`+|\*\*?|\{@\w+\s+([^}]*)\}|\[\[?([^\]]*)\]\]?(\([^)]*\))?")


def doc_summary(doc: str, *, max_words: int = 40) -> str:
    """The first sentence of a docstring, as a person might ask for it; "" when it says too little.

    Stops at the first blank line or tag line (``@param``, ``Args:``), drops inline markup,
    and needs three words that are not stop words (``Returns the value.`` describes nothing).
    """
    lines = []
    for line in doc.strip().splitlines():
        if not line.strip() or _DOC_TAG.match(line):
            break
        lines.append(line.strip().lstrip("/*# ").strip())
    text = _MARKUP.sub(lambda m: m.group(1) or m.group(2) or "", " ".join(lines))
    sentence = _SENTENCE.split(text, maxsplit=1)[0].strip()
    if len(tokenize(sentence)) < 3:
        return ""
    return " ".join(sentence.split()[:max_words]).rstrip(".:;,")


def name_words(name: str) -> list[str]:
    """The words of an identifier: ``test_parse_header`` and ``TestParseHeader`` give parse, header."""
    parts = [p.lower() for seg in re.split(r"[_\W]+", name) for p in _NAME_PART.findall(seg)]
    return [p for p in parts if p not in ("test", "tests", "it", "should", "")]


_NAME_PART = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def strip_header(text: str, node: Node, anchor: str) -> str:
    """``text`` without its leading lines that only repeat the node's name, heading, breadcrumbs
    or signature (a pair whose positive starts with its anchor teaches nothing)."""
    known = {_squash(x) for x in (node.name, node.qualname, node.heading, node.signature, node.doc) if x}
    squashed_anchor = _squash(anchor)
    lines = text.strip().splitlines()
    while lines:
        line = _squash(lines[0].lstrip("#").strip())
        if line and line not in known and line not in squashed_anchor and " > " not in lines[0]:
            break
        lines.pop(0)
    return "\n".join(lines)


def _squash(text: str) -> str:
    return " ".join(text.lower().split())


def heading_path(node: Node) -> str:
    """ "Note > H1 > H2" for a heading node."""
    parts = node.id.split("#")[1:] if "#" in node.id else [node.heading or node.name]
    note = node.path.rsplit("/", 1)[-1].removesuffix(".md") if node.path else ""
    return " > ".join(p for p in [note, *parts] if p)


def section_text(node: Node) -> str:
    """A heading's section text without its own heading line or breadcrumbs."""
    return cut(strip_header(node.text, node, heading_path(node)))


_WIKILINK = re.compile(r"!?\[\[([^\]|#^]*)(?:[#^]([^\]|]*))?(?:\|([^\]]*))?\]\]")
_MDLINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def plain(text: str) -> str:
    """Markdown links replaced by the words a reader sees."""
    text = _WIKILINK.sub(lambda m: m.group(3) or " ".join(p for p in m.groups()[:2] if p), text)
    return _MDLINK.sub(r"\1", text).strip(" -*>#\t")


def link_sentence(src: Node, edge: Edge, dst: Node) -> str:
    """The sentence around the link or mention from ``src`` to ``dst``, else ``src``'s title."""
    lines = src.text.splitlines()
    needles = [n.lower() for n in (edge.alias, dst.name, dst.qualname) if n]
    line = None
    if edge.line is not None and lines:
        for offset in (src.start_line or 1, 1):
            index = edge.line - offset
            if 0 <= index < len(lines) and any(n in lines[index].lower() for n in needles):
                line = lines[index]
                break
    if line is None:
        line = next((ln for ln in lines if "[[" in ln and any(n in ln.lower() for n in needles)), None)
    if line is None:
        return src.name
    sentences = _SENTENCE.split(line)
    sentence = next((s for s in sentences if any(n in s.lower() for n in needles)), line)
    sentence = plain(sentence)
    return cut(sentence if len(sentence.split()) >= 3 else f"{src.name}: {sentence}")


def node_text(node: Node) -> str:
    """The text a node stands for as a positive or a negative."""
    if node.kind in (NodeKind.CLASS, NodeKind.FUNCTION):
        return cut(f"{def_header(node)}\n{def_body(node)}")
    if node.kind == NodeKind.HEADING:
        return cut(f"{node.heading or node.name}\n{section_text(node)}")
    return cut(node.text or node.name)
