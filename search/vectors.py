"""Vector indexes: the small protocol search needs, and the exact index kg ships.

Search asks a vector index four things: put vectors in (``upsert``), take them out
(``delete``), the ``k`` nearest to a query vector among those a filter allows (``search``),
and the cosines of a few given nodes (``cosines``, for the ranker's graph features). An
approximate index (HNSW, IVF) can take the exact one's place for very large graphs without
anything above this module changing.

``ExactIndex`` keeps every vector in one float32 matrix with spare rows: an upsert writes
rows in place or appends, a delete marks a row dead, and only running out of spare rows
copies the matrix (into one a quarter larger than what is alive, so the copies are amortised).
A search is one matrix product. Searches run while another thread writes: a search works on
the snapshot it started with (rows appended later are not seen; a row rewritten meanwhile may
give an odd cosine for that one node, half its old vector and half its new one).
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class VectorFilter:
    """Which vectors a search may return: allow-lists of labels (None: any)."""

    kinds: Collection[str] | None = None
    roots: Collection[str] | None = None


class VectorIndex(Protocol):
    """What search needs from a vector index. Vectors are unit length; scores are cosines."""

    dim: int

    def __len__(self) -> int: ...

    def __contains__(self, node_id: object) -> bool: ...

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, labels: Sequence[tuple[str, str]]) -> None:
        """Add or replace the vectors of ``ids``; ``labels`` are each one's (kind, root)."""

    def delete(self, ids: Collection[str]) -> None:
        """Remove the vectors of ``ids`` (unknown ids are ignored)."""

    def search(self, vector: np.ndarray, k: int, filter: VectorFilter | None = None,
               min_score: float = -1.0) -> list[tuple[str, float]]:
        """The ``k`` nearest allowed vectors with a cosine of at least ``min_score``, best first."""

    def cosines(self, vector: np.ndarray, ids: Collection[str]) -> dict[str, float]:
        """The cosine of each of ``ids`` that the index holds."""


@dataclass
class _Rows:
    """One layout of the matrix: rows in use are ``[:n]``; a dead row has no id."""

    matrix: np.ndarray
    ids: list[str | None]
    alive: np.ndarray
    kinds: np.ndarray
    roots: np.ndarray
    rows: dict[str, int] = field(default_factory=dict)
    n: int = 0


class ExactIndex:
    """Every vector in memory, exact cosine by one matrix product (see the module's notes).

    Args:
        dim: the vectors' dimension.
    """

    def __init__(self, dim: int) -> None:
        self.dim = int(dim)
        self._codes: dict[str, dict[str, int]] = {"kind": {}, "root": {}}
        self._write = threading.Lock()
        self._rows = self._layout(0)
        self.layout = 0  # grows whenever rows are renumbered (persistence then rewrites everything)
        self.dirty: set[int] = set()  # rows written since ``clean`` was last called

    @classmethod
    def from_rows(cls, ids: Sequence[str], matrix: np.ndarray,
                  labels: Sequence[tuple[str, str]]) -> ExactIndex:
        """An index of these vectors, packed."""
        index = cls(matrix.shape[1] if matrix.ndim == 2 and matrix.shape[1] else 0)
        index.upsert(ids, matrix, labels)
        index.clean()
        return index

    @classmethod
    def restore(cls, matrix: np.ndarray, ids: Sequence[str | None],
                labels: Sequence[tuple[str, str] | None]) -> ExactIndex:
        """An index over a saved matrix, row for row (``ids[r]`` None: row ``r`` is dead; the
        rows past ``len(ids)`` are spare)."""
        index = cls(matrix.shape[1])
        rows = index._layout(0)
        rows.matrix = np.array(matrix, dtype=np.float32)
        capacity = len(rows.matrix)
        rows.alive = np.zeros(capacity, dtype=bool)
        rows.kinds = np.zeros(capacity, dtype=np.int16)
        rows.roots = np.zeros(capacity, dtype=np.int32)
        rows.ids = list(ids)
        for row, (node_id, label) in enumerate(zip(ids, labels)):
            if node_id is not None and label is not None:
                rows.alive[row] = True
                rows.rows[node_id] = row
                rows.kinds[row] = index._code("kind", label[0])
                rows.roots[row] = index._code("root", label[1])
            else:
                rows.ids[row] = None
        rows.n = len(ids)
        index._rows = rows
        return index

    # -- reading -----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._rows.rows)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._rows.rows

    def ids(self) -> list[str]:
        """The ids held, in row order."""
        rows = self._rows
        return [i for i in rows.ids[:rows.n] if i is not None]

    def row_of(self, node_id: str) -> int | None:
        return self._rows.rows.get(node_id)

    def snapshot(self) -> tuple[list[str], np.ndarray]:
        """``(ids, matrix)`` of the live rows, in row order (a copy)."""
        rows = self._rows
        live = np.flatnonzero(rows.alive[:rows.n])
        return [rows.ids[r] for r in live], np.array(rows.matrix[live], dtype=np.float32)  # type: ignore[misc]

    def raw(self) -> tuple[np.ndarray, list[str | None], int]:
        """The matrix, row ids (None: dead) and rows in use, as they are (for persistence)."""
        rows = self._rows
        return rows.matrix, rows.ids, rows.n

    def search(self, vector: np.ndarray, k: int, filter: VectorFilter | None = None,
               min_score: float = -1.0) -> list[tuple[str, float]]:
        rows = self._rows
        n = rows.n
        if n == 0 or k <= 0:
            return []
        sims = rows.matrix[:n] @ np.asarray(vector, dtype=np.float32)
        allowed = rows.alive[:n].copy()
        if filter is not None:
            for label, wanted, codes in (("kind", filter.kinds, rows.kinds), ("root", filter.roots, rows.roots)):
                if wanted is not None:
                    known = [self._codes[label][w] for w in wanted if w in self._codes[label]]
                    allowed &= np.isin(codes[:n], known)
        sims = np.where(allowed, sims, -np.inf)
        k = min(int(k), n)
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top], kind="stable")]
        out = []
        for r in top:
            node_id = rows.ids[r]
            if sims[r] >= min_score and np.isfinite(sims[r]) and node_id is not None:
                out.append((node_id, float(sims[r])))
        return out

    def cosines(self, vector: np.ndarray, ids: Collection[str]) -> dict[str, float]:
        rows = self._rows
        found = [(i, r) for i in ids if (r := rows.rows.get(i)) is not None]
        if not found:
            return {}
        values = rows.matrix[[r for _, r in found]] @ np.asarray(vector, dtype=np.float32)
        return {i: float(v) for (i, _), v in zip(found, values)}

    # -- writing -----------------------------------------------------------------------

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, labels: Sequence[tuple[str, str]]) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        if len(ids) == 0:
            return
        if not self.dim:
            self.dim = int(vectors.shape[1])
            self._rows = self._layout(0)
        if vectors.shape != (len(ids), self.dim):
            raise ValueError(f"expected {len(ids)} vectors of dimension {self.dim}, got {vectors.shape}")
        with self._write:
            rows = self._rows
            new = sum(1 for i in dict.fromkeys(ids) if i not in rows.rows)
            if rows.n + new > len(rows.matrix):
                rows = self._grow(len(rows.rows) + new)
            for node_id, vector, (kind, root) in zip(ids, vectors, labels):
                row = rows.rows.get(node_id)
                fresh = row is None
                if fresh:
                    row = rows.n
                rows.matrix[row] = vector
                rows.kinds[row] = self._code("kind", kind)
                rows.roots[row] = self._code("root", root)
                if fresh:
                    rows.ids.append(node_id)
                    rows.alive[row] = True
                    rows.rows[node_id] = row
                    rows.n = row + 1  # last: a search that started earlier never sees a half-written row
                self.dirty.add(row)

    def delete(self, ids: Collection[str]) -> None:
        with self._write:
            rows = self._rows
            for node_id in ids:
                row = rows.rows.pop(node_id, None)
                if row is not None:
                    rows.alive[row] = False
                    rows.ids[row] = None
                    self.dirty.add(row)

    def clean(self) -> None:
        """Forget which rows were written (persistence has saved them)."""
        self.dirty = set()

    def _code(self, label: str, value: str) -> int:
        codes = self._codes[label]
        return codes.setdefault(value, len(codes))

    def _layout(self, capacity: int) -> _Rows:
        return _Rows(np.zeros((capacity, self.dim), dtype=np.float32), [], np.zeros(capacity, dtype=bool),
                     np.zeros(capacity, dtype=np.int16), np.zeros(capacity, dtype=np.int32))

    def _grow(self, needed: int) -> _Rows:
        """A new layout with the live rows packed first and a quarter more room than ``needed``
        (so copies stay amortised); the old one stays intact for searches that hold it."""
        old = self._rows
        live = np.flatnonzero(old.alive[:old.n])
        rows = self._layout(needed + max(64, needed // 4))
        count = len(live)
        rows.matrix[:count] = old.matrix[live]
        rows.kinds[:count] = old.kinds[live]
        rows.roots[:count] = old.roots[live]
        rows.alive[:count] = True
        rows.ids = [old.ids[r] for r in live]
        rows.rows = {node_id: n for n, node_id in enumerate(rows.ids)}  # type: ignore[misc]
        rows.n = count
        self._rows = rows
        self.layout += 1
        self.dirty = set()
        return rows
