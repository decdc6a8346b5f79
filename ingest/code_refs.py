"""The refs of a parsed code file: its calls (with the evidence for their receivers), its
imports and the bases of its classes. ``ingest.code_resolve`` turns them into edges.
"""

from __future__ import annotations

import re
from typing import Any

from tree_sitter import Node as TsNode

from ingest.code_source import SPACE, Def, Source, argument_count, closures_at, enclosing, first, squash
from ingest.types import Ref
from kg.model import EdgeKind, NodeKind, def_id

_HEAD = re.compile(r"[^.:]*")
_ARROW = re.compile(r"\??->|&\.")
_DOTTED = re.compile(r"[\w$]+(?:(?:\.|::)[\w$]+)*")
_RECEIVER = re.compile(r"(.+?)(?:\.|::)[^.:]+$")  # `self.client.send` → `self.client`


def local_types(src: Source, matches: list[dict[str, list[TsNode]]]) -> dict[tuple[str, str], str]:
    """``(scope, variable) → type as written``; a scope is a definition's qualname, ``@<start>``
    for an anonymous function, or "" for the file.

    A variable of the enclosing object (``self.client = Client()``, Ruby's ``@client``)
    belongs to the class, so every method sees it; the first evidence for a name in a scope
    wins.
    """
    types: dict[tuple[str, str], str] = {}
    by_node = {caps["local.name"][0].id: caps["local.type"][0] for caps in matches}
    fields = {caps["local.name"][0].id for caps in matches if "local.member" in caps}
    names = [caps["local.name"][0] for caps in matches]
    chains = closures_at(src, [n.start_byte for n in names]) if src.closures else {}
    for node, d in enclosing(src, names):
        name = _callee(src, node)
        written = squash(src.text(by_node[node.id]))
        owner = d
        member = _HEAD.match(name).group(0) in src.lang.self_names or (  # type: ignore[union-attr]
            bool(src.lang.member_prefix) and name.startswith(src.lang.member_prefix))
        if member:
            while owner is not None and not owner.is_class and not owner.is_scope:
                owner = owner.parent
            scope = owner.qualname if owner else ""
        else:
            scope = _scopes(d, chains.get(node.start_byte, ()))[0]
        if node.id in fields:  # a property, wherever declared (PHP's promoted `private Log $log`)
            while owner is not None and not owner.is_class:
                owner = owner.parent
            d = owner
        types.setdefault((scope, name), written)
        if owner is not None and owner is d and owner.is_class:  # a typed field: `self.x` in methods
            for self_name in src.lang.self_names:
                types.setdefault((owner.qualname, f"{self_name}.{name}"), written)
    return types


def _scopes(d: Def | None, closures: tuple[int, ...]) -> list[str]:
    """The scopes around a position, innermost first: anonymous functions and definitions
    interleaved by where they start, then the file ("")."""
    ranked = [(c, f"@{c}") for c in closures]
    while d is not None:
        ranked.append((d.start, d.qualname))
        d = d.parent
    return [key for _, key in sorted(ranked, reverse=True)] + [""]


def calls(src: Source, fid: str, matches: list[dict[str, list[TsNode]]],
           types: dict[tuple[str, str], str]) -> list[Ref]:
    """CALLS refs; a match may capture its callee in parts (Java's ``obj`` and ``m``): the
    callee is the source from the first part to the end of the last."""
    refs = []
    lang = src.lang.name
    ends, arities = {}, {}
    for caps in matches:
        parts = caps["name.reference.call"]
        ends[parts[0].id] = max(n.end_byte for n in parts)
        if "call.arguments" in caps:
            arities[parts[0].id] = argument_count(caps["call.arguments"][0])
    nodes = [caps["name.reference.call"][0] for caps in matches]
    chains = closures_at(src, [n.start_byte for n in nodes]) if src.closures else {}
    for node, d in enclosing(src, nodes):
        closures = chains.get(node.start_byte, ())
        while d is not None and d.is_scope:
            d = d.parent
        target = _callee(src, node, ends[node.id])
        if not target:  # a name tree-sitter recovered from bytes that are no name (Ruby `\x85)0`)
            continue
        props: dict[str, Any] = {"lang": lang}
        if closures:
            props["closures"] = list(closures)
        if node.id in arities:
            props["arity"] = arities[node.id]
        if "." in target or ":" in target:  # only `x.y` / `x::y` can be self calls
            head = _HEAD.match(target).group(0)  # type: ignore[union-attr]
            if head in src.lang.self_names or (head and head == _self_name(d)):
                props["self"] = True
            receiver = _RECEIVER.match(target)
            typed = _type_of(types, _scopes(d, closures), receiver.group(1)) if types and receiver else ""
            typed = typed or (_constructed(receiver.group(1)) if receiver else "")
            if typed:
                props["type"] = typed
        if d is None:
            refs.append(Ref(fid, NodeKind.FILE, EdgeKind.CALLS, target, node.start_point[0] + 1, props))
        else:
            kind = NodeKind.CLASS if d.is_class else NodeKind.FUNCTION
            refs.append(Ref(d.id, kind, EdgeKind.CALLS, target, node.start_point[0] + 1, props))
    return refs


def _type_of(types: dict[tuple[str, str], str], scopes: list[str], name: str) -> str:
    """The type evidence gives ``name`` in the innermost of ``scopes`` that has any ("" when none)."""
    return next((types[(scope, name)] for scope in scopes if (scope, name) in types), "")


def _constructed(receiver: str) -> str:
    """The class a receiver is built from, when it is a call: ``models.Base(1)`` → ``models.Base``."""
    if receiver.endswith(".new") and _DOTTED.fullmatch(receiver[:-4]):  # Ruby: `Foo.new.bar`
        return receiver[:-4]
    if not receiver.endswith(")"):
        return ""
    depth = 0
    for i in range(len(receiver) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(receiver[i], 0)
        if depth == 0:
            head = receiver[:i].removeprefix("new ").removesuffix(".new")  # Ruby: `Foo.new(1).bar`
            return head if _DOTTED.fullmatch(head) else ""
    return ""


def _callee(src: Source, node: TsNode, end: int | None = None) -> str:
    """A callee or variable as one line, with ``->``, ``?->`` and ``&.`` written as ``.``
    (``$this->save`` → ``$this.save``)."""
    text = src.text(node) if end is None else src.text(None, node.start_byte, end)
    return squash(_ARROW.sub(".", text))


def _self_name(d: Def | None) -> str:
    while d is not None:
        if d.self_name:
            return d.self_name
        d = d.parent
    return ""


def inherits(src: Source, matches: list[dict[str, list[TsNode]]]) -> list[Ref]:
    refs = []
    nodes = [caps["name.reference.inherits"][0] for caps in matches]
    for node, d in enclosing(src, nodes):
        if d is None or not (d.is_class or d.is_scope):
            continue
        props: dict[str, Any] = {"lang": src.lang.name}
        if d.is_scope:
            owner = src.by_qualname.get(d.qualname)
            sid = owner.id if owner is not None else def_id(src.root, src.path, d.qualname)
            props["class"] = d.qualname  # the class may be defined in another file
        else:
            sid = d.id
        refs.append(Ref(sid, NodeKind.CLASS, EdgeKind.INHERITS, SPACE.sub(" ", src.text(node)),
                        node.start_point[0] + 1, props))
    return refs


def inline_modules(src: Source, matches: list[dict[str, list[TsNode]]]) -> dict[int, int]:
    """Import statement start → how many inline modules it sits in (only when there are any)."""
    if not any(d.module for d in src.defs):
        return {}
    stmts = [first(caps, "reference.import") or caps["name.reference.import"][0] for caps in matches]
    out = {}
    for node, d in enclosing(src, stmts):
        depth = 0
        while d is not None:
            depth += d.module
            d = d.parent
        out[node.start_byte] = depth
    return out


def imports(src: Source, fid: str, matches: list[dict[str, list[TsNode]]], inline: dict[int, int]) -> list[Ref]:
    grouped: dict[tuple[int, str], dict[str, Any]] = {}
    for caps in matches:
        stmt = first(caps, "reference.import") or caps["name.reference.import"][0]
        module = src.text(caps["name.reference.import"][0]).strip().strip("\"'`<>")
        if "import.prefix" in caps:  # a path inside a nested use list, under its prefix
            module = f"{src.text(caps['import.prefix'][0]).strip()}{src.lang.path_separator}{module}"
        if not module:
            continue  # `import ""` names no module (Go would resolve it to the file's own package)
        entry = grouped.setdefault((stmt.start_byte, module), {
            "line": stmt.start_point[0] + 1, "names": [], "alias": {}, "include": False,
            "inline": inline.get(stmt.start_byte, 0)})
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
        if entry["inline"]:
            props["inline"] = entry["inline"]
        refs.append(Ref(fid, NodeKind.FILE, EdgeKind.IMPORTS, module, entry["line"], props))
    return refs
