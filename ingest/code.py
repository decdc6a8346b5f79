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
``@definition.storage``             its storage class (C ``static``: linked only in its file)
``@definition.parameters``          its parameter list: how many arguments it takes, to tell
                                    overloads apart (``@call.arguments``: a call's arguments)
``@scope`` / ``@name.scope``        a block that qualifies the definitions inside it but is
                                    no node itself (Rust ``impl T`` → ``T.method``)
``@scope.module``                   the scope is an inline module (Rust ``mod tests { }``): an
                                    import inside it counts it (``inline``) for ``super``
``@name.reference.call``            a callee as written (``retry``, ``self.save``)
``@name.reference.inherits``        a base class, trait or embedded type as written
``@reference.import``               an import statement; matches are grouped by it
``@name.reference.import``          the module as written (quotes are stripped)
``@import.name`` / ``@import.alias``  a name it imports and what it is bound to; an alias
                                    without a name binds the module itself
``@import.default``                 the name a default export is bound to (JS)
``@import.star`` / ``@import.include``  ``import *``; a file included as a module (``mod x;``)
``@import.prefix``                  the path a nested import list sits under (Rust
                                    ``use a::{b::{C}}``: the module is ``a::b``)
``@file.doc``                       the module docstring
``@file.package``                   the package or namespace the file declares (Java, C#, PHP)
``@import.relative``                the import names a path relative to the importing file
                                    (``#include "x.h"``, ``require_relative``)
``@closure``                        an anonymous function (lambda, arrow, Go func literal):
                                    definitions and variables inside it are not seen outside
``@local.name`` / ``@local.type``   a variable and the type that evidence gives it inside the
                                    enclosing definition: a constructor assignment
                                    (``x = Foo()``), an annotation or a typed declaration;
                                    a call ``x.m()`` then carries ``type`` for the resolver
``@local.member``                   the variable is a property of the object: every method
                                    of the class sees it as ``this.<name>``
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
from pathlib import PurePosixPath

from tree_sitter import Node as TsNode
from tree_sitter import QueryCursor, Tree

from ingest import code_refs as refs
from ingest.code_mend import mend_typescript
from ingest.code_source import SPACE, Def, Source, arity, closures_at, first
from ingest.languages import language_for, parser, query, spec
from ingest.types import ParsedFile
from kg.errors import IngestError
from kg.model import Edge, EdgeKind, Node, NodeKind, content_hash, def_id, file_id

log = logging.getLogger(__name__)

_DEF_EXTRAS = frozenset({"body", "doc", "receiver", "self", "storage", "parameters"})
BODY_CAP = 4000
SIGNATURE_CAP = 400
_STRING_QUOTES = re.compile(r"^[rRbBuUfF]*(\"\"\"|'''|\"|')|(\"\"\"|'''|\"|')$")
_COMMENT_MARK = re.compile(r"^\s*(///?!?|/\*\*?|\*/|\*|#)\s?")

__all__ = ["parse_code", "is_minified", "language_for"]


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


# Repairs for what a grammar cannot parse although the language allows it (see ingest.code_mend).
_MENDERS = {"typescript": mend_typescript}


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
    lang_name = language_for(path, source)
    if lang_name is None:
        raise IngestError(f"{root}/{path}: no code parser for this file type "
                          f"(known extensions are listed in ingest/languages.py)")
    src = Source(root, path, source, spec(lang_name))
    tree = parser(lang_name).parse(source)
    if tree.root_node.has_error and lang_name in _MENDERS:
        mended = parser(lang_name).parse(_MENDERS[lang_name](source))
        if len(_error_rows(mended)) < len(_error_rows(tree)):
            tree = mended
    matches = QueryCursor(query(lang_name)).matches(tree.root_node)
    groups = _group(matches)
    parsed = ParsedFile(root=root, path=path, kind="code", lang=lang_name)
    _collect_defs(src, groups["def"], groups["scope"])
    _collect_closures(src, groups["closure"])
    comments = _comment_index(src, groups["comment"], groups["skip"]) if src.lang.comment_docs else None
    fid = file_id(root, path)
    parsed.nodes.append(_file_node(src, fid, groups["file_doc"], groups["package"]))
    hidden = closures_at(src, [d.start for d in src.defs]) if src.closures else {}
    parsed.nodes += [_def_node(src, d, comments, _closure_of(d, hidden.get(d.start, ())))
                     for d in src.defs if not d.is_scope]
    parsed.edges += _contains(src, fid)
    parsed.refs += refs.calls(src, fid, groups["call"], refs.local_types(src, groups["local"]))
    parsed.refs += refs.inherits(src, groups["inherits"])
    parsed.refs += refs.imports(src, fid, groups["import"], refs.inline_modules(src, groups["import"]))
    if tree.root_node.has_error:
        parsed.warnings.append(_syntax_warning(tree))
    return parsed


# -- reading matches ----------------------------------------------------------------------

def _group(matches: list[tuple[int, dict[str, list[TsNode]]]]) -> dict[str, list[dict[str, list[TsNode]]]]:
    """Sort query matches by what they describe."""
    groups: dict[str, list[dict[str, list[TsNode]]]] = {
        k: [] for k in ("def", "scope", "call", "inherits", "import", "file_doc", "comment", "skip", "package",
                        "local", "closure")}
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
        elif "closure" in caps:
            groups["closure"].append(caps)
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


def _collect_defs(src: Source, def_matches: list[dict[str, list[TsNode]]],
                  scope_matches: list[dict[str, list[TsNode]]]) -> None:
    """Build ``src.defs`` (sorted, nested, qualified) from definition and scope matches."""
    by_range: dict[tuple[int, int], Def] = {}
    for caps in def_matches:
        kind = _def_type(caps)
        if kind is None or f"name.definition.{kind}" not in caps:
            continue
        node = caps[f"definition.{kind}"][0]
        key = (node.start_byte, node.end_byte)
        d = by_range.get(key)
        if d is None:
            d = by_range[key] = Def(node.start_byte, node.end_byte, node.start_point[0], node.end_point[0],
                                     kind, src.text(caps[f"name.definition.{kind}"][0]))
        d.body = d.body or first(caps, "definition.body")
        if not d.doc and "definition.doc" in caps:
            d.doc = _clean_docstring(src.text(caps["definition.doc"][0]))
        if "definition.receiver" in caps:
            d.receiver = src.text(caps["definition.receiver"][0])
        if "definition.self" in caps:
            d.self_name = src.text(caps["definition.self"][0])
        if any(src.text(n) == "static" for n in caps.get("definition.storage", ())):
            d.file_local = True
        if "definition.parameters" in caps:
            d.arity = arity(caps["definition.parameters"][0])
    for caps in scope_matches:
        node = caps["scope"][0]
        key = (node.start_byte, node.end_byte)
        if key not in by_range:
            by_range[key] = Def(node.start_byte, node.end_byte, node.start_point[0], node.end_point[0],
                                 "scope", src.text(caps["name.scope"][0]), module="scope.module" in caps)
    src.defs = sorted(by_range.values(), key=lambda d: (d.start, -d.end))
    _nest(src)


def _collect_closures(src: Source, matches: list[dict[str, list[TsNode]]]) -> None:
    """The anonymous functions of the file (not one that is itself a definition's node)."""
    own = {(d.start, d.end) for d in src.defs} | {(d.start, -1) for d in src.defs}
    ranges = {(n.start_byte, n.end_byte) for n in (caps["closure"][0] for caps in matches)}
    src.closures = sorted((r for r in ranges if r not in own and (r[0], -1) not in own), key=lambda r: (r[0], -r[1]))


def _closure_of(d: Def, chain: tuple[int, ...]) -> int | None:
    """The innermost anonymous function around ``d`` that is inside d's parent, if any."""
    floor = d.parent.start if d.parent is not None else -1
    return next((c for c in chain if c > floor), None)


def _nest(src: Source) -> None:
    """Give each definition its parent, qualified name, type and unique id."""
    stack: list[Def] = []
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

def _file_node(src: Source, fid: str, doc_matches: list[dict[str, list[TsNode]]],
               package_matches: list[dict[str, list[TsNode]]]) -> Node:
    doc = _clean_docstring(src.text(doc_matches[0]["file.doc"][0])) if doc_matches else ""
    top = [d.qualname for d in src.defs if d.parent is None and not d.is_scope]
    text = "\n".join(part for part in (src.path, doc, " ".join(top)) if part)
    packages = sorted({SPACE.sub("", src.text(caps["file.package"][0])) for caps in package_matches})
    return Node(id=fid, kind=NodeKind.FILE, name=PurePosixPath(src.path).name, root=src.root, path=src.path,
                text=text, doc=doc, lang=src.lang.name, start_line=1,
                end_line=src.data.count(b"\n") + 1, props={"packages": packages} if packages else {})


def _def_node(src: Source, d: Def, comments: _Comments | None, closure: int | None) -> Node:
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
    digest = content_hash("\x00".join((d.id, kind.value, text, str(d.row), str(d.end_row), d.type, str(closure),
                                         str(d.file_local), str(d.arity))))
    return Node(id=d.id, kind=kind, name=d.name, root=src.root, path=src.path, text=text,
                start_line=d.row + 1, end_line=d.end_row + 1, qualname=d.qualname, lang=src.lang.name,
                signature=signature, doc=doc, hash=digest, props=_def_props(d, closure))


def _def_props(d: Def, closure: int | None) -> dict[str, object]:
    props: dict[str, object] = {"type": d.type}
    if closure is not None:
        props["closure"] = closure
    if d.file_local:
        props["file_local"] = True
    if d.arity is not None:
        props["arity"] = list(d.arity)
    return props


def _container(src: Source, d: Def | None, fid: str) -> tuple[str, NodeKind]:
    """The node that contains what sits directly in ``d`` (the File at top level)."""
    while d is not None and d.is_scope:
        owner = _find_def(src, d.qualname)
        if owner is not None:
            return owner.id, NodeKind.CLASS if owner.is_class else NodeKind.FUNCTION
        d = d.parent
    if d is None:
        return fid, NodeKind.FILE
    return d.id, NodeKind.CLASS if d.is_class else NodeKind.FUNCTION


def _find_def(src: Source, qualname: str) -> Def | None:
    return src.by_qualname.get(qualname)


def _contains(src: Source, fid: str) -> list[Edge]:
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


def _comment_index(src: Source, comments: list[dict[str, list[TsNode]]],
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


def _error_rows(tree: Tree, most: int = 1000) -> list[int]:
    """The lines (1-based) where tree-sitter found errors, up to ``most`` of them."""
    rows: list[int] = []
    stack = [tree.root_node] if tree.root_node.has_error else []
    while stack and len(rows) < most:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            rows.append(node.start_point[0] + 1)
            continue
        stack.extend(reversed([c for c in node.children if c.has_error]))
    return rows


def _syntax_warning(tree: Tree) -> str:
    lines = ", ".join(str(r) for r in sorted(set(_error_rows(tree, 10)))) or "unknown"
    return f"syntax errors at lines {lines} (tree-sitter recovered what it could)"
