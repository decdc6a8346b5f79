"""The incremental ingest pipeline: discover → parse what changed → resolve → write the diff.

Unchanged files (same size and mtime, or same content hash) are never parsed again; their
parsed form comes from ``IngestState``. Resolution (links, imports, calls, mentions) runs
over every file of every ingested root, so a renamed heading or function re-targets the
edges that point at it; only the difference between that graph and what the store holds
is written, in batches, through ``GraphStore``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from ingest.discover import Found, discover
from ingest.state import IngestState
from ingest.types import ParsedFile
from kg.errors import IngestError
from kg.model import Edge, Node, NodeKind, check_pair, content_hash
from kg.store.base import GraphStore

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


@dataclass
class IngestOptions:
    max_file_bytes: int = 2_000_000
    batch_size: int = 2_000
    links_in_comments: bool = False


@dataclass
class IngestReport:
    """What an ingest did, for the summary a user reads."""

    files: Counter[str] = field(default_factory=Counter)  # added/changed/removed/unchanged/failed
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (root/path, reason)
    warnings: list[str] = field(default_factory=list)  # "root/path: message"
    nodes: Counter[str] = field(default_factory=Counter)  # graph totals by kind
    edges: Counter[str] = field(default_factory=Counter)
    written: Counter[str] = field(default_factory=Counter)
    resolution: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "files": dict(self.files), "skipped": len(self.skipped),
            "skipped_by_reason": dict(Counter(_reason_key(r) for _, r in self.skipped)),
            "warnings": len(self.warnings), "nodes": dict(self.nodes), "edges": dict(self.edges),
            "written": dict(self.written), "resolution": dict(self.resolution),
            "seconds": round(self.seconds, 3),
        }


def _reason_key(reason: str) -> str:
    return reason.split(" (")[0].split(":")[0]


class Pipeline:
    """Ingests roots into a GraphStore, incrementally.

    Args:
        store: where the graph is written.
        state_path: the SQLite file that remembers parsed files and what the store holds.
        options: size limits, batch size, comment handling.
        progress: called as ``progress(stage, done, total)`` during long work.
    """

    def __init__(self, store: GraphStore, state_path: Path, options: IngestOptions | None = None,
                 progress: Progress | None = None) -> None:
        self.store = store
        self.state = IngestState(state_path)
        self.options = options or IngestOptions()
        self.progress = progress or (lambda stage, done, total: None)

    def close(self) -> None:
        self.state.close()

    def ingest(self, roots: Sequence[tuple[str, Path]]) -> IngestReport:
        """Ingest (or re-ingest) the given roots; other known roots stay as they are.

        Raises:
            IngestError: a root does not exist, or two roots share a name.
        """
        started = time.perf_counter()
        report = IngestReport()
        known = self.state.roots()
        for name, directory in roots:
            directory = directory.resolve()
            if not directory.is_dir():
                raise IngestError(f"{directory} is not a folder (give a vault or repository root)")
            if name in known and known[name] != directory:
                raise IngestError(f"a root named {name!r} is already ingested from {known[name]}; "
                                  f"use --name to give {directory} another name")
            self.state.set_root(name, directory)
            self._scan_root(name, directory, report)
        self.state.commit()
        if report.files.keys() - {"unchanged"} or self.state.is_dirty() or not self.state.stored_count():
            self.refresh(report)
        else:  # nothing changed on disk: the graph is already right
            counts = self.state.stored_counts()
            report.nodes, report.edges = counts
        report.seconds = time.perf_counter() - started
        return report

    def refresh(self, report: IngestReport | None = None) -> IngestReport:
        """Resolve every stored file again and write the difference to the store."""
        report = report or IngestReport()
        if self.state.is_dirty():
            log.warning("the last ingest stopped while writing; rebuilding its record from the store")
            self._rebuild_mirror()
        parsed = list(self.state.parsed_files())
        nodes, edges = self._resolve(parsed, report)
        self._write(nodes, edges, report)
        report.nodes = Counter(n.kind.value for n in nodes.values())
        report.edges = Counter(e.kind.value for e in edges.values())
        return report

    # -- scanning and parsing ------------------------------------------------------------

    def _scan_root(self, root: str, directory: Path, report: IngestReport) -> None:
        found = discover(directory, max_bytes=self.options.max_file_bytes)
        report.skipped += [(f"{root}/{p}", reason) for p, reason in found.skipped]
        for path, reason in found.skipped:
            log.info("skipped %s/%s: %s", root, path, reason)
        known = self.state.file_index(root)
        seen: set[str] = set()
        for i, item in enumerate(found.files):
            self.progress(f"scan {root}", i, len(found.files))
            seen.add(item.path)
            self._scan_file(root, item, known.get(item.path), report)
        self.progress(f"scan {root}", len(found.files), len(found.files))
        for path in sorted(set(known) - seen):
            self.state.delete_file(root, path)
            report.files["removed"] += 1

    def _scan_file(self, root: str, item: Found, known: tuple[str, int, int] | None,
                   report: IngestReport) -> None:
        if known and known[1] == item.size and known[2] == item.mtime_ns:
            report.files["unchanged"] += 1
            return
        if item.kind == "attachment":
            parsed = ParsedFile(root=root, path=item.path, kind="attachment",
                                hash=f"{item.size}-{item.mtime_ns}")
        else:
            try:
                data = item.abs_path.read_bytes()
            except OSError as exc:
                self._skip(report, root, item.path, f"unreadable: {exc.strerror or exc}")
                return
            digest = content_hash(data)
            if known and known[0] == digest:
                self.state.touch_file(root, item.path, item.size, item.mtime_ns)
                report.files["unchanged"] += 1
                return
            parsed = self._parse(root, item, data, report)
            if parsed is None:
                return
            parsed.hash = digest
        self.state.put_file(parsed, item.size, item.mtime_ns)
        report.files["changed" if known else "added"] += 1
        report.warnings += [f"{root}/{item.path}: {w}" for w in parsed.warnings]
        for warning in parsed.warnings:
            log.warning("%s/%s: %s", root, item.path, warning)

    def _skip(self, report: IngestReport, root: str, path: str, reason: str) -> None:
        report.skipped.append((f"{root}/{path}", reason))
        log.warning("skipped %s/%s: %s", root, path, reason)

    def _parse(self, root: str, item: Found, data: bytes, report: IngestReport) -> ParsedFile | None:
        if b"\x00" in data[:8192]:
            self._skip(report, root, item.path, "binary content")
            return None
        warnings = []
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            text = data.decode("utf-8", errors="replace")
            warnings.append(f"invalid UTF-8 at byte {exc.start}; decoded with replacement characters")
        try:
            parsed = self._parse_text(root, item, text, data, report)
        except Exception as exc:  # a parser bug must not stop the other files
            log.exception("cannot parse %s/%s", root, item.path)
            report.files["failed"] += 1
            report.warnings.append(f"{root}/{item.path}: cannot parse ({type(exc).__name__}: {exc}); "
                                   "its previous version, if any, is kept")
            return None
        if parsed is not None:
            parsed.warnings = warnings + parsed.warnings
        return parsed

    def _parse_text(self, root: str, item: Found, text: str, data: bytes,
                    report: IngestReport) -> ParsedFile | None:
        if item.kind == "note":
            from ingest.obsidian import parse_note

            return parse_note(root, item.path, text, links_in_comments=self.options.links_in_comments)
        from ingest.code import is_minified, parse_code

        if is_minified(text):
            self._skip(report, root, item.path, "minified bundle")
            return None
        return parse_code(root, item.path, text.encode("utf-8"))

    # -- resolution ------------------------------------------------------------------------

    def _resolve(self, parsed: list[ParsedFile], report: IngestReport) -> tuple[dict[str, Node], dict[tuple[str, str, str], Edge]]:
        from ingest.code_resolve import resolve_code
        from ingest.links import LinkIndex, resolve_links
        from ingest.mentions import resolve_mentions

        self.progress("resolve", 0, 3)
        roots = self.state.roots()
        nodes: dict[str, Node] = {}
        edges: dict[tuple[str, str, str], Edge] = {}
        for pf in parsed:
            _add_nodes(nodes, pf.nodes)
        notes = [pf for pf in parsed if pf.kind == "note"]
        code = [pf for pf in parsed if pf.kind == "code"]
        links = resolve_links(parsed, LinkIndex.build(parsed, self.state.paths_by_root(), roots))
        self.progress("resolve", 1, 3)
        code_res = resolve_code(code, roots)
        self.progress("resolve", 2, 3)
        mentions = resolve_mentions(parsed)
        self.progress("resolve", 3, 3)
        for res in (links, code_res, mentions):
            _add_nodes(nodes, getattr(res, "nodes", []))
            report.resolution.update(res.stats)
            report.warnings += res.warnings
        all_edges: list[Iterable[Edge]] = [pf.edges for pf in parsed]
        all_edges += [links.edges, code_res.edges, mentions.edges]
        for group in all_edges:
            for edge in group:
                if edge.src in nodes and edge.dst in nodes and check_pair(edge.kind, edge.src_kind, edge.dst_kind) \
                        and nodes[edge.src].kind == edge.src_kind and nodes[edge.dst].kind == edge.dst_kind:
                    edges.setdefault(edge.key, edge)
                else:
                    report.resolution["edges_dropped_invalid"] += 1
                    log.debug("dropped invalid edge %s", edge)
        del notes
        return nodes, edges

    # -- writing the difference ----------------------------------------------------------

    def _write(self, nodes: dict[str, Node], edges: dict[tuple[str, str, str], Edge],
               report: IngestReport) -> None:
        stored_nodes = self.state.stored_nodes()
        stored_edges = self.state.stored_edges()
        gone = [(i, k) for i, (k, _) in stored_nodes.items() if i not in nodes or nodes[i].kind.value != k]
        gone_ids = {i for i, _ in gone}
        put_nodes = [n for i, n in nodes.items()
                     if i not in stored_nodes or i in gone_ids or stored_nodes[i][1] != n.hash]
        # Deleting a node detaches its edges: they are gone from the store as well.
        alive = {k: v for k, v in stored_edges.items() if k[0] not in gone_ids and k[2] not in gone_ids}
        fps = {key: edge.fingerprint() for key, edge in edges.items()}
        new_edges = [e for key, e in edges.items() if key not in alive]
        changed_edges = [e for key, e in edges.items() if key in alive and alive[key][2] != fps[key]]
        put_edges = new_edges + changed_edges
        del_edges = [_edge_stub(k, v) for k, v in alive.items() if k not in edges]
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
        self.state.apply_mirror(
            [i for i, _ in gone], [(n.id, n.kind.value, n.hash) for n in put_nodes],
            [k for k in stored_edges if k not in alive] + [e.key for e in del_edges],
            [(*e.key, e.src_kind.value, e.dst_kind.value, fps[e.key]) for e in put_edges])
        self.state.commit()
        self.state.set_dirty(False)
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


def _table_key(item: Node | Edge | tuple[str, NodeKind]) -> tuple[str, ...]:
    if isinstance(item, Edge):
        return (item.kind.value, item.src_kind.value, item.dst_kind.value)
    if isinstance(item, Node):
        return (item.kind.value,)
    return (NodeKind(item[1]).value,)


def _add_nodes(nodes: dict[str, Node], new: Iterable[Node]) -> None:
    for node in new:
        nodes.setdefault(node.id, node)


def _edge_stub(key: tuple[str, str, str], value: tuple[str, str, str]) -> Edge:
    return Edge(src=key[0], kind=key[1], dst=key[2], src_kind=NodeKind(value[0]), dst_kind=NodeKind(value[1]))
