"""The search index: exact-cosine vectors in a NumPy matrix, BM25 in SQLite FTS5.

One folder (``<db>/search``) holds:

``index.sqlite``   ``items`` (one row per searchable node: its hash and what a result shows),
                   ``fts`` (FTS5 over code-aware tokens: name, path and body columns, so the
                   name can weigh more than the body), ``emb_cache`` (vectors by content hash
                   of the embedded text and encoder name@version) and ``meta``.
``vectors-*.npy``  the vector index's float32 matrix, one unit-length row per node, with
                   spare rows; ``vectors`` (in ``index.sqlite``) says which node each row is
                   and the hash of the text it embeds (see ``search.vector_files``).

``SearchIndex.sync`` makes the index equal to the store's searchable nodes by comparing
node hashes: only new or changed nodes are re-tokenized, and only texts without a cached
vector for the current encoder are embedded — so a re-ingest embeds what changed, a new
model embeds everything once, and switching back to an earlier model is free. The vectors
live in a ``search.vectors.ExactIndex`` that a sync upserts into and deletes from: an edit
writes its own rows (in memory and in the matrix file), never the whole matrix; searchers of
the same process share it.
"""

from __future__ import annotations

import logging
import threading
import sqlite3
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embed.encoder import Encoder
from kg.errors import SearchError
from kg.model import SEARCHABLE_KINDS, Node, NodeKind, content_hash
from kg.store.base import GraphStore
from search.units import Item, embed_text, fts_fields, heading_path, note_title
from search.vector_files import StoredVectors, current_file, patch, place, select_in
from search.vectors import ExactIndex

log = logging.getLogger(__name__)

SCHEMA = 1
SNIPPET_CHARS = 2_000  # kept per node for result snippets
ENCODE_CHUNK = 512

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS items (
    rid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, hash TEXT NOT NULL, kind TEXT NOT NULL,
    root TEXT, path TEXT, name TEXT, qualname TEXT, heading TEXT, hpath TEXT, title TEXT,
    line INTEGER, text TEXT, text_hash TEXT NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    name, path, body, kind UNINDEXED, root UNINDEXED, tokenize = 'porter unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS vectors (
    id TEXT PRIMARY KEY, row INTEGER NOT NULL, text_hash TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS emb_cache (
    encoder TEXT NOT NULL, text_hash TEXT NOT NULL, vec BLOB NOT NULL,
    PRIMARY KEY (encoder, text_hash)) WITHOUT ROWID;
"""
ITEM_COLUMNS = ("id", "kind", "root", "path", "name", "qualname", "heading", "hpath", "title", "line", "text")


@dataclass
class SyncReport:
    """What one ``SearchIndex.sync`` did."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    embedded: int = 0  # texts run through the encoder
    from_cache: int = 0  # vectors found in the embedding cache
    kept: int = 0  # matrix rows kept as they were
    encoder: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": round(self.seconds, 3)}


def encoder_key(encoder: Encoder) -> str:
    """Name and version: the key under which an encoder's vectors are cached."""
    return f"{encoder.name}@{encoder.version}"


class SearchIndex:
    """Vectors and BM25 over the searchable nodes of a graph. Open with ``SearchIndex.open``."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn
        self._stored: StoredVectors | None = None  # the vectors, read on first use
        self._vector_generation = -1  # the index generation they are of
        self._vector_lock = threading.RLock()

    @classmethod
    def open(cls, path: Path) -> SearchIndex:
        """Open (creating if needed) the index folder.

        Raises:
            SearchError: the folder cannot be created or the database is unreadable.
        """
        path = Path(path)
        try:
            path.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path / "index.sqlite", check_same_thread=False, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_DDL)
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA),))
            conn.commit()
        except (OSError, sqlite3.Error) as exc:
            raise SearchError(f"cannot open the search index at {path}: {exc} "
                              "(delete the folder and run `kg index` to rebuild it)") from exc
        return cls(path, conn)

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        try:
            with self._conn:
                yield self._conn
        except sqlite3.Error as exc:
            raise SearchError(f"search index {self.path}: {exc}") from exc

    # -- state ---------------------------------------------------------------------------

    @property
    def generation(self) -> int:
        """Grows by one on every sync that changed something; searchers reload when it does."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    @property
    def graph_version(self) -> str | None:
        """The version of the graph (``ingest.state``) the index last matched, if known."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'graph_version'").fetchone()
        return str(row[0]) if row else None

    def __len__(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM items").fetchone()[0])

    def counts_by_root(self) -> dict[str, dict[str, int]]:
        """Indexed nodes per root and kind."""
        out: dict[str, dict[str, int]] = {}
        for root, kind, n in self._conn.execute("SELECT root, kind, count(*) FROM items GROUP BY root, kind"):
            out.setdefault(root or "", {})[kind] = int(n)
        return out

    def items(self, ids: Collection[str] | None = None) -> dict[str, Item]:
        """Every indexed node's display data (or only of ``ids``, those still indexed), by id
        (the text itself: see ``texts``)."""
        cols = ", ".join(ITEM_COLUMNS[:-1]) + ", length(text)"
        if ids is None:
            rows = self._conn.execute(f"SELECT {cols} FROM items").fetchall()
        else:
            wanted, rows = sorted(ids), []
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                rows += self._conn.execute(f"SELECT {cols} FROM items WHERE id IN ({','.join('?' * len(chunk))})",
                                           chunk).fetchall()
        return {r[0]: Item(*(v or "" for v in r[:-2]), line=r[-2], chars=int(r[-1] or 0)) for r in rows}

    def texts(self, ids: Sequence[str]) -> dict[str, str]:
        """The start of the text of some nodes (for snippets), by id."""
        out: dict[str, str] = {}
        ids = list(ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows = self._conn.execute(
                f"SELECT id, text FROM items WHERE id IN ({','.join('?' * len(chunk))})", chunk)
            out.update((i, t or "") for i, t in rows)
        return out

    def vectors(self) -> tuple[list[str], np.ndarray, str]:
        """(ids, matrix, encoder key) of the vector index, a copy; empty before the first sync."""
        index, key = self.vector_index()
        if not len(index):
            return [], np.zeros((0, 0), dtype=np.float32), key
        ids, matrix = index.snapshot()
        return ids, matrix, key

    def vector_index(self) -> tuple[ExactIndex, str]:
        """The live vector index and its encoder key, as of the last sync (read again from
        disk when another process has synced since).

        Raises:
            SearchError: the matrix file is missing, unreadable or shorter than its rows say.
        """
        stored = self._stored
        if stored is not None and not self._vector_lock.acquire(blocking=False):
            return stored.index, stored.key  # a sync is writing it: search what is there
        if stored is None:
            self._vector_lock.acquire()
        try:
            generation = self.generation
            if self._stored is None or self._vector_generation != generation:
                self._stored, self._vector_generation = None, generation
                self._stored = StoredVectors.load(self.path, self._conn)
            return self._stored.index, self._stored.key
        finally:
            self._vector_lock.release()

    def bm25(self, terms_query: str, limit: int, *, kinds: Sequence[str] | None = None,
             roots: Sequence[str] | None = None,
             weights: tuple[float, float, float] = (8.0, 3.0, 1.0)) -> list[tuple[str, float]]:
        """BM25 over the FTS5 table: (node id, score) best first, scores positive.

        Args:
            terms_query: an FTS5 MATCH expression (see ``search.tokenize.fts_query``).
            limit: most rows to return.
            kinds: node kinds to keep (NodeKind values, e.g. "Heading").
            roots: root names to keep.
            weights: column weights for name, path and body.
        """
        if not terms_query:
            return []
        where, params = ["fts MATCH ?"], [terms_query]
        for col, values in (("kind", kinds), ("root", roots)):
            if values:
                where.append(f"fts.{col} IN ({','.join('?' * len(values))})")
                params.extend(values)
        sql = (f"SELECT items.id, bm25(fts, ?, ?, ?) AS s FROM fts JOIN items ON items.rid = fts.rowid "
               f"WHERE {' AND '.join(where)} ORDER BY s LIMIT ?")
        try:
            rows = self._conn.execute(sql, [*weights, *params, int(limit)]).fetchall()
        except sqlite3.OperationalError as exc:
            raise SearchError(f"full-text query {terms_query!r} failed: {exc}") from exc
        return [(r[0], -float(r[1])) for r in rows]

    # -- sync ----------------------------------------------------------------------------

    def sync(self, store: GraphStore, encoder: Encoder, *, progress: bool = False,
             only: Collection[str] | None = None, graph_version: str | None = None) -> SyncReport:
        """Make the index equal to the store's searchable nodes.

        Args:
            store: the graph.
            encoder: embeds texts that have no cached vector under its name@version.
            progress: show a tqdm bar while embedding.
            only: the ids of the nodes that may have changed since the last sync (an
                ingest's ``touched``): only they are read from the store. None reads all.
            graph_version: the version of the graph the index matches once this sync is
                done (kept as ``graph_version``; None forgets it).

        Returns:
            Counts of added/changed/removed nodes and of texts embedded or found cached.

        Raises:
            SearchError: the index cannot be written.
        """
        started = time.perf_counter()
        report = SyncReport(encoder=encoder_key(encoder))
        # A process that has not loaded the vectors (a CLI ingest) patches their file in place.
        on_disk = current_file(self.path, self._conn) if only is not None and self._stored is None else None
        held = on_disk[1] if on_disk else self._loaded_encoder()
        full = only is None or held != report.encoder
        ids: list[str] = []
        if full:
            nodes = {n.id: n for n in store.iter_nodes(list(SEARCHABLE_KINDS))}
            known = dict(self._conn.execute("SELECT id, hash FROM items"))
        else:
            assert only is not None
            ids = sorted(only)
            nodes = {i: n for i, n in store.get_nodes(ids).items() if n.kind in SEARCHABLE_KINDS}
            known = dict(select_in(self._conn, "SELECT id, hash FROM items WHERE id IN ({marks})", ids))
        removed = [i for i in known if i not in nodes]
        fresh = [n for i, n in nodes.items() if known.get(i) != n.hash]
        untouched = len(self) - len(known) if only is not None else 0  # not looked at: unchanged
        report.removed, report.unchanged = len(removed), untouched + len(nodes) - len(fresh)
        report.added = sum(1 for n in fresh if n.id not in known)
        report.changed = len(fresh) - report.added
        with self._tx() as conn:
            self._delete(conn, removed + [n.id for n in fresh if n.id in known])
            self._insert(conn, fresh)
        with self._vector_lock:
            vectors_changed = self._sync_vectors(encoder, nodes, report, progress, None if full else ids,
                                                 None if full else on_disk)
            if removed or fresh or vectors_changed:
                generation = self.generation + 1
                with self._tx() as conn:
                    conn.execute("INSERT INTO meta VALUES ('generation', ?) ON CONFLICT(key) "
                                 "DO UPDATE SET value = excluded.value", (str(generation),))
                self._vector_generation = generation
        self._set_graph_version(graph_version)
        report.seconds = time.perf_counter() - started
        log.info("search index synced: %s", report.as_dict())
        return report

    def _loaded_encoder(self) -> str:
        """The key of the encoder whose vectors the index holds, loading them (a lost or
        unreadable matrix: none, so that the sync rebuilds it from the embedding cache)."""
        try:
            return self.vector_index()[1]
        except SearchError as exc:
            log.warning("%s; the vectors are rebuilt", exc)
            self._stored, self._vector_generation = StoredVectors(), self.generation
            return ""

    def _set_graph_version(self, version: str | None) -> None:
        # Written last: a sync that dies before here leaves the version it had, an older one.
        with self._tx() as conn:
            conn.execute("DELETE FROM meta WHERE key = 'graph_version'")
            if version is not None:
                conn.execute("INSERT INTO meta VALUES ('graph_version', ?)", (version,))

    def _delete(self, conn: sqlite3.Connection, ids: list[str]) -> None:
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            conn.execute(f"DELETE FROM fts WHERE rowid IN (SELECT rid FROM items WHERE id IN ({marks}))", chunk)
            conn.execute(f"DELETE FROM items WHERE id IN ({marks})", chunk)

    def _insert(self, conn: sqlite3.Connection, nodes: list[Node]) -> None:
        for node in nodes:
            title = note_title(node) if node.kind in (NodeKind.NOTE, NodeKind.HEADING, NodeKind.BLOCK) else ""
            hpath = heading_path(node) if node.kind == NodeKind.HEADING else ""
            heading = node.heading or hpath.rsplit(" > ", 1)[-1]
            cur = conn.execute(
                "INSERT INTO items (id, hash, kind, root, path, name, qualname, heading, hpath, title, line, "
                "text, text_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (node.id, node.hash, node.kind.value, node.root, node.path, node.name, node.qualname,
                 heading, hpath, title, node.start_line, node.text[:SNIPPET_CHARS],
                 content_hash(embed_text(node))))
            conn.execute("INSERT INTO fts (rowid, name, path, body, kind, root) VALUES (?,?,?,?,?,?)",
                         (cur.lastrowid, *fts_fields(node), node.kind.value, node.root))

    # -- vectors -------------------------------------------------------------------------

    def _sync_vectors(self, encoder: Encoder, nodes: dict[str, Node], report: SyncReport,
                      progress: bool, only: Collection[str] | None, on_disk: tuple[Path, str] | None) -> bool:
        """Upsert the vectors whose text changed and delete those of nodes gone; ``only``: the
        ids that may have changed (None: look at every indexed node); ``on_disk``: the matrix
        file and its encoder, when this process has not loaded the vectors and need not."""
        key = encoder_key(encoder)
        if only is not None and on_disk is not None and on_disk[1] == key:
            ids = sorted(only)
            hashes = dict(select_in(self._conn, "SELECT id, text_hash FROM vectors WHERE id IN ({marks})", ids))
            held = int(self._conn.execute("SELECT count(*) FROM vectors").fetchone()[0])
            stale, gone = self._stale(ids, hashes, held, report)
            if not stale and not gone:
                return False
            rows = place(on_disk[0], self._conn, sorted(stale), gone)
            if rows is not None:  # else too few spare rows: the index is loaded, and grows
                found = self._vectors_of(encoder, key, nodes, stale, report, progress)
                patch(on_disk[0], self._tx, rows, {i: (found[w[0]], w[0]) for i, w in stale.items()}, gone)
                return True
        self.vector_index()
        stored = self._stored
        assert stored is not None
        fresh = stored.key != key  # another encoder: its vectors are a new index (from the cache
        if fresh:                  # where it can), which searches see once it is complete
            stored, only = StoredVectors(key=key), None
        index, hashes = stored.index, stored.hashes
        stale, gone = self._stale(None if only is None else sorted(only), hashes, len(hashes), report)
        if not stale and not gone:
            if (fresh or stored.saved_layout != index.layout) and len(index):  # the first layout: written anew
                stored.save(self.path, self._tx, [], [], whole=True)
            return False
        found = self._vectors_of(encoder, key, nodes, stale, report, progress)
        order = sorted(stale)
        index.delete(gone)
        if order:
            index.upsert(order, np.stack([found[stale[i][0]] for i in order]),
                         [(stale[i][1], stale[i][2] or "") for i in order])
        for node_id in gone:
            hashes.pop(node_id, None)
        hashes.update((i, stale[i][0]) for i in order)
        stored.save(self.path, self._tx, order, gone, whole=fresh)
        self._stored = stored
        return True

    def _stale(self, ids: list[str] | None, hashes: dict[str, str], held: int,
               report: SyncReport) -> tuple[dict[str, tuple[str, str, str]], list[str]]:
        """The indexed nodes among ``ids`` (None: all) whose vector is missing or embeds another
        text, as id → (text hash, kind, root), and the ids whose vectors go; ``hashes``: the
        text hashes of the vectors held (of at least ``ids``), ``held`` how many there are."""
        if ids is None:
            wanted = {r[0]: r[1:] for r in self._conn.execute("SELECT id, text_hash, kind, root FROM items")}
            gone = [i for i in hashes if i not in wanted]
        else:
            wanted = {r[0]: r[1:] for r in select_in(
                self._conn, "SELECT id, text_hash, kind, root FROM items WHERE id IN ({marks})", ids)}
            gone = [i for i in ids if i not in wanted and i in hashes]
        stale = {i: w for i, w in wanted.items() if hashes.get(i) != w[0]}
        report.kept = held - len(gone) - sum(1 for i in stale if i in hashes)
        return stale, gone

    def _vectors_of(self, encoder: Encoder, key: str, nodes: dict[str, Node],
                    stale: dict[str, tuple[str, str, str]], report: SyncReport, progress: bool) -> dict[str, np.ndarray]:
        """The vector of each stale text, by its hash: from the embedding cache, else embedded now."""
        found = self._cached(key, sorted({w[0] for w in stale.values()}))
        report.from_cache = sum(1 for w in stale.values() if w[0] in found)
        texts = {w[0]: embed_text(nodes[i]) for i, w in stale.items() if w[0] not in found}
        report.embedded = len(texts)
        found.update(self._embed(encoder, key, texts, progress))
        return found

    def vectors_for(self, encoder: Encoder, store: GraphStore, *,
                    progress: bool = False) -> tuple[list[str], np.ndarray]:
        """``(ids, matrix)`` of every node the index holds, under another encoder, leaving the
        index's own matrix as it is (to try a model before promoting it). The texts are the
        ones the index last synced (sync first for a fresh view); their vectors go to the
        cache, so promoting that encoder later embeds nothing again.

        Raises:
            SearchError: an indexed node's text is neither cached nor in the store any more
                (the store changed since the last sync).
        """
        key = encoder_key(encoder)
        wanted = dict(self._conn.execute("SELECT id, text_hash FROM items ORDER BY rid"))
        found = self._cached(key, sorted(set(wanted.values())))
        missing = set(wanted.values()) - set(found)
        if missing:
            texts: dict[str, str] = {}
            for node in store.iter_nodes(list(SEARCHABLE_KINDS)):
                text = embed_text(node)
                digest = content_hash(text)
                if wanted.get(node.id) == digest and digest in missing:
                    texts[digest] = text
            found.update(self._embed(encoder, key, texts, progress))
        lost = [i for i, h in wanted.items() if h not in found]
        if lost:
            raise SearchError(f"{len(lost)} indexed node(s) changed in the store since the last sync "
                              f"(e.g. {lost[0]}); run `kg index` first")
        ids = list(wanted)
        matrix = np.stack([found[wanted[i]] for i in ids]) if ids else np.zeros((0, encoder.dim))
        return ids, np.ascontiguousarray(matrix, dtype=np.float32)

    def _cached(self, key: str, hashes: list[str]) -> dict[str, np.ndarray]:
        rows = select_in(self._conn, "SELECT text_hash, vec FROM emb_cache WHERE encoder = ? AND text_hash IN ({marks})",
                         hashes, key)
        return {h: np.frombuffer(v, dtype=np.float32) for h, v in rows}

    def _embed(self, encoder: Encoder, key: str, texts: dict[str, str],
               progress: bool) -> dict[str, np.ndarray]:
        if not texts:
            return {}
        hashes = list(texts)
        # Longest first, in chunks: each chunk is committed to the cache, so an interrupted
        # sync resumes where it stopped; sorting by length keeps padding per batch small.
        hashes.sort(key=lambda h: -len(texts[h]))
        bar = _bar(len(hashes), f"embedding ({encoder.name})") if progress else None
        out: dict[str, np.ndarray] = {}
        for start in range(0, len(hashes), ENCODE_CHUNK):
            chunk = hashes[start:start + ENCODE_CHUNK]
            vecs = np.asarray(encoder.encode([texts[h] for h in chunk]), dtype=np.float32)
            with self._tx() as conn:
                conn.executemany("INSERT OR REPLACE INTO emb_cache VALUES (?, ?, ?)",
                                 [(key, h, v.tobytes()) for h, v in zip(chunk, vecs)])
            out.update(zip(chunk, vecs))
            if bar is not None:
                bar.update(len(chunk))
        if bar is not None:
            bar.close()
        return out


def _bar(total: int, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="text", leave=False)
