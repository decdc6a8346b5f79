"""The vector index as a search index folder keeps it between processes.

The matrix is a ``.npy`` file (``vectors-*.npy``; ``vectors.npy`` in indexes written before
files were named) with spare rows. The ``vectors`` table of ``index.sqlite`` maps each node
to its row and the hash of the text its vector embeds; ``meta`` names the file and the
encoder. An edit writes its own rows in place. Only a renumbering (the index grew), another
encoder or a missing file writes the whole matrix, into a new file that one transaction then
makes current: a crash before it leaves the old file and row map as they were, and a reader
in another process that finds its file replaced reads again. The first layout (a
``vectors.json`` row map) is read as it is and written anew on the next sync.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kg.errors import SearchError
from search.vectors import ExactIndex

LEGACY_FILE = "vectors.npy"  # the matrix of an index whose meta names no file
Transaction = Callable[[], AbstractContextManager[sqlite3.Connection]]


@dataclass
class StoredVectors:
    """A vector index with what says which text each vector embeds, as last saved."""

    index: ExactIndex = field(default_factory=lambda: ExactIndex(0))
    key: str = ""  # the encoder's name@version
    hashes: dict[str, str] = field(default_factory=dict)  # node id → hash of the text its vector embeds
    file: str = LEGACY_FILE
    saved_layout: int = -1  # the index layout its file holds (-1: none: the next save writes it whole)

    @classmethod
    def load(cls, folder: Path, conn: sqlite3.Connection) -> StoredVectors:
        """Read what ``folder`` holds (empty when nothing: the next sync builds it from the
        embedding cache). The row map and the name of the file it points into are read in one
        statement; a file replaced meanwhile is read again.

        Raises:
            SearchError: the matrix file is missing, unreadable or shorter than its rows say.
        """
        for attempt in range(3):
            rows = conn.execute(
                "SELECT vectors.id, vectors.row, vectors.text_hash, items.kind, items.root, "
                "(SELECT value FROM meta WHERE key = 'vectors_file'), "
                "(SELECT value FROM meta WHERE key = 'vectors_encoder') "
                "FROM vectors LEFT JOIN items ON items.id = vectors.id").fetchall()
            name, key = (rows[0][5] or LEGACY_FILE, rows[0][6] or "") if rows else (LEGACY_FILE, "")
            legacy = not rows
            if legacy:
                rows, key = _legacy_rows(folder, conn)
            if not rows:
                return cls()
            try:
                matrix = np.load(folder / name, mmap_mode="r")
                break
            except FileNotFoundError as exc:
                if attempt == 2:
                    raise SearchError(f"{folder / name} is missing; run `kg index` to rebuild it") from exc
            except (OSError, ValueError) as exc:
                raise SearchError(f"{folder / name} is unreadable ({exc}); run `kg index`") from exc
        used = max(r[1] for r in rows) + 1
        if matrix.ndim != 2 or matrix.shape[0] < used:
            raise SearchError(f"{folder / name} has {matrix.shape[0]} rows where row {used - 1} "
                              "is in use; run `kg index` to repair it")
        ids: list[str | None] = [None] * used
        labels: list[tuple[str, str] | None] = [None] * used
        hashes = {}
        for node_id, row, text_hash, kind, root, *_ in rows:
            if kind is not None:  # a node no longer indexed: the next sync deletes its row
                ids[row], labels[row] = node_id, (kind, root or "")
                hashes[node_id] = text_hash
        index = ExactIndex.restore(matrix, ids, labels)
        return cls(index, key, hashes, name, -1 if legacy else index.layout)

    def save(self, folder: Path, tx: Transaction, changed: Sequence[str], gone: Sequence[str], *,
             whole: bool = False) -> None:
        """Write what a sync changed: its rows in place, or the whole matrix into a new file
        (``whole``, or when the rows were renumbered or the file is missing).

        Raises:
            SearchError: the folder cannot be written.
        """
        matrix, ids, n = self.index.raw()
        current = folder / self.file
        try:
            if whole or self.index.layout != self.saved_layout or not current.exists():
                name = f"vectors-{time.time_ns():x}.npy"
                np.save(folder / "vectors.tmp.npy", matrix)
                os.replace(folder / "vectors.tmp.npy", folder / name)
                with tx() as conn:
                    conn.execute("DELETE FROM vectors")
                    conn.executemany("INSERT INTO vectors VALUES (?, ?, ?)",
                                     [(i, r, self.hashes[i]) for r, i in enumerate(ids[:n]) if i is not None])
                    _meta(conn, vectors_file=name, vectors_encoder=self.key)
                self.file, self.saved_layout = name, self.index.layout
                for old in folder.glob("vectors*"):  # earlier matrices, and the first layout's files
                    if old.name != name:
                        old.unlink(missing_ok=True)
            else:
                on_disk = np.load(current, mmap_mode="r+")
                for row in sorted(self.index.dirty):
                    on_disk[row] = matrix[row]
                on_disk.flush()
                del on_disk
                with tx() as conn:
                    conn.executemany("DELETE FROM vectors WHERE id = ?", [(i,) for i in gone])
                    conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                                     [(i, self.index.row_of(i), self.hashes[i]) for i in changed])
                    _meta(conn, vectors_encoder=self.key)
        except OSError as exc:
            raise SearchError(f"cannot write the vectors in {folder}: {exc}") from exc
        self.index.clean()


def current_file(folder: Path, conn: sqlite3.Connection) -> tuple[Path, str] | None:
    """The matrix file and its encoder's key, read without reading the matrix; None unless it
    is a readable file of the current layout that holds every row in use."""
    meta = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('vectors_file', 'vectors_encoder')"))
    if not meta.get("vectors_file") or not meta.get("vectors_encoder"):
        return None
    file = folder / meta["vectors_file"]
    try:
        shape = np.load(file, mmap_mode="r").shape
    except (OSError, ValueError):
        return None
    last = conn.execute("SELECT max(row) FROM vectors").fetchone()[0]
    return (file, meta["vectors_encoder"]) if len(shape) == 2 and (last is None or last < shape[0]) else None


def place(file: Path, conn: sqlite3.Connection, ids: Sequence[str], gone: Sequence[str]) -> dict[str, int] | None:
    """The row in ``file`` of each of ``ids``: its own, else a spare one (the rows of ``gone``
    are spare too); None when there are too few spare rows."""
    rows = dict(select_in(conn, "SELECT id, row FROM vectors WHERE id IN ({marks})", [*ids, *gone]))
    freed = {rows.pop(i) for i in gone if i in rows}
    used = {r for (r,) in conn.execute("SELECT row FROM vectors")} - freed
    try:
        capacity = np.load(file, mmap_mode="r").shape[0]
    except (OSError, ValueError):
        return None
    spare = (r for r in range(capacity) if r not in used)
    rows.update(zip((i for i in ids if i not in rows), spare))
    return {i: rows[i] for i in ids} if all(i in rows for i in ids) else None


def patch(file: Path, tx: Transaction, rows: dict[str, int], vectors: dict[str, tuple[np.ndarray, str]],
          gone: Sequence[str]) -> None:
    """Write ``vectors`` (node id → its vector and text hash) into their ``rows`` of ``file`` in
    place and take ``gone`` out of the row map, without reading the rest of the matrix (what a
    process that has not loaded the index needs).

    Raises:
        SearchError: the file cannot be written.
    """
    try:
        matrix = np.load(file, mmap_mode="r+")
        for node_id, (vector, _) in vectors.items():
            matrix[rows[node_id]] = vector
        matrix.flush()
        del matrix
    except (OSError, ValueError) as exc:
        raise SearchError(f"cannot write the vectors in {file}: {exc}") from exc
    with tx() as conn:
        conn.executemany("DELETE FROM vectors WHERE id = ?", [(i,) for i in gone])
        conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                         [(i, rows[i], h) for i, (_, h) in sorted(vectors.items())])


def select_in(conn: sqlite3.Connection, sql: str, values: Sequence[str], *before: str) -> Iterator[tuple]:
    """The rows of ``sql`` (whose ``{marks}`` is an IN list) for every value, 500 at a time:
    SQLite takes no more parameters at once."""
    for start in range(0, len(values), 500):
        chunk = list(values[start:start + 500])
        yield from conn.execute(sql.format(marks=",".join("?" * len(chunk))), [*before, *chunk])


def _legacy_rows(folder: Path, conn: sqlite3.Connection) -> tuple[list[tuple], str]:
    """The row map of ``vectors.json`` (kg's first layout) in the ``vectors`` table's shape, and
    its encoder."""
    try:
        state = json.loads((folder / "vectors.json").read_text())
        ids, hashes = list(state["ids"]), list(state["text_hashes"])
    except (OSError, ValueError, KeyError, TypeError):
        return [], ""
    items = {r[0]: r[1:] for r in conn.execute("SELECT id, kind, root FROM items")}
    return [(i, row, h, *items.get(i, (None, None))) for row, (i, h) in enumerate(zip(ids, hashes))], \
        str(state.get("encoder", ""))


def _meta(conn: sqlite3.Connection, **values: str) -> None:
    conn.executemany("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                     list(values.items()))
