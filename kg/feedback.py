"""The feedback log: which results a user saw for a query, and which one they opened.

A SQLite file beside the graph (``settings.db / "feedback.sqlite"``). The web UI records
each settled search (the query and the ids it showed, in order) and each result opened
from it (its position, and later how long the page stayed visible). Training reads it
back as ``Judgement``s: the query, the node opened, and the results ranked above it that
were passed over (the usual "skip above" reading of clicks).

Positions are 0-based indexes into the result list of the search.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kg.errors import ConfigError, StoreUnavailable

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 1_000
MAX_RESULTS = 100

_SCHEMA = """
CREATE TABLE IF NOT EXISTS searches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    query TEXT NOT NULL,
    results TEXT NOT NULL,          -- JSON list of node ids, in the order shown
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS opens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    search_id INTEGER NOT NULL REFERENCES searches(id),
    node_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    dwell_ms INTEGER,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS opens_search ON opens(search_id);
"""


@dataclass
class Judgement:
    """One opened result: ``opened`` beat every id in ``skipped`` for ``query``.

    ``dwell_ms`` is how long the opened page stayed visible, when the browser said so.
    """

    query: str
    opened: str
    skipped: list[str] = field(default_factory=list)
    position: int = 0
    dwell_ms: int | None = None


class FeedbackLog:
    """Append-only log of searches and opened results (thread-safe)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        self.path = path

    @classmethod
    def open(cls, path: Path) -> FeedbackLog:
        """Open (creating if needed) the log at ``path``.

        Raises:
            StoreUnavailable: the file cannot be created or is not a SQLite database.
        """
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
        except (OSError, sqlite3.DatabaseError) as exc:
            raise StoreUnavailable(f"cannot open the feedback log at {path}: {exc}") from exc
        return cls(conn, path)

    def record_search(self, query: str, result_ids: list[str]) -> int:
        """Record one search and the ids it showed, in order; return its search id.

        Raises:
            ConfigError: the query is empty or too long, or there are too many ids.
        """
        query = (query or "").strip()
        if not query or len(query) > MAX_QUERY_CHARS:
            raise ConfigError(f"a feedback query must have 1 to {MAX_QUERY_CHARS} characters")
        if len(result_ids) > MAX_RESULTS or not all(isinstance(i, str) for i in result_ids):
            raise ConfigError(f"results must be a list of at most {MAX_RESULTS} node ids")
        with self._lock:
            cur = self._conn.execute("INSERT INTO searches(query, results, at) VALUES (?, ?, ?)",
                                     (query, json.dumps(list(result_ids)), time.time()))
        return int(cur.lastrowid or 0)

    def record_open(self, search_id: int, node_id: str, position: int,
                    dwell_ms: int | None = None) -> int:
        """Record that result ``node_id`` at ``position`` of search ``search_id`` was opened.

        Returns:
            The id of the open, to attach the dwell time to later (``record_dwell``).

        Raises:
            ConfigError: no such search, or the node was not among its results.
        """
        results = self._results(search_id)
        if node_id not in results:
            raise ConfigError(f"{node_id!r} is not among the results of search {search_id}")
        position = int(position)
        if not (0 <= position < len(results) and results[position] == node_id):
            position = results.index(node_id)  # the log knows where it was shown
        with self._lock:
            cur = self._conn.execute(
                "INSERT INTO opens(search_id, node_id, position, dwell_ms, at) VALUES (?, ?, ?, ?, ?)",
                (int(search_id), node_id, int(position), _dwell(dwell_ms), time.time()))
        return int(cur.lastrowid or 0)

    def record_dwell(self, open_id: int, dwell_ms: int) -> None:
        """Set (or raise) how long the opened result stayed visible.

        Raises:
            ConfigError: no open has that id.
        """
        with self._lock:
            cur = self._conn.execute(
                "UPDATE opens SET dwell_ms = max(coalesce(dwell_ms, 0), ?) WHERE id = ?",
                (_dwell(dwell_ms), int(open_id)))
        if cur.rowcount == 0:
            raise ConfigError(f"no opened result has id {open_id}")

    def judgements(self) -> Iterator[Judgement]:
        """Every opened result as a judgement, oldest first.

        ``skipped`` holds the results shown above the opened one that were not opened
        from the same search.
        """
        with self._lock:
            searches = {sid: (q, json.loads(r)) for sid, q, r in
                        self._conn.execute("SELECT id, query, results FROM searches")}
            opens = self._conn.execute(
                "SELECT search_id, node_id, position, dwell_ms FROM opens ORDER BY id").fetchall()
        opened_by_search: dict[int, set[str]] = {}
        for sid, node_id, _, _ in opens:
            opened_by_search.setdefault(sid, set()).add(node_id)
        for sid, node_id, position, dwell_ms in opens:
            if sid not in searches:
                continue
            query, results = searches[sid]
            skipped = [r for r in results[:position] if r not in opened_by_search[sid]]
            yield Judgement(query=query, opened=node_id, skipped=skipped, position=position,
                            dwell_ms=dwell_ms)

    def counts(self) -> dict[str, int]:
        """How many searches and opens the log holds."""
        with self._lock:
            searches = self._conn.execute("SELECT count(*) FROM searches").fetchone()[0]
            opens = self._conn.execute("SELECT count(*) FROM opens").fetchone()[0]
        return {"searches": int(searches), "opens": int(opens)}

    def _results(self, search_id: int) -> list[str]:
        with self._lock:
            row = self._conn.execute("SELECT results FROM searches WHERE id = ?",
                                     (int(search_id),)).fetchone()
        if row is None:
            raise ConfigError(f"no search has id {search_id} (record the search first)")
        return list(json.loads(row[0]))

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _dwell(dwell_ms: int | None) -> int | None:
    """Dwell times are whole milliseconds, clamped to a day."""
    if dwell_ms is None:
        return None
    return max(0, min(int(dwell_ms), 86_400_000))
