"""What a name bound by an import means: a def, a file, a module, or an external module.

Split from ``ingest.code_modules`` (the indexes and module finders), which it builds on.
"""

from __future__ import annotations

from ingest.code_modules import MAX_DEPTH, Binding, DefRef, Found, Index, submodule
from kg.model import NodeKind


def bind_name(index: Index, found: Found, name: str, alias: str) -> tuple[Binding, DefRef | None]:
    """What ``from <found> import name`` binds, and the node its IMPORTS edge should reach."""
    f = found.files[0]
    qual = f"{found.item}.{name}" if found.item else name
    if name == "default":
        qual = alias
    if name == "self":
        return Binding("file", [f]), None
    hit = f.defs.get(qual)
    if hit is not None:
        return Binding("def", [f], qualname=qual), hit
    sub = submodule(index, f, name)
    if sub is not None:
        return Binding("file", [sub]), (sub.id, NodeKind.FILE)
    return Binding("reexport", [f], name=name), None


def resolve_binding(index: Index, b: Binding, parts: list[str], depth: int = 0) -> tuple[str, NodeKind, list[str]] | None:
    """Follow a binding and the attribute ``parts`` after it to a definition.

    Returns:
        ``(node id, kind, parts left over)``, or None when it leads nowhere known.
    """
    if depth > MAX_DEPTH or b.kind == "ext":
        return None
    if b.kind == "def":
        f = b.files[0]
        longer = f.defs.get(".".join([b.qualname, *parts])) if parts else None
        if longer is not None:
            return longer[0], longer[1], []
        hit = f.defs.get(b.qualname)
        return (hit[0], hit[1], parts) if hit else None
    if b.kind == "reexport":
        f = b.files[0]
        if b.name in f.defs:
            return resolve_binding(index, Binding("def", [f], qualname=b.name), parts, depth + 1)
        inner = f.bindings.get(b.name)
        return resolve_binding(index, inner, parts, depth + 1) if inner else None
    if b.kind == "pymod":
        return _resolve_pymod(index, b, parts, depth)
    if not parts:
        return None
    for f in b.files:
        hit = f.defs.get(".".join(parts)) or f.defs.get(parts[0])
        if hit is not None:
            return (hit[0], hit[1], []) if ".".join(parts) in f.defs else (hit[0], hit[1], parts[1:])
    for f in b.files:
        sub = submodule(index, f, parts[0])
        inner = Binding("file", [sub]) if sub else f.bindings.get(parts[0])
        if inner is not None:
            return resolve_binding(index, inner, parts[1:], depth + 1)
    return None


def _resolve_pymod(index: Index, b: Binding, parts: list[str], depth: int) -> tuple[str, NodeKind, list[str]] | None:
    modules = index.py_modules.get(b.files[0].root if b.files else "", {})
    dotted = [b.name, *parts]
    for i in range(len(dotted), 0, -1):
        hit = modules.get(".".join(dotted[:i]))
        if hit is not None:
            return resolve_binding(index, Binding("file", [hit]), dotted[i:], depth + 1)
    return None
