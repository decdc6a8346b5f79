"""Obsidian link resolution: the LINKS_TO / EMBEDS refs of notes → edges.

The rules follow Obsidian's, within one root:

1. Matching is case-insensitive and ``.md`` is optional.
2. An exact vault path wins (``how="path"``); then, among the notes with that name (or
   whose path ends with the link's ``Folder/Note``), one in the source note's own folder
   (``"folder"``); then the one with the shortest path string, as Obsidian picks, so
   ``a/b/Note`` beats ``zzzz/Note`` (``"shortest"``). Paths of one length are a tie: it
   links to the first candidate by sorted path, with ``ambiguous=True``,
   ``props["candidates"]`` (the tied ids) and confidence ``1 / len(candidates)``.
3. Non-note files (images, PDFs, code) resolve by the same rules after notes. A code file
   that was parsed becomes a MENTIONS edge (from the note or heading around the link, never
   from a block) to its File node; any other file an Attachment node.
4. Frontmatter aliases are a fallback (``how="alias"``, confidence 0.8).
5. Markdown links ``[x](y)`` resolve relative to the source note's folder first
   (``"relative"``), ``../`` paths may leave the root and land in another ingested root;
   a leading ``/`` is vault-absolute; otherwise they fall back to the wikilink rules.
6. ``#H1#H2`` picks the Heading whose last heading is ``H2`` and whose earlier headings
   include ``H1`` (in order); ``#^id`` the Block. Headings compare case-insensitively with
   punctuation and ``-`` folded to spaces, so GitHub-style slugs also match. A missing
   heading or block links to the note, keeps the subpath, and is counted and warned about.
7. A target that does not exist becomes an Unresolved node (as Obsidian shows it).

At most one edge per ``(src, kind, dst)``: repeats are merged into the first, and
``props["count"]`` says how many links it stands for.
"""

from __future__ import annotations

import collections
import logging
import os
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ingest.types import ParsedFile, Ref
from kg.model import (Edge, EdgeKind, Node, NodeKind, attachment_id, file_id, note_id,
                      unresolved_id)

log = logging.getLogger(__name__)

ALIAS_CONFIDENCE = 0.8
LINK_KINDS = (EdgeKind.LINKS_TO, EdgeKind.EMBEDS)
_FOLD = re.compile(r"[\W_]+")


def _fold_heading(text: str) -> str:
    return _FOLD.sub(" ", text.lower()).strip()


def note_key(path: str) -> str:
    low = path.lower()
    return low[:-3] if low.endswith(".md") else low


def _dir(path: str) -> str:
    return path.rpartition("/")[0]  # posixpath.dirname, without its overhead on the hot path


@dataclass
class _Match:
    """A resolved target: the node id and kind, and how it was found."""

    root: str
    path: str
    kind: str  # 'note', 'code' or 'attachment'
    how: str
    candidates: list[str] = field(default_factory=list)  # tied ids when ambiguous
    confidence: float = 1.0


@dataclass
class LinkResolution:
    """What ``resolve_links`` produced: edges, nodes created on demand, counts, warnings."""

    edges: list[Edge] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    stats: collections.Counter[str] = field(default_factory=collections.Counter)
    warnings: list[str] = field(default_factory=list)


class LinkIndex:
    """Lookup tables over every note, file, heading, block and alias, per root."""

    def __init__(self) -> None:
        self.notes: dict[str, dict[str, str]] = {}  # root → note key → path
        self.note_names: dict[str, dict[str, list[str]]] = {}  # root → lower stem → paths
        self.files: dict[str, dict[str, str]] = {}  # root → lower path → path (non-notes)
        self.file_names: dict[str, dict[str, list[str]]] = {}  # root → lower basename → paths
        self.aliases: dict[str, dict[str, list[str]]] = {}  # root → lower alias → note paths
        self.code_files: set[tuple[str, str]] = set()  # (root, path) with a File node
        self.headings: dict[str, dict[str, list[tuple[tuple[str, ...], str]]]] = {}
        self.blocks: dict[str, dict[str, str]] = {}  # note id → lower block name → block id
        self.root_dirs: dict[str, str] = {}  # root → normalised absolute directory

    @classmethod
    def build(cls, parsed: Iterable[ParsedFile], files_by_root: dict[str, list[str]],
              root_dirs: dict[str, Path]) -> LinkIndex:
        """Index every parsed note and code file and every discovered file.

        Args:
            parsed: parsed notes and code files (any order).
            files_by_root: every discovered path per root (attachments included).
            root_dirs: root name → its absolute folder, for ``../`` links between roots.

        Returns:
            The index ``resolve_links`` looks targets up in.
        """
        index = cls()
        index.root_dirs = {r: os.path.normpath(os.path.abspath(str(d))) for r, d in root_dirs.items()}
        for root, paths in files_by_root.items():
            for path in paths:
                if not path.lower().endswith(".md"):
                    index._add_file(root, path)
        for pf in parsed:
            if pf.kind in ("note", "code"):
                index._add(pf)
        return index

    def replace(self, old: Iterable[ParsedFile], new: Iterable[ParsedFile], root_dirs: dict[str, Path]) -> None:
        """Take the ``old`` versions of some files out and put their ``new`` ones in: the
        same index as ``build`` over the files as they are now, for the cost of the change."""
        self.root_dirs = {r: os.path.normpath(os.path.abspath(str(d))) for r, d in root_dirs.items()}
        for pf in old:
            self._remove(pf)
        for pf in new:
            self._add(pf)

    def _add(self, pf: ParsedFile) -> None:
        if pf.kind == "note":
            self._add_note(pf)
            return
        self._add_file(pf.root, pf.path)
        if pf.kind == "code" and any(n.id == file_id(pf.root, pf.path) for n in pf.nodes):
            self.code_files.add((pf.root, pf.path))

    def _remove(self, pf: ParsedFile) -> None:
        root, path = pf.root, pf.path
        if pf.kind != "note":
            if self.files.get(root, {}).pop(path.lower(), None) is not None:
                _drop(self.file_names.get(root, {}), posixpath.basename(path).lower(), path)
            self.code_files.discard((root, path))
            return
        self.notes.get(root, {}).pop(note_key(path), None)
        _drop(self.note_names.get(root, {}), posixpath.basename(note_key(path)), path)
        for node in pf.nodes:
            if node.kind is NodeKind.NOTE:
                for alias in node.props.get("aliases") or []:
                    _drop(self.aliases.get(root, {}), str(alias).lower(), path)
        nid = note_id(root, path)
        self.headings.pop(nid, None)
        self.blocks.pop(nid, None)

    def _add_file(self, root: str, path: str) -> None:
        files = self.files.setdefault(root, {})
        if path.lower() in files:
            return
        files[path.lower()] = path
        base = posixpath.basename(path).lower()
        self.file_names.setdefault(root, {}).setdefault(base, []).append(path)

    def _add_note(self, pf: ParsedFile) -> None:
        root, path = pf.root, pf.path
        self.notes.setdefault(root, {})[note_key(path)] = path
        stem = posixpath.basename(note_key(path))
        self.note_names.setdefault(root, {}).setdefault(stem, []).append(path)
        nid = note_id(root, path)
        for node in pf.nodes:
            if node.kind is NodeKind.NOTE:
                for alias in node.props.get("aliases") or []:
                    self.aliases.setdefault(root, {}).setdefault(str(alias).lower(), []).append(path)
            elif node.kind is NodeKind.HEADING:
                heads = tuple(_fold_heading(h) for h in node.props.get("headings") or [node.heading])
                by_last = self.headings.setdefault(nid, {})
                by_last.setdefault(heads[-1], []).append((heads, node.id))
                if node.props.get("anchor"):  # an HTML heading's name: `#complete`
                    anchor = _fold_heading(str(node.props["anchor"]))
                    by_last.setdefault(anchor, []).append(((*heads[:-1], anchor), node.id))
            elif node.kind is NodeKind.BLOCK:
                self.blocks.setdefault(nid, {})[node.name.lstrip("^").lower()] = node.id

    # --- lookups ----------------------------------------------------------------------

    def find(self, root: str, src_path: str, target: str, *, markdown: bool) -> _Match | None:
        """The file a link target names, seen from the note at ``src_path``.

        Args:
            root: the source note's root.
            src_path: the source note's path.
            target: the link's path part as written (URL-decoded for markdown links).
            markdown: True for ``[x](y)`` links, which resolve relative to the note first.

        Returns:
            The match, or None when nothing has that name.
        """
        if markdown and not target.startswith("/"):
            found = self._relative(root, src_path, target)
            if found is not None:
                return found
        return self._by_path(root, target.lstrip("/")) or self._by_name(root, src_path, target) \
            or self._by_alias(root, target)

    def _exact(self, root: str, path: str, how: str) -> _Match | None:
        note = self.notes.get(root, {}).get(note_key(path))
        if note is not None:
            return _Match(root, note, "note", how)
        found = self.files.get(root, {}).get(path.lower())
        if found is not None:
            return _Match(root, found, self._file_kind(root, found), how)
        return None

    def _file_kind(self, root: str, path: str) -> str:
        return "code" if (root, path) in self.code_files else "attachment"

    def _by_path(self, root: str, target: str) -> _Match | None:
        return self._exact(root, target, "path") if target else None

    def _relative(self, root: str, src_path: str, target: str) -> _Match | None:
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(src_path), target))
        if joined != ".." and not joined.startswith("../"):
            return self._exact(root, joined, "relative")
        base = self.root_dirs.get(root)
        if base is None:
            return None
        absolute = os.path.normpath(os.path.join(base, joined))
        for other, folder in self.root_dirs.items():
            rel = os.path.relpath(absolute, folder).replace(os.sep, "/")
            if other != root and rel != ".." and not rel.startswith("../"):
                return self._exact(other, rel, "relative")
        return None

    def _by_name(self, root: str, src_path: str, target: str) -> _Match | None:
        key = note_key(target.strip("/"))
        found = self._choose(root, src_path, key, self.note_names.get(root, {}), "note")
        if found is None:
            found = self._choose(root, src_path, target.strip("/").lower(),
                                 self.file_names.get(root, {}), "file")
        return found

    def _choose(self, root: str, src_path: str, key: str, names: dict[str, list[str]],
                kind: str) -> _Match | None:
        candidates = names.get(key.rpartition("/")[2], [])
        if "/" in key:
            suffix = "/" + key
            key_of = note_key if kind == "note" else str.lower
            candidates = [c for c in candidates if key_of(c).endswith(suffix) or key_of(c) == key]
        if not candidates:
            return None
        folder = _dir(src_path)
        if len(candidates) == 1:
            return self._match(root, candidates[0], kind, "folder" if _dir(candidates[0]) == folder else "shortest")
        local = [c for c in candidates if _dir(c) == folder]
        if len(local) == 1:
            return self._match(root, local[0], kind, "folder")
        pool = local or candidates
        shortest = min(len(c) for c in pool)
        best = sorted(c for c in pool if len(c) == shortest)
        match = self._match(root, best[0], kind, "shortest")
        if len(best) > 1:
            match.candidates = [self._target_id(root, c, match.kind) for c in best]
            match.confidence = 1.0 / len(best)
        return match

    def _match(self, root: str, path: str, kind: str, how: str) -> _Match:
        return _Match(root, path, "note" if kind == "note" else self._file_kind(root, path), how)

    def _by_alias(self, root: str, target: str) -> _Match | None:
        notes = sorted(self.aliases.get(root, {}).get(target.strip().lower(), []))
        if not notes:
            return None
        match = _Match(root, notes[0], "note", "alias", confidence=ALIAS_CONFIDENCE)
        if len(notes) > 1:
            match.candidates = [note_id(root, p) for p in notes]
            match.confidence = ALIAS_CONFIDENCE / len(notes)
        return match

    def subpath_target(self, nid: str, subpath: str) -> tuple[str, NodeKind] | None:
        """The Heading or Block that ``#H1#H2`` or ``#^id`` names in note ``nid``, if any."""
        if subpath.startswith("^"):
            found = self.blocks.get(nid, {}).get(subpath[1:].lower())
            return (found, NodeKind.BLOCK) if found else None
        wanted = [_fold_heading(p) for p in subpath.split("#") if p.strip()]
        if not wanted:
            return None
        for heads, hid in self.headings.get(nid, {}).get(wanted[-1], []):
            if _is_subsequence(wanted[:-1], heads[:-1]):
                return hid, NodeKind.HEADING
        return None

    @staticmethod
    def _target_id(root: str, path: str, kind: str) -> str:
        if kind == "note":
            return note_id(root, path)
        return file_id(root, path) if kind == "code" else attachment_id(root, path)


def _drop(table: dict[str, list[str]], key: str, path: str) -> None:
    """Remove one ``path`` from the list under ``key`` (and the key when it empties)."""
    paths = table.get(key)
    if paths is not None and path in paths:
        paths.remove(path)
        if not paths:
            del table[key]


def _is_subsequence(wanted: list[str], heads: tuple[str, ...]) -> bool:
    it = iter(heads)
    return all(any(w == h for h in it) for w in wanted)


def resolve_links(parsed: Iterable[ParsedFile], index: LinkIndex) -> LinkResolution:
    """Resolve the LINKS_TO and EMBEDS refs of every note into edges.

    Args:
        parsed: parsed files; only notes' link refs are read (code mentions are left to the
            code resolver).
        index: the ``LinkIndex`` of every root.

    Returns:
        The edges (one per ``(src, kind, dst)``), the Unresolved and Attachment nodes they
        point at, counts (links, embeds, resolved, unresolved, ambiguous, alias,
        missing_subpath, attachments, code_files, merged) and warnings.
    """
    resolver = _Resolver(index)
    for pf in parsed:
        if pf.kind != "note":
            continue
        for ref in pf.refs:
            if ref.kind in LINK_KINDS:
                resolver.resolve(pf, ref)
    result = resolver.result()
    log.debug("links resolved: %s", dict(result.stats))
    return result


class _Resolver:
    def __init__(self, index: LinkIndex) -> None:
        self.index = index
        self.edges: dict[tuple[str, str, str], Edge] = {}
        self.nodes: dict[str, Node] = {}
        self.memo: dict[tuple[str, str, str, bool], _Match | None] = {}
        self.out = LinkResolution()

    def result(self) -> LinkResolution:
        self.out.edges = list(self.edges.values())
        self.out.nodes = list(self.nodes.values())
        for key in ("links", "embeds", "resolved", "unresolved", "ambiguous", "missing_subpath"):
            self.out.stats.setdefault(key, 0)
        return self.out

    def resolve(self, pf: ParsedFile, ref: Ref) -> None:
        stats = self.out.stats
        stats["links"] += 1
        if ref.kind is EdgeKind.EMBEDS:
            stats["embeds"] += 1
        target = ref.target.strip()
        if not target:
            match: _Match | None = _Match(pf.root, pf.path, "note", "path")
        else:
            match = self._find(pf, target, bool(ref.props.get("markdown")))
        if match is None:
            self._unresolved(pf, ref, target)
            return
        stats["resolved"] += 1
        if match.candidates:
            stats["ambiguous"] += 1
        if match.how == "alias":
            stats["alias"] += 1
        if match.kind == "note":
            self._to_note(pf, ref, match)
        elif match.kind == "code":
            stats["code_files"] += 1
            src, src_kind = _section_of(ref)
            self._edge(ref, src, src_kind, EdgeKind.MENTIONS, file_id(match.root, match.path),
                       NodeKind.FILE, match)
        else:
            stats["attachments"] += 1
            aid = attachment_id(match.root, match.path)
            if aid not in self.nodes:
                self.nodes[aid] = Node(id=aid, kind=NodeKind.ATTACHMENT, name=posixpath.basename(match.path),
                                       root=match.root, path=match.path,
                                       props={"ext": posixpath.splitext(match.path)[1].lower()})
            self._edge(ref, ref.src, ref.src_kind, ref.kind, aid, NodeKind.ATTACHMENT, match)

    def _find(self, pf: ParsedFile, target: str, markdown: bool) -> _Match | None:
        # A target resolves the same way from every note of a folder: remember it.
        key = (pf.root, _dir(pf.path), target, markdown)
        if key not in self.memo:
            self.memo[key] = self.index.find(pf.root, pf.path, target, markdown=markdown)
        return self.memo[key]

    def _to_note(self, pf: ParsedFile, ref: Ref, match: _Match) -> None:
        nid = note_id(match.root, match.path)
        dst, dst_kind = nid, NodeKind.NOTE
        subpath = str(ref.props.get("subpath") or "")
        if subpath:
            found = self.index.subpath_target(nid, subpath)
            if found is not None:
                dst, dst_kind = found
            else:
                self.out.stats["missing_subpath"] += 1
                what = "block" if subpath.startswith("^") else "heading"
                self.out.warnings.append(
                    f"{pf.root}/{pf.path}:{ref.line}: no {what} '{subpath}' in {match.path}; "
                    f"the link points at the note instead")
        self._edge(ref, ref.src, ref.src_kind, ref.kind, dst, dst_kind, match)

    def _unresolved(self, pf: ParsedFile, ref: Ref, target: str) -> None:
        self.out.stats["unresolved"] += 1
        name = target[:-3] if target.lower().endswith(".md") else target
        uid = unresolved_id(pf.root, name)
        if uid not in self.nodes:
            self.nodes[uid] = Node(id=uid, kind=NodeKind.UNRESOLVED, name=name, root=pf.root)
        miss = _Match(pf.root, "", "unresolved", "", confidence=0.0)
        self._edge(ref, ref.src, ref.src_kind, ref.kind, uid, NodeKind.UNRESOLVED, miss, resolved=False)

    def _edge(self, ref: Ref, src: str, src_kind: NodeKind, kind: EdgeKind, dst: str,
              dst_kind: NodeKind, match: _Match, *, resolved: bool = True) -> None:
        key = (src, kind.value, dst)
        existing = self.edges.get(key)
        if existing is not None:
            existing.props["count"] = existing.props.get("count", 1) + 1
            self.out.stats["merged"] += 1
            return
        props: dict[str, object] = {"count": 1}
        if match.candidates:
            props["candidates"] = list(match.candidates)
        if "property" in ref.props:
            props["property"] = ref.props["property"]
        self.edges[key] = Edge(src, kind, dst, src_kind, dst_kind, alias=str(ref.props.get("alias") or ""),
                               subpath=str(ref.props.get("subpath") or ""),
                               ambiguous=bool(match.candidates), resolved=resolved,
                               confidence=match.confidence, how=match.how, line=ref.line, props=props)


def _section_of(ref: Ref) -> tuple[str, NodeKind]:
    """The note or heading around a ref: MENTIONS may not start at a block."""
    if ref.src_kind is not NodeKind.BLOCK:
        return ref.src, ref.src_kind
    section = str(ref.props.get("section") or "")
    kind = NodeKind.HEADING if section.startswith("heading:") else NodeKind.NOTE
    if not section:  # a block from another parser: fall back to its note
        section = "note:" + ref.src.split(":", 1)[1].split("#^", 1)[0]
    return section, kind
