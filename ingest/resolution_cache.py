"""Code and mention resolution, kept by a long-lived pipeline and redone for what changed.

Resolving calls, imports and bases reads every code file of the database and a few config
files (``go.mod``, ``tsconfig.json``...: whatever it read or looked for last time, checked
by size and mtime, ignored or not). An edit to a note changes none of them: the last result
is reused as it is. After an edit to code files, every import and every class's bases are
resolved again (they are few), and the calls of only the files the change can reach: a
file's refs can only land on what a changed file defines or defined if they name it (in
what they call, or in the scope they call it from: ``void A::f()``), so those are the
changed files; the files whose refs name anything a changed file's old or new version
defines (a definition, a package, a path part); the files whose imports or bases now resolve
otherwise, and the files of every class that inherits from a class whose bases or home
changed; and every file that imports from one of those, directly or through other files
(names, re-exports and star imports come through). When that is most files, all are done.
Mentions are resolved per note against an index of the code files: while no code file
changes, only the notes that changed are resolved again. Parsed files are recognised by
identity: every version of one is a new object.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ingest.code_resolve import CodeResolution, CodeResolver, merge_code
from ingest.mentions import MentionResolution, MentionResolver, merge_mentions
from ingest.types import ParsedFile
from kg.model import Edge, EdgeKind, NodeKind, file_id

_WORD = re.compile(r"[A-Za-z_$][\w$]*")
FileKey = tuple[str, str]


class ResolutionCache:
    """The last code resolution and each note's mentions, with what they were made from."""

    def __init__(self) -> None:
        self._files: dict[FileKey, ParsedFile] = {}
        self._roots: dict[str, Path] = {}
        self._configs: list[tuple[int, int] | None] = []  # (size, mtime) of each file it read
        self._code: CodeResolution | None = None
        self._wants: dict[int, tuple[ParsedFile, frozenset[str]]] = {}  # the words each file's refs name
        self._resolver: MentionResolver | None = None
        self._notes: dict[int, tuple[ParsedFile, MentionResolution]] = {}
        self.resolved_files = 0  # code files whose calls the last call to ``code`` resolved

    def code(self, parsed: Sequence[ParsedFile], roots: dict[str, Path]) -> CodeResolution:
        """The code resolution of these files, redone for what changed since last time."""
        code = [pf for pf in parsed if pf.kind == "code"]
        files = {(pf.root, pf.path): pf for pf in code}
        old = self._code
        if old is not None and roots == self._roots and self._configs == _stats(old.read, roots):
            changed = {k for k, pf in files.items() if self._files.get(k) is not pf} | (self._files.keys() - files.keys())
            if not changed:
                self.resolved_files = 0
                return old
        else:
            changed = None
        run = CodeResolver(code, roots)
        bases = run.inherit()
        reach = None if changed is None or old is None else \
            self._reach(changed, files, old, bases, run.early_edges())
        if reach is None or len(reach) * 2 > len(files):
            reach = None
            result = run.resolve()
        else:
            result = run.resolve(reach)
            parts = {k: p for k, p in old.parts.items() if k in files and k not in reach}  # type: ignore[union-attr]
            parts.update(result.parts)
            merged = merge_code(parts[k] for k in sorted(parts))
            merged.parts, merged.bases, merged.warnings, merged.read = parts, result.bases, result.warnings, result.read
            result = merged
        self.resolved_files = len(files) if reach is None else len(reach)
        self._files, self._roots, self._code = files, dict(roots), result
        self._configs = _stats(result.read, roots)
        self._resolver, self._notes = MentionResolver(code), {}
        return result

    def _reach(self, changed: set[FileKey], files: dict[FileKey, ParsedFile], old: CodeResolution,
               new_bases: dict[str, list[str]], early: dict[FileKey, list[Edge]]) -> set[FileKey]:
        """The files whose calls a change of ``changed`` can alter (see the module's notes)."""
        old_bases = old.bases
        versions = [pf for k in changed for pf in (self._files.get(k), files.get(k)) if pf is not None]
        words: set[str] = set()
        homes: dict[str, FileKey] = {}  # every node's file, by id, before and now
        for pf in [*self._files.values(), *files.values()]:
            for node in pf.nodes:
                homes[node.id] = (pf.root, pf.path)
        moved = {c for c in old_bases.keys() | new_bases.keys() if old_bases.get(c) != new_bases.get(c)}
        moved |= {n.id for pf in versions for n in pf.nodes if n.kind is NodeKind.CLASS}
        derived = _descendants(moved, old_bases) | _descendants(moved, new_bases)
        for pf in versions:
            words |= _provides(pf)
        # What now binds or inherits otherwise: the files whose imports or bases resolve
        # differently, and the homes of the classes whose line of bases changed.
        rebound = {key for key in files if (before := old.parts.get(key)) is not None
                   and _signature(e for e in before.edges if e.kind in _EARLY) != _signature(early.get(key, ()))}
        rebound |= {homes[c] for c in derived if c in homes}
        for class_id in derived:
            words.add(class_id.rpartition("::")[2].rpartition(".")[2])
        reach = (set(changed) | rebound) & files.keys()
        reach |= _importers(set(changed) | rebound, homes, old, early) & files.keys()
        for key, pf in files.items():
            if key not in reach and not words.isdisjoint(self._wanted(pf)):
                reach.add(key)
        return reach

    def _wanted(self, pf: ParsedFile) -> frozenset[str]:
        kept = self._wants.get(id(pf))
        if kept is None or kept[0] is not pf:
            words: set[str] = set()
            for ref in pf.refs:  # what it names, and the scope it names it in (`void A::f()`)
                words.update(_WORD.findall(ref.target))
                if "::" in ref.src:
                    words.update(_WORD.findall(ref.src.rpartition("::")[2]))
                for prop, value in ref.props.items():
                    if prop != "lang":
                        words.update(_WORD.findall(" ".join(_strings(value))))
            kept = self._wants[id(pf)] = (pf, frozenset(words))
            if len(self._wants) > 4 * max(1, len(self._files)):  # versions gone
                live = {id(p) for p in self._files.values()}
                self._wants = {k: v for k, v in self._wants.items() if k in live or k == id(pf)}
        return kept[1]

    def mentions(self, parsed: Sequence[ParsedFile]) -> MentionResolution:
        """Every note's mentions (call ``code`` first: it says which code they resolve against)."""
        if self._resolver is None:
            self._resolver = MentionResolver(pf for pf in parsed if pf.kind == "code")
        notes: dict[int, tuple[ParsedFile, MentionResolution]] = {}
        for pf in parsed:
            if pf.kind != "note":
                continue
            kept = self._notes.get(id(pf))
            notes[id(pf)] = kept if kept is not None and kept[0] is pf else (pf, self._resolver.note(pf))
        self._notes = notes
        return merge_mentions(part for _, part in notes.values())


def _provides(pf: ParsedFile) -> set[str]:
    """Every word a ref could use to name something of this file: its definitions' names and
    qualified names, its path's parts, and what its nodes declare (packages, modules)."""
    words = set(_WORD.findall(posixpath.splitext(pf.path)[0]))
    for node in pf.nodes:
        words.update(_WORD.findall(f"{node.name} {node.qualname}"))
        for value in node.props.values():
            words.update(_WORD.findall(" ".join(_strings(value))))
    return words


def _strings(value: object) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)


_EARLY = (EdgeKind.IMPORTS, EdgeKind.INHERITS)


def _signature(edges: Iterable[Edge]) -> set[tuple]:
    return {(e.key, e.how, e.resolved, e.confidence, repr(sorted(e.props.items()))) for e in edges}


def _importers(start: set[FileKey], homes: dict[str, FileKey], old: CodeResolution,
               early: dict[FileKey, list[Edge]]) -> set[FileKey]:
    """The files that import from one of ``start`` (its module, or a definition in it),
    directly or through other files (names, re-exports and star imports come through),
    before or now."""
    by_id = {file_id(*key): key for key in homes.values()}
    importers: dict[FileKey, set[FileKey]] = {}
    imports = [(key, e) for key, part in old.parts.items() for e in part.edges if e.kind is EdgeKind.IMPORTS]
    imports += [(key, e) for key, edges in early.items() for e in edges if e.kind is EdgeKind.IMPORTS]
    for key, edge in imports:
        target = by_id.get(edge.dst) or homes.get(edge.dst)
        if target is not None:
            importers.setdefault(target, set()).add(key)
    return _reached(start, importers)


def _descendants(classes: set[str], bases: dict[str, list[str]]) -> set[str]:
    """These classes and every class that inherits from one of them, through ``bases``."""
    children: dict[str, list[str]] = {}
    for cls, parents in bases.items():
        for parent in parents:
            children.setdefault(parent, []).append(cls)
    return set(classes) | _reached(classes, children)


def _reached(start: Iterable[Any], following: Mapping[Any, Iterable[Any]]) -> set[Any]:
    """Everything reached from ``start`` through ``following`` (one or more steps)."""
    out: set[Any] = set()
    queue = list(start)
    while queue:
        for nxt in following.get(queue.pop(), ()):
            if nxt not in out:
                out.add(nxt)
                queue.append(nxt)
    return out


def _stats(files: list[tuple[str, str]], roots: dict[str, Path]) -> list[tuple[int, int] | None]:
    out: list[tuple[int, int] | None] = []
    for root, rel in files:
        try:
            st = (Path(roots[root]) / rel).stat()
            out.append((st.st_size, st.st_mtime_ns))
        except (OSError, KeyError):
            out.append(None)
    return out
