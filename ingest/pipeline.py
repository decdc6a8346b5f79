"""The incremental ingest pipeline: discover → parse what changed → resolve → write the diff.

Unchanged files (same size and mtime, or same content hash) are never parsed again; their
parsed form and their warnings come from ``IngestState``, and so do the reasons files were
read but not taken (binary, minified), so a bad file is reported on every run without being
parsed again (a file its parser fails on is tried again). A bad file never stops the others.
Resolution (links, imports, calls, mentions) runs over every file of every ingested root, so
a renamed heading or function re-targets the edges that point at it; only the difference
between that graph and what the store holds is written, in batches, through ``GraphStore``.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from ingest.assembly import Assembly, valid_edge
from ingest.discover import Found, discover, outside_root
from ingest.link_cache import LinkCache
from ingest.report import IngestReport
from ingest.resolution_cache import ResolutionCache
from ingest.state import IngestState, Problem
from ingest.types import ParsedFile
from ingest.version import parser_version
from kg.errors import IngestError
from kg.model import Edge, Node, NodeKind, content_hash
from kg.settings import Settings
from kg.store.base import GraphStore

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

__all__ = ["IngestOptions", "IngestReport", "Pipeline"]


@dataclass
class IngestOptions:
    max_file_bytes: int = 2_000_000
    batch_size: int = 2_000
    links_in_comments: bool = False
    follow_symlinks: bool = False

    @classmethod
    def from_settings(cls, settings: Settings, *, follow_symlinks: bool | None = None) -> IngestOptions:
        return cls(max_file_bytes=settings.max_file_bytes, batch_size=settings.batch_size,
                   links_in_comments=settings.links_in_comments,
                   follow_symlinks=settings.follow_symlinks if follow_symlinks is None else follow_symlinks)


class Pipeline:
    """Ingests roots into a GraphStore, incrementally.

    Args:
        store: where the graph is written.
        state_path: the SQLite file that remembers parsed files and what the store holds.
        options: size limits, batch size, comment handling, whether to follow symlinks that
            lead outside a root.
        progress: called as ``progress(stage, done, total)`` during long work.
        resident: this pipeline lives long (a server's): its first ingest loads what it keeps
            in memory even when nothing changed, so that the next one is as cheap as can be.
    """

    def __init__(self, store: GraphStore, state_path: Path, options: IngestOptions | None = None,
                 progress: Progress | None = None, *, resident: bool = False) -> None:
        self.store = store
        self.state = IngestState(state_path, parser_version())
        self.options = options or IngestOptions()
        self.progress = progress or (lambda stage, done, total: None)
        # Kept while this pipeline lives (a server keeps one): every parsed file, each note's
        # link resolution and the mirror of the store, so that the next ingest reads, resolves
        # and compares only what changed. Dropped whenever a run fails half-way.
        self._parsed: dict[tuple[str, str], ParsedFile] | None = None
        self._links = LinkCache()
        self._mirror: tuple[dict[str, tuple[str, str]], dict[tuple[str, str, str], tuple[str, str, str]]] | None = None
        self._touched: dict[tuple[str, str], ParsedFile | None] = {}  # changed file → its version before
        # The nodes and valid edges of every parsed file and of each note's link resolution,
        # patched by the owners that changed (see ingest.assembly). Unchanged owners' edges
        # were compared with the mirror by the last successful write: only the edges new
        # owners bring (and those resolution makes afresh) are compared again.
        self._assembly = Assembly()
        self._resolutions = ResolutionCache()  # code resolution and mentions, while their inputs stay
        self._compare: list[tuple[str, str, str]] | None = None
        # The nodes resolution made last time that no owner gives (external modules,
        # unresolved calls), by id → hash: with the assembly's touched ids, the nodes that can
        # differ from the mirror (None: compare them all).
        self._extras: dict[str, str] | None = None
        self._maybe_changed: set[str] | None = None
        self.resident = resident

    def close(self) -> None:
        self.state.close()

    def ingest(self, roots: Sequence[tuple[str, Path]]) -> IngestReport:
        """Ingest (or re-ingest) the given roots; other known roots stay as they are.

        Raises:
            IngestError: a root does not exist, or two roots share a name.
        """
        started = time.perf_counter()
        report = IngestReport()
        before = self.state.graph_version()
        known = self.state.roots()
        resolved = [(name, directory.resolve()) for name, directory in roots]
        for name, directory in resolved:  # every root is checked before any is scanned
            if not directory.is_dir():
                raise IngestError(f"{directory} is not a folder (give a vault or repository root)")
            if name in known and known[name] != directory:
                raise IngestError(f"a root named {name!r} is already ingested from {known[name]}; "
                                  f"use --name to give {directory} another name")
        for name, directory in resolved:
            self.state.set_root(name, directory)
            self._scan_root(name, directory, report)
            self.state.set_ingested_at(name, time.time())
        self.state.commit()
        changed = report.files.keys() & {"added", "changed", "removed"}
        if changed or self.state.is_behind() or self.state.is_dirty() or not self.state.stored_count() \
                or (self.resident and self._parsed is None):
            self.refresh(report)
        else:  # nothing changed on disk: the graph is already right, and so is the last resolution
            report.nodes, report.edges = self.state.stored_counts()
            stats, warnings = self.state.resolution()
            report.resolution.update(stats)
            report.warnings += warnings
        report.graph_versions = (before, self.state.graph_version())
        report.seconds = time.perf_counter() - started
        return report

    def refresh(self, report: IngestReport | None = None) -> IngestReport:
        """Resolve every stored file again and write the difference to the store."""
        report = report or IngestReport()
        try:
            return self._refresh(report)
        except BaseException:
            self._forget()
            raise

    def _forget(self) -> None:
        self._parsed, self._mirror, self._links = None, None, LinkCache()
        self._assembly, self._resolutions = Assembly(), ResolutionCache()
        self._compare = self._extras = self._maybe_changed = None
        self._touched.clear()

    def _refresh(self, report: IngestReport) -> IngestReport:
        if self.state.is_dirty():
            log.warning("the last ingest stopped while writing; rebuilding its record from the store")
            self._rebuild_mirror()
        if self._parsed is None:
            self._parsed = {(pf.root, pf.path): pf for pf in self.state.parsed_files()}
            self._links = LinkCache(self.state.link_records())
        parsed = [self._parsed[key] for key in sorted(self._parsed)]
        resolved = IngestReport()
        nodes, edges, edge_kinds, extra_kinds = self._resolve(parsed, resolved)
        self.state.save_link_records(self._links.take_unsaved())
        # Kept, so that a run where nothing changed reports the same links and warnings
        # (but not how many notes this run resolved: that one is its own).
        kept = {k: v for k, v in resolved.resolution.items() if k != "notes_resolved"}
        self.state.set_resolution(kept, resolved.warnings)
        self.state.commit()
        report.resolution.update(resolved.resolution)
        report.warnings += resolved.warnings
        self._write(nodes, edges, report)
        self.state.made()
        self.state.commit()
        report.nodes, report.edges = +(self._assembly.node_kinds + extra_kinds), +edge_kinds
        return report

    # -- scanning and parsing ------------------------------------------------------------

    def _scan_root(self, root: str, directory: Path, report: IngestReport) -> None:
        found = discover(directory, max_bytes=self.options.max_file_bytes,
                         follow_symlinks=self.options.follow_symlinks)
        for path, reason in found.skipped:
            self._skip(report, root, path, reason, level=logging.INFO)
        for path, message in found.warnings:
            self._warn(report, root, path, [message])
        scan = _RootScan(root, directory, self.state.file_index(root), self.state.file_warnings(root),
                         self.state.problems(root), report)
        kept: set[str] = set()
        for i, item in enumerate(found.files):
            self.progress(f"scan {root}", i, len(found.files))
            if self._scan_file(scan, item):
                kept.add(item.path)
        self.progress(f"scan {root}", len(found.files), len(found.files))
        for path in sorted(set(scan.known) - kept):
            self.state.delete_file(root, path)
            self._changed(root, path, None)
            report.files["removed"] += 1
        self.state.keep_problems(root, {item.path for item in found.files})

    def _scan_file(self, scan: _RootScan, item: Found) -> bool:
        """Take one file if it changed; report its problems either way.

        Returns:
            Whether the file (or its previous version) stays in the graph.
        """
        root, report = scan.root, scan.report
        known, problem = scan.known.get(item.path), scan.problems.get(item.path)
        if problem is not None and (problem.size, problem.mtime_ns) == (item.size, item.mtime_ns):
            return self._report_problem(report, root, item.path, problem)
        if known and known[1] == item.size and known[2] == item.mtime_ns:
            return self._unchanged(scan, item.path)
        if item.kind == "attachment":
            parsed: ParsedFile | Problem = ParsedFile(root=root, path=item.path, kind="attachment",
                                                      hash=f"{item.size}-{item.mtime_ns}")
        else:
            data = self._read(scan, item)
            if data is None:
                return False
            digest = content_hash(data)
            if problem is not None and problem.hash == digest:
                touched = problem._replace(size=item.size, mtime_ns=item.mtime_ns)
                self.state.put_problem(root, item.path, touched)
                return self._report_problem(report, root, item.path, problem)
            if known and known[0] == digest:
                self.state.touch_file(root, item.path, item.size, item.mtime_ns)
                return self._unchanged(scan, item.path)
            parsed = self._parse(root, item, data, digest)
        if isinstance(parsed, Problem):
            if parsed.kind == "skipped":  # a property of the content, kept until the content changes
                self.state.put_problem(root, item.path, parsed)
            else:  # a parser failure is retried on every run: the parser may be fixed by then
                self.state.delete_problem(root, item.path)
            log.log(logging.WARNING if parsed.kind == "skipped" else logging.ERROR,
                    "%s/%s: %s", root, item.path, parsed.message)
            return self._report_problem(report, root, item.path, parsed)
        self.state.put_file(parsed, item.size, item.mtime_ns)
        self._changed(parsed.root, parsed.path, parsed)
        self.state.delete_problem(root, item.path)
        report.files["changed" if known else "added"] += 1
        self._warn(report, root, item.path, parsed.warnings, level=logging.WARNING)
        return True

    def _changed(self, root: str, path: str, parsed: ParsedFile | None) -> None:
        """Keep the in-memory parsed files in step with the state, remembering the version before."""
        key = (root, path)
        before = self._parsed.get(key) if self._parsed is not None else None
        self._touched.setdefault(key, before)
        if self._parsed is not None:
            if parsed is None:
                self._parsed.pop(key, None)
            else:
                self._parsed[key] = parsed

    def _unchanged(self, scan: _RootScan, path: str) -> bool:
        scan.report.files["unchanged"] += 1
        self._warn(scan.report, scan.root, path, scan.warnings.get(path, []))
        return True

    def _read(self, scan: _RootScan, item: Found) -> bytes | None:
        # Checked again at read time: the file may have become a symlink since discovery.
        target = None if self.options.follow_symlinks else outside_root(item.abs_path, scan.directory)
        if target is not None:
            self._skip(scan.report, scan.root, item.path, f"symlink to outside the root: {target}")
            return None
        try:
            return item.abs_path.read_bytes()
        except OSError as exc:
            self._skip(scan.report, scan.root, item.path, f"unreadable: {exc.strerror or exc}")
            return None

    def _report_problem(self, report: IngestReport, root: str, path: str, problem: Problem) -> bool:
        if problem.kind == "skipped":
            report.skipped.append((f"{root}/{path}", problem.message))
            return False
        report.files["failed"] += 1
        report.warnings.append(f"{root}/{path}: {problem.message}")
        return True  # its previous version, if any, is kept

    def _skip(self, report: IngestReport, root: str, path: str, reason: str,
              level: int = logging.WARNING) -> None:
        report.skipped.append((f"{root}/{path}", reason))
        log.log(level, "skipped %s/%s: %s", root, path, reason)

    def _warn(self, report: IngestReport, root: str, path: str, warnings: list[str],
              level: int = logging.INFO) -> None:
        for warning in warnings:
            report.warnings.append(f"{root}/{path}: {warning}")
            log.log(level, "%s/%s: %s", root, path, warning)

    def _parse(self, root: str, item: Found, data: bytes, digest: str) -> ParsedFile | Problem:
        """The parsed file, or why it is not taken (a Problem carrying its hash and stat)."""
        def problem(kind: str, message: str) -> Problem:
            return Problem(digest, item.size, item.mtime_ns, kind, message)

        if b"\x00" in data[:8192]:
            return problem("skipped", "binary content")
        warnings = []
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            text = data.decode("utf-8", errors="replace")
            warnings.append(f"invalid UTF-8 at byte {exc.start}; decoded with replacement characters")
        try:
            parsed = self._parse_text(root, item, text)
        except Exception as exc:  # a parser bug must not stop the other files
            log.debug("cannot parse %s/%s", root, item.path, exc_info=True)
            return problem("failed", f"cannot parse ({type(exc).__name__}: {exc}); "
                                     "its previous version, if any, is kept")
        if parsed is None:
            return problem("skipped", "minified bundle")
        parsed.hash = digest
        parsed.warnings = warnings + parsed.warnings
        return parsed

    def _parse_text(self, root: str, item: Found, text: str) -> ParsedFile | None:
        """The parsed note or code file; None for a minified bundle."""
        if item.kind == "note":
            from ingest.obsidian import parse_note

            return parse_note(root, item.path, text, links_in_comments=self.options.links_in_comments)
        from ingest.code import is_minified, parse_code

        if is_minified(text):
            return None
        return parse_code(root, item.path, text.encode("utf-8"))

    # -- resolution ------------------------------------------------------------------------

    def _resolve(self, parsed: list[ParsedFile], report: IngestReport) \
            -> tuple[dict[str, Node], dict[tuple[str, str, str], Edge], Counter[str], Counter[str]]:
        """Every node and valid edge, the edges' counts by kind, and the counts by kind of the
        nodes no owner gives."""
        self.progress("resolve", 0, 3)
        roots = self.state.roots()
        assert self._parsed is not None
        links, resolved_notes = self._links.update(self._parsed, self._touched, self.state.paths_by_root, roots)
        self._touched.clear()
        report.resolution["notes_resolved"] = resolved_notes
        self.progress("resolve", 1, 3)
        code_res = self._resolutions.code(parsed, roots)
        self.progress("resolve", 2, 3)
        mentions = self._resolutions.mentions(parsed)
        self.progress("resolve", 3, 3)
        for res in (links, code_res, mentions):
            report.resolution.update(res.stats)
            report.warnings += res.warnings
        owners: list[tuple[object, list[Node], list[Edge]]] = [(pf, pf.nodes, pf.edges) for pf in parsed]
        owners += [(part, part.nodes, part.edges) for _, part in sorted(self._links.by_file.items())]
        first = self._compare is None
        nodes, self._compare = self._assembly.update(owners, code_res.nodes)
        extras = {n.id: n for n in code_res.nodes if n.id not in self._assembly.nodes}
        extra_kinds = Counter(n.kind.value for n in extras.values())
        hashes = {i: n.hash for i, n in extras.items()}
        self._maybe_changed = None if first or self._extras is None else \
            self._assembly.touched | {i for i in hashes.keys() | self._extras.keys() if hashes.get(i) != self._extras.get(i)}
        self._extras = hashes
        report.resolution["edges_dropped_invalid"] += self._assembly.dropped
        edges = dict(self._assembly.edges)
        edge_kinds = Counter(self._assembly.edge_kinds)
        for edge in itertools.chain(code_res.edges, mentions.edges):
            if not valid_edge(edge, nodes):
                report.resolution["edges_dropped_invalid"] += 1
                log.debug("dropped invalid edge %s", edge)
            elif edges.setdefault(edge.key, edge) is edge:
                self._compare.append(edge.key)
                edge_kinds[edge.key[1]] += 1
        return nodes, edges, edge_kinds, extra_kinds

    # -- writing the difference ----------------------------------------------------------

    def _write(self, nodes: dict[str, Node], edges: dict[tuple[str, str, str], Edge],
               report: IngestReport) -> None:
        if self._mirror is None:
            self._mirror = (self.state.stored_nodes(), self.state.stored_edges())
        stored_nodes, stored_edges = self._mirror
        # Only the nodes that came or went with an owner, or that resolution made differently,
        # can differ from the mirror (all of them on a first run).
        look = sorted(self._maybe_changed) if self._maybe_changed is not None else None
        gone = [(i, k) for i, (k, _) in (stored_nodes.items() if look is None else
                                          ((i, stored_nodes[i]) for i in look if i in stored_nodes))
                if i not in nodes or nodes[i].kind is not _NODE_KINDS[k]]
        gone_ids = {i for i, _ in gone}
        put_nodes = [n for i, n in (nodes.items() if look is None else ((i, nodes[i]) for i in look if i in nodes))
                     if i not in stored_nodes or i in gone_ids or stored_nodes[i][1] != n.hash]
        # Deleting a node detaches its edges: they are gone from the store as well.
        alive = {k: v for k, v in stored_edges.items() if k[0] not in gone_ids and k[2] not in gone_ids} \
            if gone_ids else stored_edges
        new_edges, changed_edges = [], []
        compare = self._compare if self._compare is not None and not gone_ids else edges
        for key in dict.fromkeys(compare):
            edge = edges[key]
            known = alive.get(key)
            if known is None:
                new_edges.append(edge)
            elif known[2] != edge.fingerprint():
                changed_edges.append(edge)
        put_edges = new_edges + changed_edges
        fps = {e.key: e.fingerprint() for e in put_edges}
        del_edges = [_edge_stub(k, v) for k, v in alive.items() if k not in edges] \
            if len(alive) > len(edges) - len(new_edges) else []
        if not (gone or put_nodes or put_edges or del_edges):
            return
        new_nodes = [n for n in put_nodes if n.id not in stored_nodes or n.id in gone_ids]
        changed_nodes = [n for n in put_nodes if n.id in stored_nodes and n.id not in gone_ids]
        self.state.set_dirty(True)
        self._batched("delete edges", del_edges, self.store.delete_edges)
        self._batched("delete nodes", gone, self.store.delete_nodes)
        self._batched("write nodes", new_nodes, partial(self.store.upsert_nodes, fresh=True))
        self._batched("update nodes", changed_nodes, self.store.upsert_nodes)
        self._batched("write edges", new_edges, partial(self.store.upsert_edges, fresh=True))
        self._batched("update edges", changed_edges, self.store.upsert_edges)
        gone_edges = ([k for k in stored_edges if k not in alive] if gone_ids else []) + [e.key for e in del_edges]
        self.state.apply_mirror(
            [i for i, _ in gone], [(n.id, n.kind.value, n.hash) for n in put_nodes], gone_edges,
            [(*e.key, e.src_kind.value, e.dst_kind.value, fps[e.key]) for e in put_edges])
        self.state.commit()
        for node_id, _ in gone:
            stored_nodes.pop(node_id, None)
        stored_nodes.update((n.id, (n.kind.value, n.hash)) for n in put_nodes)
        for key in gone_edges:
            stored_edges.pop(key, None)
        stored_edges.update((e.key, (e.src_kind.value, e.dst_kind.value, fps[e.key])) for e in put_edges)
        self.state.set_dirty(False)
        report.touched.update(node_id for node_id, _ in gone)
        report.touched.update(n.id for n in put_nodes)
        report.edges_put, report.edges_gone = put_edges, gone_edges
        report.written.update(nodes_deleted=len(gone), nodes_written=len(put_nodes),
                              edges_deleted=len(del_edges), edges_written=len(put_edges))

    def _batched(self, stage: str, items: list, write: Callable[[list], None]) -> None:
        # Sorted by kind (and endpoint kinds), so a batch touches as few tables as possible.
        items = sorted(items, key=_table_key)
        size = max(1, self.options.batch_size)
        for start in range(0, len(items), size):
            self.progress(stage, start, len(items))
            write(items[start:start + size])
        if items:
            self.progress(stage, len(items), len(items))

    def _rebuild_mirror(self) -> None:
        nodes = ((n.id, n.kind.value, n.hash) for n in self.store.iter_nodes())
        edges = ((*e.key, e.src_kind.value, e.dst_kind.value, e.fingerprint()) for e in self.store.iter_edges())
        self.state.replace_mirror(nodes, edges)
        self.state.commit()
        self.state.set_dirty(False)
        self._mirror = None


@dataclass
class _RootScan:
    """One root being scanned: what the state knew about its files, and the report."""

    root: str
    directory: Path
    known: dict[str, tuple[str, int, int]]  # path -> (hash, size, mtime_ns) of the stored version
    warnings: dict[str, list[str]]  # path -> warnings of the stored version
    problems: dict[str, Problem]  # path -> why the file was not taken last time
    report: IngestReport


_NODE_KINDS = {k.value: k for k in NodeKind}  # a stored kind → the enum, compared by identity


def _table_key(item: Node | Edge | tuple[str, NodeKind]) -> tuple[str, ...]:
    if isinstance(item, Edge):
        return (item.kind.value, item.src_kind.value, item.dst_kind.value)
    if isinstance(item, Node):
        return (item.kind.value,)
    return (NodeKind(item[1]).value,)


def _edge_stub(key: tuple[str, str, str], value: tuple[str, str, str]) -> Edge:
    return Edge(src=key[0], kind=key[1], dst=key[2], src_kind=NodeKind(value[0]), dst_kind=NodeKind(value[1]))
