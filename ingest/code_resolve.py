"""Cross-file resolution of the code graph: imports, inheritance and calls.

``resolve_code`` reads the refs that ``ingest.code.parse_code`` left in each ``ParsedFile``
and turns them into IMPORTS, INHERITS and CALLS edges. Indexes are built once (modules by
dotted name, files by path and by directory, definitions by qualified and by simple name),
so each ref costs a few dict look-ups.

How modules are found, per language family:

- Python: absolute modules by dotted path from the root and from the top of their package
  tree (so ``src/`` layouts work), relative modules from the importing package, and
  the importing file's own directory (scripts). ``from pkg import mod`` → the module's
  File; ``from mod import name`` → the definition.
- JavaScript/TypeScript: relative specifiers with every extension and ``index`` file,
  and ``compilerOptions.baseUrl``/``paths`` from ``tsconfig.json``/``jsconfig.json`` at the
  root.
- Go: import paths through the ``module`` line of the nearest ``go.mod``, else by the
  longest suffix that names a package directory. An import of a package gives one IMPORTS
  edge to each non-test File of its directory. External Go modules are named by their
  full import path (``module:github.com/pkg/errors``); other languages by top-level name.
- Rust: ``mod x;`` → ``x.rs`` or ``x/mod.rs``; ``use`` paths from ``crate::`` (the
  ``src`` beside the nearest ``Cargo.toml``), ``self::``, ``super::``, or the current module.
- Java, C#, PHP (declared packages) and C, C++, Ruby (file paths): ``ingest.code_declared``.

A call resolves only on evidence (scope, imports, ``self``, the receiver's type; see
``call``). One that cannot be resolved becomes a CALLS edge to an Unresolved node
(``unresolved:<root>/call:<target>``, ``resolved=False``), with its name-only candidates
when it has some; it is never dropped.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ingest import code_bindings as bindings
from ingest import code_declared as declared
from ingest import code_names as naming
from ingest import code_modules as modules
from ingest.code_modules import Binding, FileInfo, Index
from ingest.languages import LANGUAGES
from ingest.types import ParsedFile, Ref
from kg.model import Edge, EdgeKind, Node, NodeKind, content_hash, module_id, unresolved_id

log = logging.getLogger(__name__)

_DEF_KINDS = (NodeKind.CLASS, NodeKind.FUNCTION)
_MAX_BASE_DEPTH = 8
_MAX_CANDIDATES = 5  # name-only candidates kept on an unresolved call


@dataclass
class CodeResolution:
    """What resolving the code refs produced.

    Attributes:
        edges: IMPORTS, INHERITS and CALLS edges, one per ``(src, kind, dst)`` (``props["count"]``
            says how many refs it merges).
        nodes: ExternalModule and Unresolved nodes the edges point to.
        stats: counts per language (``python.calls``, ``python.calls_resolved``,
            ``go.imports_internal``...).
        warnings: things a user should know (unreadable config files...).
        read: the config files resolution read or looked for, as (root, path in the root).
        parts: the same per code file (by (root, path)): the edges whose source is in it, the
            nodes they point to and its counts; ``resolve_code(..., only=...)`` gives the
            parts of only those files.
        bases: each class's resolved bases, by id (what a method lookup walks).
    """

    edges: list[Edge] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    stats: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    read: list[tuple[str, str]] = field(default_factory=list)
    parts: dict[tuple[str, str], CodeResolution] = field(default_factory=dict)
    bases: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class _Target:
    """Where a name led: a definition, a file, or outside the root."""

    id: str = ""
    kind: NodeKind | None = None
    how: str = ""
    confidence: float = 1.0
    external: str = ""


class _Resolver:
    def __init__(self, index: Index) -> None:
        self.index = index
        self.result = CodeResolution()  # the part of the file whose refs are being resolved
        self.edges: dict[tuple[str, str, str], Edge] = {}
        self.nodes: dict[str, Node] = {}
        self.bases: dict[str, list[str]] = {}
        self.keys: dict[tuple[str, str], str] = {}
        self._edges_of: dict[int, dict[tuple[str, str, str], Edge]] = {}
        self._nodes_of: dict[int, dict[str, Node]] = {}

    def into(self, part: CodeResolution) -> None:
        """Send what follows to the part of one file (its edges, its nodes, its counts)."""
        if part is self.result:
            return
        self.result = part
        self.edges = self._edges_of.setdefault(id(part), {})
        self.nodes = self._nodes_of.setdefault(id(part), {})

    def close(self, part: CodeResolution) -> None:
        """Put what was sent to a part into it."""
        part.edges = list(self._edges_of.get(id(part), {}).values())
        part.nodes = list(self._nodes_of.get(id(part), {}).values())

    # -- output ---------------------------------------------------------------------------

    def edge(self, ref: Ref, src: str, src_kind: NodeKind, kind: EdgeKind, dst: str, dst_kind: NodeKind,
             how: str, resolved: bool = True, confidence: float = 1.0) -> None:
        key = (src, kind.value, dst)
        old = self.edges.get(key)
        if old is not None:
            old.props["count"] = old.props.get("count", 1) + 1
            return
        self.edges[key] = Edge(src=src, kind=kind, dst=dst, src_kind=src_kind, dst_kind=dst_kind, how=how,
                               resolved=resolved, confidence=confidence, line=ref.line)

    def external(self, name: str, lang: str) -> str:
        nid = module_id(name)
        if nid not in self.nodes:
            self.nodes[nid] = Node(id=nid, kind=NodeKind.EXTERNAL_MODULE, name=name, lang=lang,
                                   text=name, hash=content_hash(nid))
        return nid

    def unresolved(self, root: str, what: str, name: str, lang: str) -> str:
        nid = unresolved_id(root, f"{what}:{name}")
        if nid not in self.nodes:
            self.nodes[nid] = Node(id=nid, kind=NodeKind.UNRESOLVED, name=name, root=root, text=name,
                                   lang=lang, props={"ref": what}, hash=content_hash(nid))
        return nid

    def count(self, lang: str, what: str) -> None:
        key = self.keys.get((lang, what))
        if key is None:
            key = self.keys[(lang, what)] = f"{lang}.{what}"
        self.result.stats[key] += 1

    # -- imports --------------------------------------------------------------------------

    def imports(self, f: FileInfo, ref: Ref) -> None:
        """Resolve one import: bind its names in ``f`` and draw its IMPORTS edges.

        The rule: each imported name is an edge to the definition it names; a name that is not a
        definition there (a module, a variable, a re-export), and an import of a whole module,
        is an edge to the module's file (to each file of a Go package or a Java package); an
        import from outside the roots is an edge to its ExternalModule.
        """
        self.count(f.lang, "imports")
        data_driven = bool(LANGUAGES[f.lang].modules) if f.lang in LANGUAGES else False
        found = declared.find(self.index, f, ref) if data_driven else modules.find_module(self.index, f, ref)
        bound = naming.bound_names(ref)
        if found.external:
            self.count(f.lang, "imports_external")
            dst = self.external(found.external, f.lang)
            self.edge(ref, f.id, NodeKind.FILE, EdgeKind.IMPORTS, dst, NodeKind.EXTERNAL_MODULE, "external")
            for local in bound.values():
                f.bindings.setdefault(local, Binding("ext", external=found.external))
            return
        if not found.files:
            self.count(f.lang, "imports_unresolved")
            return
        self.count(f.lang, "imports_internal")
        if data_driven:
            names_bound, targets = declared.bind(f, ref, found)
            f.bindings.update(names_bound)
        else:
            targets = self.bind_found(f, ref, found, bound)
        for dst, kind in targets:
            if dst != f.id:  # a file's own names need no edge
                self.edge(ref, f.id, NodeKind.FILE, EdgeKind.IMPORTS, dst, kind, "import")

    def bind_found(self, f: FileInfo, ref: Ref, found: modules.Found, bound: dict[str, str]) -> list[tuple[str, NodeKind]]:
        """Bind the names of an import that a language's own finder resolved; where its edges go."""
        names = ref.props.get("names", [])
        if "*" in names or ref.props.get("alias", {}).get(ref.target) == ".":
            f.stars += found.files
        targets: list[tuple[str, NodeKind]] = []
        for name in names:
            if name == "*" or name not in bound:
                continue
            binding, dst = bindings.bind_name(self.index, found, name, bound[name])
            f.bindings[bound[name]] = binding
            if dst is not None:
                targets.append(dst)
        if ref.target in bound:
            f.bindings[bound[ref.target]] = self.module_binding(f, ref, found)
        item = found.files[0].defs.get(found.item) if found.item and found.files else None
        if item is not None and not targets:
            targets.append(item)  # `use self::Kind::*`: the enum it names
        elif len(targets) < len([n for n in names if n != "*"]) or not targets:
            targets += [(t.id, NodeKind.FILE) for t in found.files]
        return targets

    def module_binding(self, f: FileInfo, ref: Ref, found: modules.Found) -> Binding:
        """What the module name an import binds stands for (``import a.b`` binds ``a``)."""
        if f.family == "python" and ref.target not in ref.props.get("alias", {}) and "." in ref.target:
            return Binding("pymod", [f], name=ref.target.split(".")[0])
        return found.binding

    # -- names ----------------------------------------------------------------------------

    def lookup(self, f: FileInfo, scope: str, name: str, closures: Sequence[int] = ()) -> _Target | Binding | None:
        """What a bare name means inside ``scope`` (a qualname) of file ``f``, from inside the
        anonymous functions that start at ``closures`` (innermost first)."""
        for closure in closures:
            for start, ref in f.hidden.get(name, ()):
                if start == closure:
                    return _Target(ref[0], ref[1], "local")
        found = self.in_scopes(f, scope, name)
        if found is not None:
            return found
        hit = f.defs.get(name)
        if hit is not None:
            return _Target(hit[0], hit[1], "local")
        if _members_in_scope(f) and "." in scope:
            found = self.enclosing_in_scope(f, scope, name)
            if found is not None:
                return found
        if name in f.bindings:
            return f.bindings[name]
        hit = self.index.package_table(f).get(name)
        if hit is not None:
            return _Target(hit[0], hit[1], "package")
        hit = self.index.star_table(f).get(name)
        return _Target(hit[0], hit[1], "import") if hit is not None else None

    def in_scopes(self, f: FileInfo, scope: str, name: str) -> _Target | None:
        """``name`` in the definitions around ``scope``, innermost first: a function's locals; in
        Java, C#, C++ and Ruby a class's members, its bases' included (an implicit ``self``),
        and, where the language says so, those of the classes around it, else only their nested
        types. A class's own name means the class, not its constructor."""
        members = _members_in_scope(f)
        outer = members and LANGUAGES[f.lang].outer_members
        prefix, inner_class = scope, True
        while prefix:
            own = f.defs.get(prefix)
            hit = f.defs.get(f"{prefix}.{name}")
            if own is not None and own[1] is NodeKind.FUNCTION:
                if hit is not None:
                    return _Target(hit[0], hit[1], "local")
            elif own is not None and members and name != prefix.rpartition(".")[2]:
                if inner_class or outer:
                    found = self.method(own[0], name, "self")
                    if found is not None:
                        return found if found.kind is NodeKind.FUNCTION else _Target(found.id, found.kind, "local")
                elif hit is not None and hit[1] is NodeKind.CLASS:
                    return _Target(hit[0], hit[1], "local")
                inner_class = False
            prefix = prefix.rpartition(".")[0]
        if members and (inner_class or outer):  # a method defined apart from its class (C++ `void A::f()`)
            cls = self.index.class_of(f, scope)
            if cls is not None and f.defs.get(self.index.defs_by_id[cls][1]) is None \
                    and name != self.index.defs_by_id[cls][1].rpartition(".")[2]:
                return self.method(cls, name, "self")
        return None

    def enclosing_in_scope(self, f: FileInfo, scope: str, name: str) -> _Target | None:
        """``name`` defined in a class or module around ``scope`` in a file that ``f`` sees
        (Ruby's ``Base`` inside ``module Shop`` is ``Shop::Base`` from a required file)."""
        tables = (self.index.package_table(f), self.index.star_table(f))
        prefix = scope.rpartition(".")[0]
        while prefix and name != prefix.rpartition(".")[2]:  # a class's own name is the class, not its constructor
            for table in tables:
                hit = table.get(f"{prefix}.{name}")
                if hit is not None:
                    return _Target(hit[0], hit[1], "import")
            prefix = prefix.rpartition(".")[0]
        return None

    def member(self, base: _Target | Binding, parts: list[str], how: str) -> _Target | None:
        """Resolve ``parts`` inside what a head name resolved to."""
        if isinstance(base, Binding):
            if base.kind == "ext":
                return _Target(how="external", external=base.external)
            target = bindings.resolve_binding(self.index, base, parts)
            if target is None:
                return None
            node_id, kind, rest = target
            if not rest:
                return _Target(node_id, kind, "import")
            return self.member(_Target(node_id, kind, "import"), rest, "import") if kind is NodeKind.CLASS else None
        if base.kind is not NodeKind.CLASS or not parts:
            return None
        if len(parts) == 1:
            return self.method(base.id, parts[0], base.how)
        nested = self.nested(base.id, parts[0])  # `Shop::Util.log`, `Outer.Inner.make()`
        return self.member(_Target(nested[0], nested[1], base.how), parts[1:], how) if nested else None

    def nested(self, class_id: str, name: str) -> tuple[str, NodeKind] | None:
        """The class ``name`` defined inside a class or module (in any file, for languages that
        reopen modules)."""
        info = self.index.defs_by_id.get(class_id)
        if info is None:
            return None
        home, qual = info[0], info[1]
        hits = [h for h in self.index.quals.get((home.root, home.family), {}).get(f"{qual}.{name}", [])
                if h[1] is NodeKind.CLASS]
        return hits[0] if len(hits) == 1 else None

    def method(self, class_id: str, name: str, how: str) -> _Target | None:
        """A method of a class or of its (resolved) base classes, breadth first."""
        seen: set[str] = set()
        queue = [class_id]
        while queue and len(seen) < 64:
            cid = queue.pop(0)
            if cid in seen:
                continue
            seen.add(cid)
            hit = self.index.method_of(cid, name)
            if hit is not None:
                return _Target(hit[0], hit[1], how)
            queue += self.bases.get(cid, [])
        return None

    def resolve(self, f: FileInfo, scope: str, target: str, is_self: bool,
                closures: Sequence[int] = ()) -> _Target | None:
        parts = naming.split_target(target)
        if not parts:
            return None
        if target.startswith(("::", ".")):  # Ruby's `::Logger`: from the top, past every scope around
            scope, closures = "", ()
        is_super = f.lang in LANGUAGES and parts[0] in LANGUAGES[f.lang].super_names
        if is_self or is_super:
            cls = self.index.class_of(f, scope)
            if cls is None or len(parts) != 2:
                return None
            if is_super:
                for base in self.bases.get(cls, []):
                    found = self.method(base, parts[1], "self")
                    if found is not None:
                        return found
                return None
            return self.method(cls, parts[1], "self")
        if any(not naming.is_name(p) for p in parts):
            return None
        head = self.lookup(f, scope, parts[0], closures)
        if head is None:
            return None
        if len(parts) == 1:
            if isinstance(head, Binding):
                return self.member(head, [], "import")
            return head
        return self.member(head, parts[1:], head.how if isinstance(head, _Target) else "import")

    # -- inheritance and calls ------------------------------------------------------------

    def inherits(self, ref: Ref) -> None:
        src = self.index.defs_by_id.get(ref.src)
        if src is None and "class" in ref.props:
            src = self.index.find_class(ref.src, ref.props["class"])
        if src is None:
            self.count(ref.props.get("lang", "?"), "inherits_unplaced")
            return
        f, scope, _ = src
        self.count(f.lang, "inherits")
        name = naming.base_name(ref.target)
        found = self.resolve(f, scope.rpartition(".")[0], name, False)
        if found is not None and found.kind is NodeKind.CLASS:
            self.count(f.lang, "inherits_resolved")
            self.bases.setdefault(src[2], []).append(found.id)
            self.edge(ref, src[2], NodeKind.CLASS, EdgeKind.INHERITS, found.id, NodeKind.CLASS, found.how,
                      confidence=found.confidence)
        elif found is not None and found.external:
            dst = self.external(found.external, f.lang)
            self.edge(ref, src[2], NodeKind.CLASS, EdgeKind.INHERITS, dst, NodeKind.EXTERNAL_MODULE, "external",
                      resolved=False)
        else:
            dst = self.unresolved(f.root, "class", name, f.lang)
            self.edge(ref, src[2], NodeKind.CLASS, EdgeKind.INHERITS, dst, NodeKind.UNRESOLVED, "", resolved=False)

    def typed(self, f: FileInfo, scope: str, ref: Ref) -> _Target | None:
        """``x.m()`` where evidence in the source gives ``x`` a type: that class's method ``m``."""
        cls = self.resolve(f, scope, naming.type_name(ref.props["type"]), False, ref.props.get("closures", ()))
        if cls is None or cls.kind is not NodeKind.CLASS:
            return None
        return self.method(cls.id, naming.split_target(ref.target)[-1], "type")

    def overload(self, found: _Target, ref: Ref) -> _Target | None:
        """The overload of ``found``'s name that takes as many arguments as the call passes.

        None when no overload does (the call means something else: a C# extension method).
        When several do, types would tell; without them, a call from one overload to its own
        name is taken to delegate to another (``Find(name.Name)`` in ``Find(AssemblyName)``),
        and the edge says how sure it is: confidence 1/the overloads that fit.
        """
        if "arity" not in ref.props:
            return found
        info = self.index.defs_by_id.get(found.id)
        group = (info[0].overloads.get(info[1]) if info else None) or [(found.id, found.kind)]
        passed = int(ref.props["arity"])
        fits = [g for g in group if _accepts(self.index.arity.get(g[0]), passed)]
        if not fits:
            return None
        if len(fits) == 1:
            return _Target(fits[0][0], fits[0][1], found.how, found.confidence)
        others = [g for g in fits if g[0] != ref.src] or fits
        return _Target(others[0][0], others[0][1], found.how, found.confidence / len(fits))

    def call(self, ref: Ref) -> None:
        """A call resolves only on evidence: scope, an import, the receiver or its type.

        A name that only matches definitions elsewhere in the root stays unresolved, with
        those candidates on the edge (``how = "name-only"``), unless the language links
        functions by name (C).
        """
        info = self.index.defs_by_id.get(ref.src)
        f, scope = (info[0], info[1]) if info else (self.index.files_by_id[ref.src], "")
        self.count(f.lang, "calls")
        is_self, typed = bool(ref.props.get("self")), "type" in ref.props
        found = None
        if is_self or not typed:
            found = self.resolve(f, scope, ref.target, is_self, ref.props.get("closures", ()))
        if found is None and typed:  # a variable: only its type says what it is (`order.save()`)
            found = self.typed(f, scope, ref)
        hits: list[tuple[str, NodeKind]] = []
        if found is None or (found.kind is None and not found.external):
            hits = self.index.candidates(f, ref.target)
            linked = self.index.linked(f, hits) if self.index.links_by_name(f, ref.target) else []
            if len(linked) == 1:
                found = _Target(linked[0][0], linked[0][1], "linkage")
        if found is not None and found.kind is NodeKind.FUNCTION:
            found = self.overload(found, ref)
        if found is not None and found.kind in _DEF_KINDS:
            self.count(f.lang, "calls_resolved")
            self.edge(ref, ref.src, ref.src_kind, EdgeKind.CALLS, found.id, found.kind, found.how,
                      confidence=found.confidence)
            return
        dst = self.unresolved(f.root, "call", ref.target, f.lang)
        how = "external" if found is not None and found.external else "name-only" if hits else ""
        self.edge(ref, ref.src, ref.src_kind, EdgeKind.CALLS, dst, NodeKind.UNRESOLVED, how, resolved=False,
                  confidence=0.5 / len(hits) if hits else 0.0)  # a guess: at best even odds
        if hits:
            self.edges[(ref.src, EdgeKind.CALLS.value, dst)].props["candidates"] = [h[0] for h in hits[:_MAX_CANDIDATES]]


def _accepts(arity: tuple[int, int] | None, passed: int) -> bool:
    if arity is None:
        return True
    fewest, most = arity
    return passed >= fewest and (most < 0 or passed <= most)


def _members_in_scope(f: FileInfo) -> bool:
    spec = LANGUAGES.get(f.lang)
    return spec is not None and spec.members_in_scope


def resolve_code(parsed: Iterable[ParsedFile], root_dirs: dict[str, Path],
                 only: Collection[tuple[str, str]] | None = None) -> CodeResolution:
    """Resolve the IMPORTS, INHERITS and CALLS refs of parsed code files.

    Args:
        parsed: the parsed code files of every root (other kinds are ignored).
        root_dirs: each root's folder, to read ``go.mod``, ``Cargo.toml`` and ``tsconfig.json``.
        only: resolve the refs of these files (by (root, path)) only; every file still counts
            for what names mean, and every class's bases are resolved. None: all of them.

    Returns:
        The edges, the ExternalModule and Unresolved nodes they need, per-language
        counts and warnings, in all and per file.
    """
    run = CodeResolver(parsed, root_dirs)
    run.inherit()
    return run.resolve(only)


class CodeResolver:
    """One resolution over a set of code files, in two steps: every file's imports and every
    class's bases first (``inherit``: what the bases are tells which files a change reaches),
    then the calls of the files asked for (``resolve``)."""

    def __init__(self, parsed: Iterable[ParsedFile], root_dirs: dict[str, Path]) -> None:
        self.files = [pf for pf in parsed if pf.kind == "code"]
        self.index = Index.build(self.files, root_dirs)
        self.resolver = _Resolver(self.index)
        self.by_kind: dict[EdgeKind, list[tuple[ParsedFile, Ref]]] = {k: [] for k in EdgeKind}
        for pf in self.files:
            for ref in pf.refs:
                self.by_kind[ref.kind].append((pf, ref))
        self._early: dict[tuple[str, str], CodeResolution] = {}  # each file's IMPORTS and INHERITS

    def inherit(self) -> dict[str, list[str]]:
        """Resolve every import (its names are bound in its file) and every class's bases;
        each class's base ids."""
        for kind, step in ((EdgeKind.IMPORTS, self._import), (EdgeKind.INHERITS, self._inherit)):
            for pf, ref in self.by_kind[kind]:
                self.resolver.into(self._early.setdefault((pf.root, pf.path), CodeResolution()))
                step(pf, ref)
        return self.resolver.bases

    def early_edges(self) -> dict[tuple[str, str], list[Edge]]:
        """Each file's IMPORTS and INHERITS edges, as ``inherit`` drew them."""
        return {key: list(self.resolver._edges_of.get(id(part), {}).values()) for key, part in self._early.items()}

    def _import(self, pf: ParsedFile, ref: Ref) -> None:
        self.resolver.imports(self.index.files[(pf.root, pf.path)], ref)

    def _inherit(self, pf: ParsedFile, ref: Ref) -> None:
        self.resolver.inherits(ref)

    def resolve(self, only: Collection[tuple[str, str]] | None = None) -> CodeResolution:
        """Resolve the refs of ``only`` (None: every file), after ``inherit``."""
        wanted = {(pf.root, pf.path) for pf in self.files} if only is None else set(only)
        parts = {key: self._early.get(key) or CodeResolution() for key in sorted(wanted) if key in self.index.files}
        resolver, index = self.resolver, self.index
        for pf, ref in self.by_kind[EdgeKind.CALLS]:
            if (pf.root, pf.path) in parts:
                resolver.into(parts[(pf.root, pf.path)])
                resolver.call(ref)
        for part in parts.values():
            resolver.close(part)
        result = merge_code(parts.values())
        result.parts, result.bases = parts, resolver.bases
        result.warnings += index.warnings
        result.read = sorted((key[1], key[2]) for key in index.cache if key[0] == "file")  # type: ignore[misc]
        log.info("resolved code refs: %s", dict(result.stats))
        return result


def merge_code(parts: Iterable[CodeResolution]) -> CodeResolution:
    """Files' parts as one resolution (a node several parts point to: the first part's, in the
    order given)."""
    out = CodeResolution()
    nodes: dict[str, Node] = {}
    for part in parts:
        out.edges += part.edges
        for node in part.nodes:
            nodes.setdefault(node.id, node)
        out.stats.update(part.stats)
    out.nodes = list(nodes.values())
    return out
