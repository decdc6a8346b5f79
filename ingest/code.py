"""The code parser: one source file → File, Class and Function nodes, CONTAINS edges and refs.

The parser knows no language. What a language means lives in its query,
``ingest/queries/<lang>.scm`` (aider-repomap style), plus the few facts in
``ingest.languages.LanguageSpec``. The captures it reads:

==================================  ======================================================
``@definition.<type>``              a definition node; ``<type>`` is ``class``, ``struct``,
                                    ``interface``, ``trait``, ``enum``, ``union``, ``type``
                                    (→ a Class node) or ``function``/``method`` (→ Function)
``@name.definition.<type>``         its name
``@definition.body``                its body (the signature is the text before it)
``@definition.doc``                 its docstring (a string literal)
``@definition.receiver``            a qualifier for its name (Go ``func (s *T) M`` → ``T.M``)
``@definition.self``                the receiver variable (``s``): ``s.x()`` is a self call
``@scope`` / ``@name.scope``        a block that qualifies the definitions inside it but is
                                    no node itself (Rust ``impl T`` → ``T.method``)
``@name.reference.call``            a callee as written (``retry``, ``self.save``)
``@name.reference.inherits``        a base class, trait or embedded type as written
``@reference.import``               an import statement; matches are grouped by it
``@name.reference.import``          the module as written (quotes are stripped)
``@import.name`` / ``@import.alias``  a name it imports and what it is bound to; an alias
                                    without a name binds the module itself
``@import.default``                 the name a default export is bound to (JS)
``@import.star`` / ``@import.include``  ``import *``; a file included as a module (``mod x;``)
``@file.doc``                       the module docstring
``@file.package``                   the package or namespace the file declares (Java, C#, PHP)
``@import.relative``                the import names a path relative to the importing file
                                    (``#include "x.h"``, ``require_relative``)
``@local.name`` / ``@local.type``   a variable and the type that evidence gives it inside the
                                    enclosing definition: a constructor assignment
                                    (``x = Foo()``), an annotation or a typed declaration;
                                    a call ``x.m()`` then carries ``type`` for the resolver
``@doc.comment`` / ``@doc.skip``    comments (doc blocks above definitions) and lines a doc
                                    block may span (attributes, decorators)
==================================  ======================================================

Captures come back grouped by name, not in source order, so everything positional is done
here from byte ranges: nesting and enclosing definitions come from one sweep over sorted
ranges, never from ``node.parent`` (which walks down from the root every time).
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from tree_sitter import Node as TsNode
from tree_sitter import QueryCursor, Tree

from ingest.languages import LanguageSpec, language_for, parser, query, spec
from ingest.types import ParsedFile, Ref
from kg.errors import IngestError
from kg.model import Edge, EdgeKind, Node, NodeKind, content_hash, def_id, file_id

log = logging.getLogger(__name__)

CLASS_TYPES = frozenset({"class", "struct", "interface", "trait", "enum", "union", "type"})
FUNCTION_TYPES = frozenset({"function", "method"})
_DEF_EXTRAS = frozenset({"body", "doc", "receiver", "self"})
BODY_CAP = 4000
SIGNATURE_CAP = 400
_SPACE = re.compile(r"\s+")
_DOT_SPACE = re.compile(r"\s*(?:\.|::)\s*")
_HEAD = re.compile(r"[^.:]*")
_DOTTED = re.compile(r"[\w$]+(?:(?:\.|::)[\w$]+)*")
_RECEIVER = re.compile(r"(.+?)(?:\.|::)[^.:]+$")  # `self.client.send` → `self.client`
_STRING_QUOTES = re.compile(r"^[rRbBuUfF]*(\"\"\"|'''|\"|')|(\"\"\"|'''|\"|')$")
_COMMENT_MARK = re.compile(r"^\s*(///?!?|/\*\*?|\*/|\*|#)\s?")

__all__ = ["parse_code", "is_minified", "language_for"]


@dataclass
class _Def:
    """A definition or scope found by the query, before it becomes a node."""

    start: int
    end: int
    row: int
    end_row: int
    type: str  # a CLASS_TYPES / FUNCTION_TYPES member, or "scope"
    name: str = ""
    body: TsNode | None = None
    doc: str = ""
    receiver: str = ""
    self_name: str = ""
    parent: _Def | None = None
    qualname: str = ""
    id: str = ""

    @property
    def is_scope(self) -> bool:
        return self.type == "scope"

    @property
    def is_class(self) -> bool:
        return self.type in CLASS_TYPES


@dataclass
class _Source:
    """The file being parsed, with what every step needs."""

    root: str
    path: str
    data: bytes
    lang: LanguageSpec
    defs: list[_Def] = field(default_factory=list)
    by_qualname: dict[str, _Def] = field(default_factory=dict)  # first non-scope def of each

    def text(self, node: TsNode | None, start: int | None = None, end: int | None = None) -> str:
        if node is not None:
            start, end = node.start_byte, node.end_byte
        return self.data[start:end].decode("utf-8", errors="replace")


def is_minified(text: str) -> bool:
    """Whether a source text looks minified or generated as one long line.

    Args:
        text: the decoded file content.

    Returns:
        True when the average line is longer than 300 characters or one line is longer
        than 5,000 characters.
    """
    if not text:
        return False
    lines = text.count("\n") + 1
    if len(text) / lines > 300:
        return True
    return len(text) > 5000 and any(len(line) > 5000 for line in text.splitlines())


def parse_code(root: str, path: str, source: bytes) -> ParsedFile:
    """Parse one source file into the nodes, edges and refs of the code graph.

    Args:
        root: the name of the root the file belongs to.
        path: its path relative to the root, with forward slashes.
        source: its content (invalid UTF-8 is decoded with replacement characters).

    Returns:
        A ``ParsedFile`` of kind ``"code"`` with a File node, Class and Function nodes,
        CONTAINS edges, IMPORTS/CALLS/INHERITS refs, and a warning if tree-sitter had to
        recover from syntax errors.

    Raises:
        IngestError: the file's extension is not a known language.
    """
    lang_name = language_for(path)
    if lang_name is None:
        raise IngestError(f"{root}/{path}: no code parser for this file type "
                          f"(known extensions are listed in ingest/languages.py)")
    src = _Source(root, path, source, spec(lang_name))
    tree = parser(lang_name).parse(source)
    matches = QueryCursor(query(lang_name)).matches(tree.root_node)
    groups = _group(matches)
    parsed = ParsedFile(root=root, path=path, kind="code", lang=lang_name)
    _collect_defs(src, groups["def"], groups["scope"])
    comments = _comment_index(src, groups["comment"], groups["skip"]) if src.lang.comment_docs else None
    fid = file_id(root, path)
    parsed.nodes.append(_file_node(src, fid, groups["file_doc"], groups["package"]))
    parsed.nodes += [_def_node(src, d, comments) for d in src.defs if not d.is_scope]
    parsed.edges += _contains(src, fid)
    parsed.refs += _calls(src, fid, groups["call"], _local_types(src, groups["local"]))
    parsed.refs += _inherits(src, groups["inherits"])
    parsed.refs += _imports(src, fid, groups["import"])
    if tree.root_node.has_error:
        parsed.warnings.append(_syntax_warning(tree))
    return parsed


# -- reading matches ----------------------------------------------------------------------

def _group(matches: list[tuple[int, dict[str, list[TsNode]]]]) -> dict[str, list[dict[str, list[TsNode]]]]:
    """Sort query matches by what they describe."""
    groups: dict[str, list[dict[str, list[TsNode]]]] = {
        k: [] for k in ("def", "scope", "call", "inherits", "import", "file_doc", "comment", "skip", "package",
                        "local")}
    for _, caps in matches:
        if "name.reference.call" in caps:
            groups["call"].append(caps)
        elif "name.reference.import" in caps:
            groups["import"].append(caps)
        elif "name.reference.inherits" in caps:
            groups["inherits"].append(caps)
        elif "scope" in caps:
            groups["scope"].append(caps)
        elif "doc.comment" in caps:
            groups["comment"].append(caps)
        elif "doc.skip" in caps:
            groups["skip"].append(caps)
        elif "file.doc" in caps:
            groups["file_doc"].append(caps)
        elif "file.package" in caps:
            groups["package"].append(caps)
        elif "local.name" in caps and "local.type" in caps:
            groups["local"].append(caps)
        elif any(k.startswith("definition.") for k in caps):
            groups["def"].append(caps)
    return groups


def _def_type(caps: dict[str, list[TsNode]]) -> str | None:
    for key in caps:
        if key.startswith("definition."):
            kind = key[len("definition."):]
            if kind not in _DEF_EXTRAS:
                return kind
    return None


def _collect_defs(src: _Source, def_matches: list[dict[str, list[TsNode]]],
                  scope_matches: list[dict[str, list[TsNode]]]) -> None:
    """Build ``src.defs`` (sorted, nested, qualified) from definition and scope matches."""
    by_range: dict[tuple[int, int], _Def] = {}
    for caps in def_matches:
        kind = _def_type(caps)
        if kind is None or f"name.definition.{kind}" not in caps:
            continue
        node = caps[f"definition.{kind}"][0]
        key = (node.start_byte, node.end_byte)
        d = by_range.get(key)
        if d is None:
            d = by_range[key] = _Def(node.start_byte, node.end_byte, node.start_point[0], node.end_point[0],
                                     kind, src.text(caps[f"name.definition.{kind}"][0]))
        d.body = d.body or _first(caps, "definition.body")
        if not d.doc and "definition.doc" in caps:
            d.doc = _clean_docstring(src.text(caps["definition.doc"][0]))
        if "definition.receiver" in caps:
            d.receiver = src.text(caps["definition.receiver"][0])
        if "definition.self" in caps:
            d.self_name = src.text(caps["definition.self"][0])
    for caps in scope_matches:
        node = caps["scope"][0]
        key = (node.start_byte, node.end_byte)
        if key not in by_range:
            by_range[key] = _Def(node.start_byte, node.end_byte, node.start_point[0], node.end_point[0],
                                 "scope", src.text(caps["name.scope"][0]))
    src.defs = sorted(by_range.values(), key=lambda d: (d.start, -d.end))
    _nest(src)


def _first(caps: dict[str, list[TsNode]], key: str) -> TsNode | None:
    nodes = caps.get(key)
    return nodes[0] if nodes else None


def _nest(src: _Source) -> None:
    """Give each definition its parent, qualified name, type and unique id."""
    stack: list[_Def] = []
    used: dict[str, int] = {}
    for d in src.defs:
        while stack and stack[-1].end <= d.start:
            stack.pop()
        d.parent = stack[-1] if stack else None
        prefix = d.parent.qualname if d.parent else ""
        if d.receiver and not prefix:
            prefix = d.receiver
        d.qualname = f"{prefix}.{d.name}" if prefix else d.name
        if d.type == "function" and (d.receiver or (d.parent and (d.parent.is_class or d.parent.is_scope))):
            d.type = "method"
        if not d.is_scope:
            # Two definitions with one qualified name (a property and its setter, a def in
            # both branches of an `if`) keep their qualname; the later ones get "@n" ids.
            n = used.get(d.qualname, 0) + 1
            used[d.qualname] = n
            d.id = def_id(src.root, src.path, d.qualname if n == 1 else f"{d.qualname}@{n}")
            src.by_qualname.setdefault(d.qualname, d)
        stack.append(d)


# -- nodes and CONTAINS -------------------------------------------------------------------

def _file_node(src: _Source, fid: str, doc_matches: list[dict[str, list[TsNode]]],
               package_matches: list[dict[str, list[TsNode]]]) -> Node:
    doc = _clean_docstring(src.text(doc_matches[0]["file.doc"][0])) if doc_matches else ""
    top = [d.qualname for d in src.defs if d.parent is None and not d.is_scope]
    text = "\n".join(part for part in (src.path, doc, " ".join(top)) if part)
    packages = sorted({_SPACE.sub("", src.text(caps["file.package"][0])) for caps in package_matches})
    return Node(id=fid, kind=NodeKind.FILE, name=PurePosixPath(src.path).name, root=src.root, path=src.path,
                text=text, doc=doc, lang=src.lang.name, start_line=1,
                end_line=src.data.count(b"\n") + 1, props={"packages": packages} if packages else {})


def _def_node(src: _Source, d: _Def, comments: _Comments | None) -> Node:
    if d.body is not None:
        signature = src.text(None, d.start, d.body.start_byte).rstrip()
        body = src.text(None, d.body.start_byte, min(d.body.end_byte, d.body.start_byte + BODY_CAP))
    else:
        signature, body = src.text(None, d.start, d.end).strip(), ""
    signature = signature[:SIGNATURE_CAP]
    doc = d.doc or (comments.above(d.row) if comments else "")
    kind = NodeKind.CLASS if d.is_class else NodeKind.FUNCTION
    text = "\n".join(part for part in (d.qualname, signature, doc, body) if part)
    # The hash is built here from the fields that vary: Node would json-dump the whole row.
    digest = content_hash("\x00".join((d.id, kind.value, text, str(d.row), str(d.end_row), d.type)))
    return Node(id=d.id, kind=kind, name=d.name, root=src.root, path=src.path, text=text,
                start_line=d.row + 1, end_line=d.end_row + 1, qualname=d.qualname, lang=src.lang.name,
                signature=signature, doc=doc, props={"type": d.type}, hash=digest)


def _container(src: _Source, d: _Def | None, fid: str) -> tuple[str, NodeKind]:
    """The node that contains what sits directly in ``d`` (the File at top level)."""
    while d is not None and d.is_scope:
        owner = _find_def(src, d.qualname)
        if owner is not None:
            return owner.id, NodeKind.CLASS if owner.is_class else NodeKind.FUNCTION
        d = d.parent
    if d is None:
        return fid, NodeKind.FILE
    return d.id, NodeKind.CLASS if d.is_class else NodeKind.FUNCTION


def _find_def(src: _Source, qualname: str) -> _Def | None:
    return src.by_qualname.get(qualname)


def _contains(src: _Source, fid: str) -> list[Edge]:
    edges = []
    for d in src.defs:
        if d.is_scope:
            continue
        parent = d.parent
        if parent is None and d.receiver:
            owner = _find_def(src, d.receiver)
            parent = owner if owner is not None and owner.is_class else None
        pid, pkind = _container(src, parent, fid)
        edges.append(Edge(src=pid, kind=EdgeKind.CONTAINS, dst=d.id, src_kind=pkind,
                          dst_kind=NodeKind.CLASS if d.is_class else NodeKind.FUNCTION, line=d.row + 1))
    return edges


# -- refs ---------------------------------------------------------------------------------

def _enclosing(src: _Source, nodes: list[TsNode]) -> Iterator[tuple[TsNode, _Def | None]]:
    """Pair each node with the innermost definition or scope around it, in one sweep."""
    defs = src.defs
    stack: list[_Def] = []
    i = 0
    for node in sorted(nodes, key=lambda n: n.start_byte):
        pos = node.start_byte
        while i < len(defs) and defs[i].start <= pos:
            while stack and stack[-1].end <= defs[i].start:
                stack.pop()
            stack.append(defs[i])
            i += 1
        while stack and stack[-1].end <= pos:
            stack.pop()
        yield node, (stack[-1] if stack else None)


def _local_types(src: _Source, matches: list[dict[str, list[TsNode]]]) -> dict[tuple[str, str], str]:
    """``(qualname of the definition it lives in, variable) → type as written``.

    A variable of the enclosing object (``self.client = Client()``) belongs to the class, so
    every method sees it; the first evidence for a name wins.
    """
    types: dict[tuple[str, str], str] = {}
    by_node = {caps["local.name"][0].id: caps["local.type"][0] for caps in matches}
    names = [caps["local.name"][0] for caps in matches]
    for node, d in _enclosing(src, names):
        name = _callee(src, node)
        owner = d
        if _HEAD.match(name).group(0) in src.lang.self_names:  # type: ignore[union-attr]
            while owner is not None and not owner.is_class and not owner.is_scope:
                owner = owner.parent
        written = _squash(src.text(by_node[node.id]))
        types.setdefault((owner.qualname if owner else "", name), written)
        if owner is not None and owner is d and owner.is_class:  # a typed field: `self.x` in methods
            for self_name in src.lang.self_names:
                types.setdefault((owner.qualname, f"{self_name}.{name}"), written)
    return types


def _type_of(types: dict[tuple[str, str], str], d: _Def | None, name: str) -> str:
    """The type evidence gives ``name`` in definition ``d`` or around it ("" when none)."""
    while True:
        hit = types.get((d.qualname if d else "", name))
        if hit is not None or d is None:
            return hit or ""
        d = d.parent


def _calls(src: _Source, fid: str, matches: list[dict[str, list[TsNode]]],
           types: dict[tuple[str, str], str]) -> list[Ref]:
    refs = []
    lang = src.lang.name
    nodes = [caps["name.reference.call"][0] for caps in matches]
    for node, d in _enclosing(src, nodes):
        while d is not None and d.is_scope:
            d = d.parent
        target = _callee(src, node)
        props: dict[str, Any] = {"lang": lang}
        if "." in target or ":" in target:  # only `x.y` / `x::y` can be self calls
            head = _HEAD.match(target).group(0)  # type: ignore[union-attr]
            if head in src.lang.self_names or (head and head == _self_name(d)):
                props["self"] = True
            receiver = _RECEIVER.match(target)
            typed = _type_of(types, d, receiver.group(1)) if types and receiver else ""
            typed = typed or (_constructed(receiver.group(1)) if receiver else "")
            if typed:
                props["type"] = typed
        if d is None:
            refs.append(Ref(fid, NodeKind.FILE, EdgeKind.CALLS, target, node.start_point[0] + 1, props))
        else:
            kind = NodeKind.CLASS if d.is_class else NodeKind.FUNCTION
            refs.append(Ref(d.id, kind, EdgeKind.CALLS, target, node.start_point[0] + 1, props))
    return refs


def _constructed(receiver: str) -> str:
    """The class a receiver is built from, when it is a call: ``models.Base(1)`` → ``models.Base``."""
    if not receiver.endswith(")"):
        return ""
    depth = 0
    for i in range(len(receiver) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(receiver[i], 0)
        if depth == 0:
            head = receiver[:i].removeprefix("new ")
            return head if _DOTTED.fullmatch(head) else ""
    return ""


def _callee(src: _Source, node: TsNode) -> str:
    """A callee or variable as one line, with ``->`` written as ``.`` (``$this->save`` → ``$this.save``)."""
    return _squash(src.text(node)).replace("->", ".")


def _squash(text: str) -> str:
    """A callee as one line: ``promise\n  .then`` → ``promise.then``, ``new  A`` → ``new A``."""
    if not _SPACE.search(text):
        return text
    return _SPACE.sub(" ", _DOT_SPACE.sub(lambda m: m.group(0).strip(), text)).strip()


def _self_name(d: _Def | None) -> str:
    while d is not None:
        if d.self_name:
            return d.self_name
        d = d.parent
    return ""


def _inherits(src: _Source, matches: list[dict[str, list[TsNode]]]) -> list[Ref]:
    refs = []
    nodes = [caps["name.reference.inherits"][0] for caps in matches]
    for node, d in _enclosing(src, nodes):
        if d is None or not (d.is_class or d.is_scope):
            continue
        props: dict[str, Any] = {"lang": src.lang.name}
        if d.is_scope:
            owner = _find_def(src, d.qualname)
            sid = owner.id if owner is not None else def_id(src.root, src.path, d.qualname)
            props["class"] = d.qualname  # the class may be defined in another file
        else:
            sid = d.id
        refs.append(Ref(sid, NodeKind.CLASS, EdgeKind.INHERITS, _SPACE.sub(" ", src.text(node)),
                        node.start_point[0] + 1, props))
    return refs


def _imports(src: _Source, fid: str, matches: list[dict[str, list[TsNode]]]) -> list[Ref]:
    grouped: dict[tuple[int, str], dict[str, Any]] = {}
    for caps in matches:
        stmt = _first(caps, "reference.import") or caps["name.reference.import"][0]
        module = src.text(caps["name.reference.import"][0]).strip().strip("\"'`<>")
        if not module:
            continue  # `import ""` names no module (Go would resolve it to the file's own package)
        entry = grouped.setdefault((stmt.start_byte, module), {
            "line": stmt.start_point[0] + 1, "names": [], "alias": {}, "include": False})
        names = [src.text(n) for n in caps.get("import.name", [])]
        aliases = [src.text(n) for n in caps.get("import.alias", [])]
        if "import.default" in caps:
            names.append("default")
            entry["alias"]["default"] = src.text(caps["import.default"][0])
        if "import.star" in caps:
            names.append("*")
        for name in names:
            if name not in entry["names"]:
                entry["names"].append(name)
        if aliases and names and len(aliases) == len(names):
            entry["alias"].update(zip(names, aliases))
        elif aliases and not names:
            entry["alias"][module] = aliases[0]
        entry["include"] = entry["include"] or "import.include" in caps
        entry["relative"] = entry.get("relative") or "import.relative" in caps
    refs = []
    for (_, module), entry in sorted(grouped.items()):
        props: dict[str, Any] = {"names": entry["names"], "alias": entry["alias"], "lang": src.lang.name}
        if src.lang.dotted_relative:
            props["level"] = len(module) - len(module.lstrip("."))
        if entry["include"]:
            props["include"] = True
        if entry["relative"]:
            props["relative"] = True
        refs.append(Ref(fid, NodeKind.FILE, EdgeKind.IMPORTS, module, entry["line"], props))
    return refs


# -- docs and errors ----------------------------------------------------------------------

def _clean_docstring(raw: str) -> str:
    return inspect.cleandoc(_STRING_QUOTES.sub("", raw.strip()))


class _Comments:
    """Comment blocks by the row they end on, to find the doc block above a definition."""

    def __init__(self) -> None:
        self.by_end: dict[int, tuple[int, str]] = {}
        self.skip_end: dict[int, int] = {}

    def above(self, row: int) -> str:
        parts: list[str] = []
        row -= 1
        while row >= 0:
            if row in self.skip_end:
                row = self.skip_end[row] - 1
            elif row in self.by_end:
                start, text = self.by_end[row]
                parts.append(text)
                row = start - 1
            else:
                break
        return "\n".join(reversed(parts)).strip()


def _comment_index(src: _Source, comments: list[dict[str, list[TsNode]]],
                   skips: list[dict[str, list[TsNode]]]) -> _Comments:
    index = _Comments()
    for caps in skips:
        node = caps["doc.skip"][0]
        index.skip_end[node.end_point[0]] = node.start_point[0]
    for caps in comments:
        node = caps["doc.comment"][0]
        line_start = src.data.rfind(b"\n", 0, node.start_byte) + 1
        if src.data[line_start:node.start_byte].strip():
            continue  # a comment after code on the same line documents that line only
        raw = src.text(node).rstrip()
        row = node.start_point[0]
        text = "\n".join(_COMMENT_MARK.sub("", line).rstrip() for line in raw.splitlines())
        index.by_end[row + raw.count("\n")] = (row, text.strip().removesuffix("*/").strip())
    return index


def _syntax_warning(tree: Tree) -> str:
    rows: list[int] = []
    stack = [tree.root_node]
    while stack and len(rows) < 10:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            rows.append(node.start_point[0] + 1)
            continue
        stack.extend(reversed([c for c in node.children if c.has_error]))
    lines = ", ".join(str(r) for r in sorted(set(rows))) or "unknown"
    return f"syntax errors at lines {lines} (tree-sitter recovered what it could)"
