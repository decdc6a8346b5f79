"""Link resolution driven by what changed, kept between ingests.

A link can only land in a file that *provides* one of the keys the link *wants*: its
target's note key or file name (the last path segment, lower case), or its alias. So when
files change, the notes to resolve again are the changed ones and those wanting a key that
a changed file provides, or provided before the change (a rename, a new namesake, a heading
edited in the target: the target changed, so its keys count as changed). ``LinkCache``
keeps each file's ``LinkRecord`` (in memory in a long-lived pipeline, in the ingest state
for the next process) and resolves again only those notes.
"""

from __future__ import annotations

import collections
import posixpath
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

from ingest.links import LINK_KINDS, LinkIndex, LinkResolution, note_key, resolve_links
from ingest.types import ParsedFile, Ref
from kg.model import NodeKind


def wanted_keys(ref: Ref, src_path: str) -> set[str]:
    """The keys a link ref from the note at ``src_path`` may resolve through (none for a
    link to its own note). A Markdown link resolves relative to the note first, where
    ``..`` and ``.`` name a folder's note."""
    target = ref.target.strip()
    if not target:
        return set()
    paths = [target.strip("/")]
    if ref.props.get("markdown"):
        paths.append(posixpath.normpath(posixpath.join(posixpath.dirname(src_path), target)))
    keys = {target.lower()}
    for path in paths:
        keys |= {posixpath.basename(note_key(path)), posixpath.basename(path.lower())}
    return keys


def provided_keys(pf: ParsedFile) -> set[str]:
    """The keys under which links find this file: note key and aliases, or file name."""
    if pf.kind != "note":
        return {posixpath.basename(pf.path.lower())}
    keys = {posixpath.basename(note_key(pf.path))}
    for node in pf.nodes:
        if node.kind is NodeKind.NOTE:
            keys.update(str(alias).strip().lower() for alias in node.props.get("aliases") or [])
    return keys


class LinkRecord(NamedTuple):
    """What the cache knows of one file, kept in the ingest state between processes: the
    version it saw, the keys it provides, and for a note the keys its links want and their
    resolution."""

    hash: str
    provides: frozenset[str]
    wants: frozenset[str] = frozenset()
    part: LinkResolution | None = None


class LinkCache:
    """Each note's link resolution, kept between ingests so that an ingest resolves only
    the notes a change can affect (see ``update``): in memory by a long-lived pipeline, and
    as ``LinkRecord`` rows in the ingest state for the next process.

    Args:
        saved: the records the last update left (``unsaved`` tells which to write back).
    """

    def __init__(self, saved: Iterable[tuple[tuple[str, str], LinkRecord]] = ()) -> None:
        self.records: dict[tuple[str, str], LinkRecord] = {}
        self.stats: collections.Counter[str] = collections.Counter()  # summed over the parts
        self.wanters: dict[str, set[tuple[str, str]]] = collections.defaultdict(set)
        self.warned: set[tuple[str, str]] = set()  # the notes whose resolution has warnings
        self.index: LinkIndex | None = None
        self.unsaved: set[tuple[str, str]] = set()  # records changed or gone since the last save
        for key, record in saved:
            self._keep(key, record)

    @property
    def by_file(self) -> dict[tuple[str, str], LinkResolution]:
        """Each note's resolution."""
        return {k: r.part for k, r in self.records.items() if r.part is not None}

    def update(self, parsed: dict[tuple[str, str], ParsedFile], previous: dict[tuple[str, str], ParsedFile | None],
               files_by_root: Callable[[], dict[str, list[str]]],
               root_dirs: dict[str, Path]) -> tuple[LinkResolution, int]:
        """Resolve again what the changed files can affect; the merged resolution of every
        note, and how many notes were resolved.

        Args:
            parsed: every parsed file now, by (root, path).
            previous: the files this process saw added, changed or removed since the last
                update, with their version before (None when it is new or was not loaded).
                Files whose version differs from their record are changed as well.
            files_by_root: every file's path per root (read only when building the index).
            root_dirs: root name → folder.
        """
        records = self.records
        changed = set(previous) | (records.keys() - parsed.keys())
        changed.update(k for k, pf in parsed.items() if (r := records.get(k)) is None or r.hash != pf.hash)
        if self.index is None:
            self.index = LinkIndex.build([parsed[k] for k in sorted(parsed)], files_by_root(), root_dirs)
        else:
            self.index.replace([pf for pf in previous.values() if pf is not None],
                               [parsed[k] for k in sorted(changed) if k in parsed], root_dirs)
        keys: set[str] = set()
        for key in changed:
            if key in records:
                keys |= records[key].provides
            if key in parsed:
                keys |= provided_keys(parsed[key])
        dirty = changed | {holder for key in keys for holder in self.wanters.get(key, ())}
        for key in sorted(dirty):
            pf = parsed.get(key)
            self._forget(key)
            if pf is None:
                continue
            if pf.kind != "note":
                self._keep(key, LinkRecord(pf.hash, frozenset(provided_keys(pf))))
                continue
            wants = frozenset().union(*(wanted_keys(r, pf.path) for r in pf.refs if r.kind in LINK_KINDS))
            self._keep(key, LinkRecord(pf.hash, frozenset(provided_keys(pf)), wants, resolve_links([pf], self.index)))
        self.unsaved |= dirty
        return self._summary(), sum(1 for k in dirty if k in parsed and parsed[k].kind == "note")

    def take_unsaved(self) -> dict[tuple[str, str], LinkRecord | None]:
        """The records changed since the last call (None: the file is gone)."""
        out = {key: self.records.get(key) for key in sorted(self.unsaved)}
        self.unsaved.clear()
        return out

    def _keep(self, key: tuple[str, str], record: LinkRecord) -> None:
        self.records[key] = record
        if record.part is not None:
            self.stats.update(record.part.stats)
            if record.part.warnings:
                self.warned.add(key)
        for want in record.wants:
            self.wanters[want].add(key)

    def _forget(self, key: tuple[str, str]) -> None:
        record = self.records.pop(key, None)
        if record is None:
            return
        if record.part is not None:
            self.stats.subtract(record.part.stats)
            self.warned.discard(key)
        for want in record.wants:
            holders = self.wanters.get(want)
            if holders is not None:
                holders.discard(key)
                if not holders:
                    del self.wanters[want]

    def _summary(self) -> LinkResolution:
        """The counts and warnings of every note's resolution (the edges and nodes are the
        parts' own, in ``by_file``)."""
        out = LinkResolution(stats=+self.stats)
        for key in ("links", "embeds", "resolved", "unresolved", "ambiguous", "missing_subpath"):
            out.stats.setdefault(key, 0)
        out.warnings = [w for key in sorted(self.warned) for w in self.records[key].part.warnings]  # type: ignore[union-attr]
        return out
