"""Imports whose meaning is data: languages that name a declared package or a file path.

Languages with a finder of their own (Python, JavaScript/TypeScript, Go, Rust) live in
``ingest.code_modules``. The others say in ``LanguageSpec.modules`` how their imports name
what they import, and this one module resolves them all:

- ``"package"`` (Java, C#, PHP): files declare their package or namespace
  (``@file.package``); an import names a package, optionally followed by an item in it
  (``com.shop.Order``, ``App\\Models\\User``). The longest declared package that prefixes the
  name wins; the item is looked for in that package's files. An import of a whole package
  (``import com.shop.*``, C# ``using Shop.Models``) brings all its names into scope.
- ``"path"`` (C, C++, Ruby): an import names a file (``#include "util/log.h"``,
  ``require_relative "order"``), relative to the importing file when the query marks it so,
  else found by its path's suffix anywhere in the root, nearest folder first. The file's
  names are all in scope (``LanguageSpec.imports_all``).

What is not found in the root is an external module, named by its first part.
"""

from __future__ import annotations

import posixpath

from ingest.code_modules import Binding, DefRef, FileInfo, Found, Index
from ingest.languages import LANGUAGES
from ingest.types import Ref
from kg.model import NodeKind


def find(index: Index, f: FileInfo, ref: Ref) -> Found:
    """The files (and item) or external module that an import of a data-driven language names."""
    spec = LANGUAGES[f.lang]
    if spec.modules == "package":
        return _find_package(index, f, ref.target.replace(spec.module_separator, ".").strip("."))
    return _find_path(index, f, ref.target.replace(spec.module_separator, "/"), spec.module_extensions,
                      bool(ref.props.get("relative")))


def bind(f: FileInfo, ref: Ref, found: Found) -> tuple[dict[str, Binding], list[DefRef]]:
    """What the import binds in ``f`` and where its IMPORTS edges go.

    An item binds its last part (or the alias) to the definition and the edge goes to that
    definition; a whole package or file puts its names in scope and the edges go to its files.
    """
    spec = LANGUAGES[f.lang]
    names = [n for n in ref.props.get("names", []) if n != "*"]
    if names and not found.item and spec.modules == "package":  # PHP's `use A\{B, C as D}`
        return _bind_names(f, ref, found, names, spec.module_separator)
    if not found.item or "*" in ref.props.get("names", []) or spec.imports_all:
        f.stars += [x for x in found.files if x is not f]
        return {}, [(x.id, NodeKind.FILE) for x in found.files if x is not f]  # its own package: no edge
    local = ref.props.get("alias", {}).get(ref.target) or found.item.rsplit(".", 1)[-1]
    holder = found.files[0]
    if holder is f:  # `use App\A;` in A.php: its own class, no import
        return {}, []
    hit = holder.defs.get(found.item)
    if hit is None:
        return {local: Binding("reexport", [holder], name=found.item)}, [(holder.id, NodeKind.FILE)]
    return {local: Binding("def", [holder], qualname=found.item)}, [hit]


def _bind_names(f: FileInfo, ref: Ref, found: Found, names: list[str], separator: str) -> tuple[dict[str, Binding], list[DefRef]]:
    """Each name of a grouped import, bound to the definition of that name in the package."""
    bound: dict[str, Binding] = {}
    targets: list[DefRef] = []
    for name in names:
        item = name.replace(separator, ".").strip(".")
        holder = next((x for x in found.files if item in x.defs), None)
        if holder is f:  # a name of its own file
            continue
        if holder is None:
            targets += [(x.id, NodeKind.FILE) for x in found.files]
            continue
        local = ref.props.get("alias", {}).get(name) or item.rsplit(".", 1)[-1]
        bound[local] = Binding("def", [holder], qualname=item)
        targets.append(holder.defs[item])
    return bound, list(dict.fromkeys(targets))


def _find_package(index: Index, f: FileInfo, name: str) -> Found:
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        files = index.packages.get((f.root, f.family, ".".join(parts[:i])))
        if not files:
            continue
        item = ".".join(parts[i:])
        if not item:
            return Found(files)
        holders = [x for x in files if item in x.defs or item.split(".")[0] in x.defs]
        return Found(holders[:1], item=item) if holders else Found()
    return Found(external=parts[0])


# Folders a non-relative path import (``#include <x.h>``, ``require "x"``) is looked up
# under, as a compiler's include path or Ruby's load path would have them.
LOAD_DIRS = frozenset({"", "include", "inc", "lib", "src"})


def _find_path(index: Index, f: FileInfo, path: str, extensions: tuple[str, ...], relative: bool) -> Found:
    names = [path] if posixpath.splitext(path)[1] in extensions else [path + ext for ext in extensions]
    if relative:
        for name in names:
            hit = index.path(f.root, posixpath.normpath(posixpath.join(f.dir, name)).lstrip("/"))
            if hit is f:
                return Found()  # a file that includes itself: nothing to draw
            if hit is not None:
                return Found([hit])
    for name in names:
        # A relative import falls back to any folder that ends with its path (another -I); a
        # non-relative one only to a load folder, so `require "logger"` is not lib/rack/logger.rb.
        hits = [x for x in index.by_name.get((f.root, f.family, posixpath.basename(name)), [])
                if x is not f and (x.path == name or x.path.endswith("/" + name))
                and (relative or posixpath.basename(x.path[:-len(name)].rstrip("/")) in LOAD_DIRS)]
        if hits:
            return Found([max(hits, key=lambda x: (_shared_depth(x.dir, f.dir), -len(x.path)))])
    head = next((seg for seg in path.split("/") if seg not in ("", ".", "..")), path)
    return Found(external=posixpath.splitext(head)[0] or path)


def _shared_depth(a: str, b: str) -> int:
    """How many leading folders two paths share."""
    return len(posixpath.commonprefix([a.split("/"), b.split("/")])) if a and b else 0
