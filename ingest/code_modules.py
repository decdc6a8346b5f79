"""The indexes of code resolution, and how each language family finds the module it imports
(``ingest.code_bindings`` follows what an imported name means).

``ingest.code_resolve`` walks the refs; this module answers its questions: which files an
import names (``find_module``), what a name bound by an import means (``Binding``), which
class a method belongs to, which methods a class has. Everything is a dict look-up on
indexes built once by ``Index.build``.
"""

from __future__ import annotations

import json
import logging
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from ingest.code_names import is_name, split_target
from ingest.languages import LANGUAGES
from ingest.types import ParsedFile, Ref
from kg.model import NodeKind

log = logging.getLogger(__name__)

JS_EXTENSIONS = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs")
_GO_MODULE = re.compile(rb"^\s*module\s+(\S+)", re.M)
_JSON_COMMENT = re.compile(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', re.S)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")
MAX_DEPTH = 4  # how many re-exports a binding is followed through
DefRef = tuple[str, NodeKind]  # (node id, Class or Function)


@dataclass(eq=False)
class FileInfo:
    """One parsed code file as resolution sees it."""

    root: str
    path: str
    lang: str
    family: str
    id: str
    dir: str
    defs: dict[str, DefRef] = field(default_factory=dict)  # qualname → first def
    bindings: dict[str, Binding] = field(default_factory=dict)  # name bound by an import
    stars: list[FileInfo] = field(default_factory=list)  # files imported with `*`
    packages: list[str] = field(default_factory=list)  # declared packages, dotted (Java, C#, PHP)
    hidden: dict[str, list[tuple[int, DefRef]]] = field(default_factory=dict)  # name → defs in closures
    overloads: dict[str, list[DefRef]] = field(default_factory=dict)  # qualname → its defs, when several


@dataclass
class Binding:
    """What a name bound by an import stands for.

    ``kind`` is ``file`` (a module), ``pkg`` (a Go package: several files), ``def`` (a
    definition ``qualname`` of ``files[0]``), ``reexport`` (name ``name`` of ``files[0]``,
    which may itself import it), ``pymod`` (a Python package prefix ``name``, as bound by
    ``import a.b``) or ``ext`` (outside the roots: ``external``).
    """

    kind: str
    files: list[FileInfo] = field(default_factory=list)
    qualname: str = ""
    name: str = ""
    external: str = ""


@dataclass
class Found:
    """The answer of ``find_module``: internal files, or an external module name."""

    files: list[FileInfo] = field(default_factory=list)
    external: str = ""
    item: str = ""  # Rust: the item path left after the last module file (``a::Item``)

    @property
    def binding(self) -> Binding:
        return Binding("pkg" if len(self.files) > 1 else "file", self.files)


@dataclass
class Index:
    """Dict indexes over every parsed code file, built once."""

    root_dirs: dict[str, Path]
    files: dict[tuple[str, str], FileInfo] = field(default_factory=dict)
    files_by_id: dict[str, FileInfo] = field(default_factory=dict)
    defs_by_id: dict[str, tuple[FileInfo, str, str]] = field(default_factory=dict)
    by_dir: dict[tuple[str, str, str], list[FileInfo]] = field(default_factory=dict)
    py_modules: dict[str, dict[str, FileInfo]] = field(default_factory=dict)
    simple: dict[tuple[str, str], dict[str, list[DefRef]]] = field(default_factory=dict)
    methods: dict[tuple[str, str], dict[str, list[DefRef]]] = field(default_factory=dict)
    quals: dict[tuple[str, str], dict[str, list[DefRef]]] = field(default_factory=dict)
    packages: dict[tuple[str, str, str], list[FileInfo]] = field(default_factory=dict)
    by_name: dict[tuple[str, str, str], list[FileInfo]] = field(default_factory=dict)  # file name → files
    file_local: set[str] = field(default_factory=set)  # C/C++ `static` definitions
    arity: dict[str, tuple[int, int]] = field(default_factory=dict)  # def id → (fewest, most) arguments
    tsconfig: dict[str, tuple[str, list[tuple[str, list[str]]]] | None] = field(default_factory=dict)
    cache: dict[tuple[str, ...], object] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, parsed: list[ParsedFile], root_dirs: dict[str, Path]) -> Index:
        """Index the files, definitions and Python modules of ``parsed``."""
        index = cls(root_dirs=dict(root_dirs))
        for pf in parsed:
            index._add(pf)
        index._index_python()
        return index

    def _add(self, pf: ParsedFile) -> None:
        spec = LANGUAGES.get(pf.lang)
        family = spec.family if spec else pf.lang
        file_node = next((n for n in pf.nodes if n.kind is NodeKind.FILE), None)
        fid = file_node.id if file_node else f"file:{pf.root}/{pf.path}"
        f = FileInfo(pf.root, pf.path, pf.lang, family, fid, posixpath.dirname(pf.path))
        self.files[(pf.root, pf.path)] = f
        self.files_by_id[fid] = f
        self.by_dir.setdefault((pf.root, family, f.dir), []).append(f)
        self.by_name.setdefault((pf.root, family, posixpath.basename(pf.path)), []).append(f)
        separator = spec.module_separator if spec else "."
        for package in file_node.props.get("packages", []) if file_node else []:
            dotted = package.replace(separator, ".").strip(".")
            f.packages.append(dotted)
            self.packages.setdefault((pf.root, family, dotted), []).append(f)
        key = (pf.root, family)
        simple, methods, quals = (self.simple.setdefault(key, {}), self.methods.setdefault(key, {}),
                                  self.quals.setdefault(key, {}))
        for node in pf.nodes:
            if node.kind not in (NodeKind.CLASS, NodeKind.FUNCTION):
                continue
            ref = (node.id, node.kind)
            if node.props.get("file_local"):
                self.file_local.add(node.id)
            if "arity" in node.props:
                self.arity[node.id] = tuple(node.props["arity"])  # type: ignore[assignment]
            if node.qualname in f.defs:
                f.overloads.setdefault(node.qualname, [f.defs[node.qualname]]).append(ref)
            closure = node.props.get("closure")
            if closure is None:
                f.defs.setdefault(node.qualname, ref)
            else:  # seen only from inside its anonymous function
                f.hidden.setdefault(node.name, []).append((closure, ref))
            self.defs_by_id[node.id] = (f, node.qualname, node.id)
            quals.setdefault(node.qualname, []).append(ref)
            if "." not in node.qualname:
                simple.setdefault(node.name, []).append(ref)
            elif node.props.get("type") == "method":
                methods.setdefault(node.name, []).append(ref)

    def _index_python(self) -> None:
        packages = {(f.root, f.dir) for f in self.files.values()
                    if f.family == "python" and posixpath.basename(f.path).startswith("__init__.")}
        for f in self.files.values():
            if f.family != "python":
                continue
            modules = self.py_modules.setdefault(f.root, {})
            parts = f.path.rsplit(".", 1)[0].split("/")
            if parts[-1] == "__init__":
                parts.pop()
            if parts:
                modules.setdefault(".".join(parts), f)
            top = len(f.dir.split("/")) if f.dir else 0
            while top > 0 and (f.root, "/".join(parts[:top])) in packages:
                top -= 1  # walk up while the folder is a package: its parent is a source root
            if 0 < top < len(parts) and (f.root, "/".join(parts[:top + 1])) in packages:
                modules.setdefault(".".join(parts[top:]), f)

    # -- look-ups --------------------------------------------------------------------------

    def path(self, root: str, path: str) -> FileInfo | None:
        return self.files.get((root, path))

    def package_table(self, f: FileInfo) -> dict[str, DefRef]:
        """Qualified name → definition, over the files of f's package, whose names f sees
        without an import: the same folder in Go, the same declared package or namespace in
        Java, C# and PHP; empty elsewhere. Merged once per package."""
        if f.family == "go":
            return self._merged(("dir", f.root, f.family, f.dir), self.by_dir.get((f.root, f.family, f.dir), []))
        if not f.packages:
            return {}
        if len(f.packages) == 1:
            p = f.packages[0]
            return self._merged(("pkg", f.root, f.family, p), self.packages.get((f.root, f.family, p), []))
        return self._merged(("pkgs", f.id), [o for p in f.packages for o in self.packages.get((f.root, f.family, p), [])])

    def _dir_table(self, f: FileInfo) -> dict[str, DefRef]:
        return self._merged(("dir", f.root, f.family, f.dir), self.by_dir.get((f.root, f.family, f.dir), []))

    def star_table(self, f: FileInfo) -> dict[str, DefRef]:
        """Qualified name → definition, over the files f brings in whole (``import *``,
        ``#include``, ``require``): merged on first use, once every import is bound."""
        return self._merged(("star", f.id), f.stars)

    def _merged(self, key: tuple[str, ...], files: list[FileInfo]) -> dict[str, DefRef]:
        table = self.cache.get(key)
        if table is None:
            merged: dict[str, DefRef] = {}
            for other in files:
                for qual, ref in other.defs.items():
                    merged.setdefault(qual, ref)
            table = self.cache[key] = merged
        return table  # type: ignore[return-value]

    def class_of(self, f: FileInfo, scope: str) -> str | None:
        """The id of the class whose method ``scope`` (a qualname in ``f``) is in."""
        prefix = scope
        while prefix:
            hit = f.defs.get(prefix)
            if hit is None:
                found = self._class_elsewhere(f, prefix)
                if found is not None:
                    return found
            elif hit[1] is NodeKind.CLASS:
                return hit[0]
            prefix = prefix.rpartition(".")[0]
        return None

    def _class_elsewhere(self, f: FileInfo, qualname: str) -> str | None:
        # Go methods and Rust impls may sit in another file than their type.
        hit = self._dir_table(f).get(qualname)
        if hit is not None and hit[1] is NodeKind.CLASS:
            return hit[0]
        hits = [h for h in self.quals.get((f.root, f.family), {}).get(qualname, []) if h[1] is NodeKind.CLASS]
        return hits[0][0] if len(hits) == 1 else None

    def find_class(self, src_id: str, qualname: str) -> tuple[FileInfo, str, str] | None:
        """Place a class named by an ``impl Trait for Type`` whose Type is in another file."""
        f = self.files_by_id.get("file:" + src_id.split("::", 1)[0].removeprefix("def:"))
        if f is None:
            return None
        cid = self._class_elsewhere(f, qualname)
        return self.defs_by_id.get(cid) if cid else None

    def method_of(self, class_id: str, name: str) -> DefRef | None:
        """A method ``name`` defined on a class: in its file, its folder, or unique in its root."""
        info = self.defs_by_id.get(class_id)
        if info is None:
            return None
        f, qual, _ = info
        wanted = f"{qual}.{name}"
        hit = f.defs.get(wanted)
        if hit is not None or f.family == "python" or f.family == "javascript":
            return hit
        hit = self._dir_table(f).get(wanted)
        if hit is not None:
            return hit
        hits = self.quals.get((f.root, f.family), {}).get(wanted, [])
        if len(hits) != 1:
            return None
        home = self.defs_by_id[hits[0][0]][0]
        namesake = home.defs.get(qual)
        return hits[0] if namesake is None or namesake[0] == class_id else None  # not another type's method

    def candidates(self, f: FileInfo, target: str) -> list[DefRef]:
        """The definitions in the root a called name could mean by its name alone: top-level
        ones for ``f()``, methods for ``x.f()``."""
        parts = split_target(target)
        if not parts or not is_name(parts[-1]):
            return []
        table = self.simple if len(parts) == 1 else self.methods
        return table.get((f.root, f.family), {}).get(parts[-1], [])

    def linked(self, f: FileInfo, hits: list[DefRef]) -> list[DefRef]:
        """The candidates a bare call can reach by linkage: functions of a language that links
        by name (C, not C++'s mangled ones), not another file's ``static`` ones."""
        out = []
        for h in hits:
            home = self.defs_by_id[h[0]][0]
            spec = LANGUAGES.get(home.lang)
            if spec is not None and spec.global_functions and (h[0] not in self.file_local or home is f):
                out.append(h)
        return out

    def links_by_name(self, f: FileInfo, target: str) -> bool:
        """Whether a bare call ``f()`` means the program's one function of that name (C linkage)."""
        spec = LANGUAGES.get(f.lang)
        return spec is not None and spec.global_functions and "." not in target and ":" not in target

    def cached_file(self, root: str, rel: str) -> bytes | None:
        """A small config file of a root (go.mod, Cargo.toml...), read once."""
        key = ("file", root, rel)
        if key not in self.cache:
            directory = self.root_dirs.get(root)
            data = None
            if directory is not None:
                try:
                    data = (Path(directory) / rel).read_bytes()
                except OSError:
                    data = None
            self.cache[key] = data
        return self.cache[key]  # type: ignore[return-value]


# -- finding modules -------------------------------------------------------------------------

def find_module(index: Index, f: FileInfo, ref: Ref) -> Found:
    """The files (or external module) an IMPORTS ref names."""
    finder = {"python": _find_python, "javascript": _find_js, "go": _find_go, "rust": _find_rust}.get(f.family)
    return finder(index, f, ref) if finder else Found(external=ref.target)


def _py_file(index: Index, root: str, parts: list[str]) -> FileInfo | None:
    base = "/".join(parts)
    for path in (f"{base}.py", f"{base}/__init__.py", f"{base}.pyi", f"{base}/__init__.pyi"):
        hit = index.path(root, path.lstrip("/"))
        if hit is not None:
            return hit
    return None


def _find_python(index: Index, f: FileInfo, ref: Ref) -> Found:
    level = int(ref.props.get("level", 0))
    module = ref.target.lstrip(".")
    parts = module.split(".") if module else []
    if level > 0:
        base = f.dir.split("/") if f.dir else []
        if level - 1 > len(base):
            return Found()
        hit = _py_file(index, f.root, base[:len(base) - (level - 1)] + parts)
        return Found([hit]) if hit else Found()
    hit = index.py_modules.get(f.root, {}).get(module)
    if hit is None and f.dir:
        hit = _py_file(index, f.root, f.dir.split("/") + parts)  # a script's own folder
    return Found([hit]) if hit else Found(external=parts[0] if parts else module)


def _find_js(index: Index, f: FileInfo, ref: Ref) -> Found:
    spec = ref.target
    if spec.startswith("."):
        hit = _js_file(index, f.root, posixpath.normpath(posixpath.join(f.dir, spec)))
        return Found([hit]) if hit else Found()
    for base in _ts_paths(index, f.root, spec):
        hit = _js_file(index, f.root, base)
        if hit is not None:
            return Found([hit])
    name = spec.removeprefix("node:")
    segs = name.split("/")
    return Found(external="/".join(segs[:2]) if name.startswith("@") else segs[0])


def _js_file(index: Index, root: str, base: str) -> FileInfo | None:
    base = base.lstrip("/")
    stems = [base]
    stem, ext = posixpath.splitext(base)
    if ext in (".js", ".jsx", ".mjs", ".cjs"):
        stems.append(stem)  # TypeScript sources imported by their compiled name
    candidates = [base] + [s + e for s in stems for e in JS_EXTENSIONS] + [f"{base}/index{e}" for e in JS_EXTENSIONS]
    for path in candidates:
        hit = index.path(root, path)
        if hit is not None:
            return hit
    return None


def _ts_paths(index: Index, root: str, spec: str) -> list[str]:
    """Candidate bases for a bare specifier from tsconfig ``paths`` and ``baseUrl``."""
    if root not in index.tsconfig:
        index.tsconfig[root] = _read_tsconfig(index, root)
    config = index.tsconfig[root]
    if config is None:
        return []
    base_url, paths = config
    out = []
    for pattern, targets in paths:
        prefix, star, suffix = pattern.partition("*")
        if star and spec.startswith(prefix) and spec.endswith(suffix):
            middle = spec[len(prefix):len(spec) - len(suffix)] if suffix else spec[len(prefix):]
            out += [posixpath.normpath(posixpath.join(base_url, t.replace("*", middle))) for t in targets]
        elif not star and spec == pattern:
            out += [posixpath.normpath(posixpath.join(base_url, t)) for t in targets]
    if base_url:
        out.append(posixpath.normpath(posixpath.join(base_url, spec)))
    return out


def _read_tsconfig(index: Index, root: str) -> tuple[str, list[tuple[str, list[str]]]] | None:
    for name in ("tsconfig.json", "jsconfig.json"):
        data = index.cached_file(root, name)
        if data is None:
            continue
        text = _JSON_COMMENT.sub(lambda m: m.group(1) or "", data.decode("utf-8", "replace"))
        try:
            options = json.loads(_TRAILING_COMMA.sub(r"\1", text)).get("compilerOptions", {})
        except (ValueError, AttributeError) as exc:
            index.warnings.append(f"{root}/{name}: cannot read compilerOptions ({exc}); path aliases ignored")
            return None
        base_url = options.get("baseUrl", "")
        paths = [(k, list(v)) for k, v in (options.get("paths") or {}).items() if isinstance(v, list)]
        if base_url or paths:
            return (posixpath.normpath(base_url or ".").removeprefix("."), paths)
    return None


def _go_module(index: Index, f: FileInfo) -> tuple[str, str] | None:
    """(module path, module folder) of the nearest go.mod above a Go file."""
    d = f.dir
    while True:
        key = ("gomod", f.root, d)
        if key not in index.cache:
            data = index.cached_file(f.root, f"{d}/go.mod" if d else "go.mod")
            match = _GO_MODULE.search(data) if data else None
            index.cache[key] = (match.group(1).decode(), d) if match else None
        if index.cache[key] is not None:
            return index.cache[key]  # type: ignore[return-value]
        if not d:
            return None
        d = posixpath.dirname(d)


def _find_go(index: Index, f: FileInfo, ref: Ref) -> Found:
    path = ref.target
    module = _go_module(index, f)
    dirs: list[str] = []
    if module and (path == module[0] or path.startswith(module[0] + "/")):
        dirs.append(posixpath.join(module[1], path[len(module[0]):].lstrip("/")).strip("/"))
    segs = path.split("/")
    dirs += ["/".join(segs[i:]) for i in range(len(segs)) if len(segs) - i >= 2 or i == 0]
    for d in dirs:
        files = [x for x in index.by_dir.get((f.root, "go", d), []) if not x.path.endswith("_test.go")]
        if files:
            return Found(files)
    return Found(external=path)


def _rust_mod_dir(f: FileInfo) -> str:
    name = posixpath.basename(f.path)
    if name in ("mod.rs", "lib.rs", "main.rs"):
        return f.dir
    return posixpath.join(f.dir, name[:-3])


def _rust_child(index: Index, root: str, d: str, seg: str) -> tuple[str, FileInfo] | None:
    child = posixpath.join(d, seg)
    for path in (f"{child}.rs", f"{child}/mod.rs"):
        hit = index.path(root, path)
        if hit is not None:
            return child, hit
    return None


def _rust_crate(index: Index, f: FileInfo) -> tuple[str, FileInfo | None]:
    d = f.dir
    while True:
        for name in ("lib.rs", "main.rs"):
            hit = index.path(f.root, posixpath.join(d, name))
            if hit is not None:
                return d, hit
        if not d:
            return f.dir, None
        d = posixpath.dirname(d)


def _find_rust(index: Index, f: FileInfo, ref: Ref) -> Found:
    if ref.props.get("include"):
        hit = _rust_child(index, f.root, _rust_mod_dir(f), ref.target)
        return Found([hit[1]]) if hit else Found()
    segs = [s for s in ref.target.split("::") if s]
    if not segs:
        return Found()
    d, cur = _rust_mod_dir(f), f
    if segs[0] == "crate":
        d, crate_file = _rust_crate(index, f)
        cur, segs = crate_file or f, segs[1:]
    elif segs[0] in ("self", "super"):
        inline = int(ref.props.get("inline", 0))  # `super` from inside `mod tests { }` is this file
        while segs and segs[0] in ("self", "super"):
            if segs.pop(0) != "super":
                continue
            if inline:
                inline -= 1
                continue
            d = posixpath.dirname(d)
            cur = _rust_module_file(index, f.root, d) or cur
    elif _rust_child(index, f.root, d, segs[0]) is None:
        crate_dir, crate_file = _rust_crate(index, f)
        if _rust_child(index, f.root, crate_dir, segs[0]) is None:
            return Found(external=segs[0])
        d = crate_dir
    for i, seg in enumerate(segs):
        hit = _rust_child(index, f.root, d, seg)
        if hit is None:
            return Found([cur], item=".".join(segs[i:]))
        d, cur = hit
    return Found([cur])


def _rust_module_file(index: Index, root: str, d: str) -> FileInfo | None:
    for path in (f"{d}.rs", f"{d}/mod.rs", f"{d}/lib.rs", f"{d}/main.rs"):
        hit = index.path(root, path.lstrip("/"))
        if hit is not None:
            return hit
    return None


# -- names inside modules ---------------------------------------------------------------------

def submodule(index: Index, f: FileInfo, name: str) -> FileInfo | None:
    """A module ``name`` inside the package or module ``f`` (Python packages, Rust modules)."""
    if f.family == "python" and posixpath.basename(f.path).startswith("__init__."):
        return _py_file(index, f.root, (f.dir.split("/") if f.dir else []) + [name])
    if f.family == "rust":
        hit = _rust_child(index, f.root, _rust_mod_dir(f), name)
        return hit[1] if hit else None
    return None
