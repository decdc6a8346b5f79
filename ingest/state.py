"""The ingest state beside the graph: parsed files, and what the store holds.

SQLite (stdlib). ``files`` keeps each file's content hash and its parsed form, and
``file_warnings`` its warnings, so an unchanged file is never parsed again, resolution can
run over every file of every root, and a file that is still bad is reported on every run
(``meta`` keeps the last resolution's counts and warnings for the same reason).
``problems`` keeps the files that were read but not taken (binary, minified) with their
hash, so they too are reported again without being read again. ``stored_nodes`` and
``stored_edges`` mirror what was written to the graph store, so a re-ingest writes only the
difference. A ``dirty`` mark is set while the store is being written; if a run dies there
(``kill -9``), the next run rebuilds the mirror from the store itself before diffing.

Schema changes are numbered, idempotent migrations (``_MIGRATIONS``), applied in order on
open and recorded in ``PRAGMA user_version``.
"""

from __future__ import annotations

import contextlib
import json
import pickle
import sqlite3
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from ingest.link_cache import LinkRecord
from ingest.types import ParsedFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS roots (name TEXT PRIMARY KEY, dir TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    root TEXT NOT NULL, path TEXT NOT NULL, kind TEXT NOT NULL, hash TEXT NOT NULL,
    size INTEGER, mtime_ns INTEGER, parsed BLOB NOT NULL, PRIMARY KEY (root, path));
CREATE TABLE IF NOT EXISTS stored_nodes (id TEXT PRIMARY KEY, kind TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stored_edges (
    src TEXT NOT NULL, kind TEXT NOT NULL, dst TEXT NOT NULL, src_kind TEXT NOT NULL,
    dst_kind TEXT NOT NULL, fp TEXT NOT NULL, PRIMARY KEY (src, kind, dst));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""


def _migrate_1(db: sqlite3.Connection) -> None:
    """Each file's warnings; the files read but not taken.

    The warnings have a table of their own, holding only files that have any: a column of
    ``files`` would sit behind the parsed blob, and reading it would read every blob.
    """
    db.execute("""CREATE TABLE IF NOT EXISTS file_warnings (
        root TEXT NOT NULL, path TEXT NOT NULL, warnings TEXT NOT NULL, PRIMARY KEY (root, path))""")
    db.execute("""CREATE TABLE IF NOT EXISTS problems (
        root TEXT NOT NULL, path TEXT NOT NULL, hash TEXT NOT NULL, size INTEGER, mtime_ns INTEGER,
        kind TEXT NOT NULL, message TEXT NOT NULL, PRIMARY KEY (root, path))""")
    for root, path, blob in db.execute("SELECT root, path, parsed FROM files"):
        warnings = pickle.loads(blob).warnings  # once, on upgrade: they are in the parsed form
        if warnings:
            db.execute("INSERT OR REPLACE INTO file_warnings VALUES (?, ?, ?)",
                       (root, path, json.dumps(warnings)))


def _migrate_2(db: sqlite3.Connection) -> None:
    """Each file's link record (``ingest.link_cache.LinkRecord``), kept so that a new process
    resolves only the links a change can reach. A row outlives its file until an update has
    seen the file go."""
    db.execute("""CREATE TABLE IF NOT EXISTS link_records (
        root TEXT NOT NULL, path TEXT NOT NULL, record BLOB NOT NULL, PRIMARY KEY (root, path))""")


_MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_migrate_1, _migrate_2)


class Problem(NamedTuple):
    """A file that was read but not taken: ``kind`` is 'skipped' (binary, minified: not in the
    graph, kept in the state until the file changes) or 'failed' (its parser failed; the
    previous version, if any, stays; never kept, so the next run tries again)."""

    hash: str
    size: int
    mtime_ns: int
    kind: str
    message: str


class Peek(NamedTuple):
    """What a reader may know of the state without waiting for a writer."""

    roots: dict[str, Path]
    ingested_at: dict[str, float]  # root name → when an ingest last scanned it (Unix time)
    graph_version: str | None  # see IngestState.graph_version; None while an ingest is writing


class IngestState:
    """Parsed files and the mirror of the store, in one SQLite file."""

    def __init__(self, path: Path, parser_version: str | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # One writer at a time is the caller's rule (a server's workspace holds a write lock);
        # the connection may then serve whichever thread that writer runs in.
        self.db = sqlite3.connect(str(path), check_same_thread=False)
        self.db.executescript(_SCHEMA)
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        for number, migrate in enumerate(_MIGRATIONS, 1):
            if number > version:
                migrate(self.db)
                self.db.execute(f"PRAGMA user_version = {number:d}")  # PRAGMA takes no parameters
                self.db.commit()
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('state_id', ?)", (uuid.uuid4().hex[:16],))
        self.db.commit()
        if parser_version is not None:
            self._check_parser(parser_version)

    def _check_parser(self, version: str) -> None:
        """Forget every file's hash when the files were parsed by another parser version, so
        that each is parsed again (and kept in the graph meanwhile)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'parser_version'").fetchone()
        if row is not None and row[0] == version:
            return
        if row is not None:
            self.db.execute("UPDATE files SET hash = '', size = -1")
            self.db.execute("DELETE FROM problems")
            self.db.execute("DELETE FROM link_records")
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('parser_version', ?)", (version,))
        self.db.commit()

    def close(self) -> None:
        self.db.close()

    # roots
    def roots(self) -> dict[str, Path]:
        return {name: Path(d) for name, d in self.db.execute("SELECT name, dir FROM roots")}

    @staticmethod
    def peek(path: Path) -> Peek:
        """The roots, when each was last scanned and the graph's version, read without writing
        anything (so without waiting for an ingest that is writing meanwhile); empty for a
        state not made yet."""
        try:
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)) as db:
                roots = {name: Path(d) for name, d in db.execute("SELECT name, dir FROM roots")}
                meta = dict(db.execute("SELECT key, value FROM meta"))
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc) or "unable to open" in str(exc):
                return Peek({}, {}, None)
            raise
        data = json.loads(meta.get("ingested_at") or "{}")
        version = None if meta.get("dirty") == "1" else _version(meta)
        return Peek(roots, {str(k): float(v) for k, v in data.items()}, version)

    def set_root(self, name: str, directory: Path) -> None:
        self.db.execute("INSERT OR REPLACE INTO roots VALUES (?, ?)", (name, str(directory)))

    def ingested_at(self) -> dict[str, float]:
        """Root name → when an ingest last scanned it (Unix time)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'ingested_at'").fetchone()
        data = json.loads(row[0]) if row else {}
        return {str(k): float(v) for k, v in data.items()}

    def set_ingested_at(self, name: str, when: float) -> None:
        data = self.ingested_at()
        data[name] = when
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('ingested_at', ?)", (json.dumps(data),))

    # files
    def file_index(self, root: str) -> dict[str, tuple[str, int, int]]:
        """path -> (hash, size, mtime_ns) for one root."""
        rows = self.db.execute("SELECT path, hash, size, mtime_ns FROM files WHERE root = ?", (root,))
        return {p: (h, s, m) for p, h, s, m in rows}

    def put_file(self, parsed: ParsedFile, size: int, mtime_ns: int) -> None:
        for edge in parsed.edges:
            edge.fingerprint()  # stored with the file: unchanged files never hash their edges again
        blob = pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL)
        self._behind()
        self.db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (parsed.root, parsed.path, parsed.kind, parsed.hash, size, mtime_ns, blob))
        self.db.execute("DELETE FROM file_warnings WHERE root = ? AND path = ?", (parsed.root, parsed.path))
        if parsed.warnings:
            self.db.execute("INSERT INTO file_warnings VALUES (?, ?, ?)",
                            (parsed.root, parsed.path, json.dumps(parsed.warnings)))

    def touch_file(self, root: str, path: str, size: int, mtime_ns: int) -> None:
        self.db.execute("UPDATE files SET size = ?, mtime_ns = ? WHERE root = ? AND path = ?",
                        (size, mtime_ns, root, path))

    def delete_file(self, root: str, path: str) -> None:
        self._behind()
        self.db.execute("DELETE FROM files WHERE root = ? AND path = ?", (root, path))
        self.db.execute("DELETE FROM file_warnings WHERE root = ? AND path = ?", (root, path))

    def file_warnings(self, root: str) -> dict[str, list[str]]:
        """path -> the warnings of its stored version, for the files of one root that have any."""
        rows = self.db.execute("SELECT path, warnings FROM file_warnings WHERE root = ?", (root,))
        return {p: json.loads(w) for p, w in rows}

    # files read but not taken
    def problems(self, root: str) -> dict[str, Problem]:
        rows = self.db.execute("SELECT path, hash, size, mtime_ns, kind, message FROM problems WHERE root = ?",
                               (root,))
        return {p: Problem(h, s, m, k, msg) for p, h, s, m, k, msg in rows}

    def put_problem(self, root: str, path: str, problem: Problem) -> None:
        self.db.execute("INSERT OR REPLACE INTO problems VALUES (?, ?, ?, ?, ?, ?, ?)", (root, path, *problem))

    def delete_problem(self, root: str, path: str) -> None:
        self.db.execute("DELETE FROM problems WHERE root = ? AND path = ?", (root, path))

    def keep_problems(self, root: str, paths: set[str]) -> None:
        """Forget the problems of files of ``root`` that are no longer found."""
        gone = [(root, p) for (p,) in self.db.execute("SELECT path FROM problems WHERE root = ?", (root,))
                if p not in paths]
        self.db.executemany("DELETE FROM problems WHERE root = ? AND path = ?", gone)

    # what the last resolution found (reported again when nothing changed)
    def resolution(self) -> tuple[dict[str, int], list[str]]:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'resolution'").fetchone()
        data = json.loads(row[0]) if row else {}
        return data.get("stats", {}), data.get("warnings", [])

    def set_resolution(self, stats: dict[str, int], warnings: list[str]) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('resolution', ?)",
                        (json.dumps({"stats": stats, "warnings": warnings}),))

    def link_records(self) -> Iterator[tuple[tuple[str, str], LinkRecord]]:
        """Each file's link record, as the last resolution left it."""
        for root, path, blob in self.db.execute("SELECT root, path, record FROM link_records"):
            yield (root, path), pickle.loads(blob)

    def save_link_records(self, records: dict[tuple[str, str], LinkRecord | None]) -> None:
        """Write these link records (None: delete the file's)."""
        for record in records.values():
            for edge in record.part.edges if record is not None and record.part is not None else ():
                edge.fingerprint()  # kept with the record: a later process never hashes them again
        self.db.executemany("DELETE FROM link_records WHERE root = ? AND path = ?",
                            [key for key, record in records.items() if record is None])
        self.db.executemany("INSERT OR REPLACE INTO link_records VALUES (?, ?, ?)",
                            [(*key, pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))
                             for key, record in records.items() if record is not None])

    def parsed_files(self) -> Iterator[ParsedFile]:
        for (blob,) in self.db.execute("SELECT parsed FROM files ORDER BY root, path"):
            yield pickle.loads(blob)

    def paths_by_root(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for root, path in self.db.execute("SELECT root, path FROM files ORDER BY root, path"):
            out.setdefault(root, []).append(path)
        return out

    # the mirror of the store
    def stored_nodes(self) -> dict[str, tuple[str, str]]:
        return {i: (k, h) for i, k, h in self.db.execute("SELECT id, kind, hash FROM stored_nodes")}

    def stored_edges(self) -> dict[tuple[str, str, str], tuple[str, str, str]]:
        rows = self.db.execute("SELECT src, kind, dst, src_kind, dst_kind, fp FROM stored_edges")
        return {(s, k, d): (sk, dk, fp) for s, k, d, sk, dk, fp in rows}

    def stored_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM stored_nodes").fetchone()[0]

    def stored_counts(self) -> tuple[Counter[str], Counter[str]]:
        """Nodes and edges the store holds, by kind."""
        nodes = Counter(dict(self.db.execute("SELECT kind, count(*) FROM stored_nodes GROUP BY kind")))
        edges = Counter(dict(self.db.execute("SELECT kind, count(*) FROM stored_edges GROUP BY kind")))
        return nodes, edges

    def replace_mirror(self, nodes: Iterable[tuple[str, str, str]],
                       edges: Iterable[tuple[str, str, str, str, str, str]]) -> None:
        self.db.execute("DELETE FROM stored_nodes")
        self.db.execute("DELETE FROM stored_edges")
        self.db.executemany("INSERT OR REPLACE INTO stored_nodes VALUES (?, ?, ?)", nodes)
        self.db.executemany("INSERT OR REPLACE INTO stored_edges VALUES (?, ?, ?, ?, ?, ?)", edges)

    def apply_mirror(self, del_nodes: Iterable[str], put_nodes: Iterable[tuple[str, str, str]],
                     del_edges: Iterable[tuple[str, str, str]],
                     put_edges: Iterable[tuple[str, str, str, str, str, str]]) -> None:
        self.db.executemany("DELETE FROM stored_nodes WHERE id = ?", ((i,) for i in del_nodes))
        self.db.executemany("INSERT OR REPLACE INTO stored_nodes VALUES (?, ?, ?)", put_nodes)
        self.db.executemany("DELETE FROM stored_edges WHERE src = ? AND kind = ? AND dst = ?", del_edges)
        self.db.executemany("INSERT OR REPLACE INTO stored_edges VALUES (?, ?, ?, ?, ?, ?)", put_edges)

    # the marks
    def is_behind(self) -> bool:
        """Whether files were taken in or dropped since the graph was last made from them (a
        run that died after its scan): the next run makes it again even if no file changed.
        Set with every such change, in its transaction; cleared by ``made``."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'behind'").fetchone()
        return bool(row and row[0] == "1")

    def made(self) -> None:
        """The graph has been made from the files as they are now."""
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('behind', '0')")

    def _behind(self) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('behind', '1')")

    def is_dirty(self) -> bool:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'dirty'").fetchone()
        return bool(row and row[0] == "1")

    def set_dirty(self, dirty: bool) -> None:
        """Mark the store as being written (True) or written (False); being written is a new
        version of the graph, even if the write dies half-way."""
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('dirty', ?)", ("1" if dirty else "0",))
        if dirty:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'graph_writes'").fetchone()
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('graph_writes', ?)", (str(int(row[0]) + 1 if row else 1),))
        self.db.commit()

    def graph_version(self) -> str:
        """Changes whenever the store is written: the search index remembers the version it
        last matched, so that a later process can sync only what an ingest touched since.
        It is this state's own id (a state made again never repeats a version) and a count."""
        return _version(dict(self.db.execute("SELECT key, value FROM meta WHERE key IN ('state_id', 'graph_writes')")))

    def commit(self) -> None:
        self.db.commit()


def _version(meta: dict[str, str]) -> str:
    return f"{meta.get('state_id', '')}.{meta.get('graph_writes', '0')}"
