"""The embedded store: LadybugDB (in-process, Cypher, file + WAL).

One node table per NodeKind and one relationship table per EdgeKind listing its endpoint
pairs (kg.model.ENDPOINTS). New nodes and edges go in bulk through ``COPY ... FROM`` an
Arrow table; updates use ``UNWIND $rows ... MERGE``/``MATCH``. Writes are serialised by a
lock. The user's console (``query``) runs reading statements only, decided by the planner,
in a child process that is killed at its time limit (``kg.store.ladybug_console``).
"""

from __future__ import annotations

import datetime
import json
import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from kg.errors import StoreError, StoreUnavailable
from kg.model import EDGE_COLUMNS, ENDPOINTS, NODE_COLUMNS, Edge, EdgeKind, Node, NodeKind, kinds_for_ids
from kg.store import ladybug_console
from kg.store.base import Counts, QueryResult, Subgraph, walk_neighbourhood

log = logging.getLogger(__name__)

# Up to this many rows go in as a query parameter; more as an Arrow table that COPY or LOAD FROM
# scans, which is faster in bulk but whose first use imports pyarrow and pandas (0.3 s that a
# CLI ingest of one edited note need not pay).
_PARAMETER_ROWS = 256


def _arrow_schema(columns: dict[str, str], prefix: str = "", *, endpoints: bool = False) -> Any:
    import pyarrow as pa

    types = {"STRING": pa.string(), "INT64": pa.int64(), "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_()}
    fields = [("from", pa.string()), ("to", pa.string())] if endpoints else []
    return pa.schema(fields + [(f"{prefix}{c}", types[t]) for c, t in columns.items()])


def _typed(columns: dict[str, str]) -> dict[str, str]:
    """Each column of a parameter row ``r``, cast to the column's type (a null parameter has
    none of its own)."""
    return {c: f"CAST(r.{c} AS {t})" for c, t in columns.items()}


def _migration_1(conn: Any) -> None:
    cols = ", ".join(f"{name} {typ}" for name, typ in NODE_COLUMNS.items() if name != "id")
    for kind in NodeKind:
        conn.execute(f"CREATE NODE TABLE IF NOT EXISTS {kind.value}(id STRING PRIMARY KEY, {cols})")
    rel_cols = ", ".join(f"{name} {typ}" for name, typ in EDGE_COLUMNS.items())
    for kind, pairs in ENDPOINTS.items():
        ends = ", ".join(f"FROM {s.value} TO {d.value}" for s, d in pairs)
        conn.execute(f"CREATE REL TABLE IF NOT EXISTS {kind.value}({ends}, {rel_cols})")


# Numbered, idempotent schema migrations. Append; never edit one that has shipped.
MIGRATIONS = {1: _migration_1}


class LadybugStore:
    """GraphStore over an embedded LadybugDB database folder."""

    name = "ladybug"

    def __init__(self, db: Any, path: Path, *, read_only: bool, default_timeout_ms: int,
                 default_max_rows: int, default_max_bytes: int = 4_000_000) -> None:
        import ladybug

        self._lb = ladybug
        self._db = db
        self.path = path
        self.read_only = read_only
        self.default_timeout_ms = default_timeout_ms
        self.default_max_rows = default_max_rows
        self.default_max_bytes = default_max_bytes
        self._write_lock = threading.RLock()
        self._local = threading.local()
        self._conns: list[Any] = []

    @classmethod
    def open(cls, path: Path, *, read_only: bool = False, default_timeout_ms: int = 10_000,
             default_max_rows: int = 1_000, default_max_bytes: int = 4_000_000) -> LadybugStore:
        """Open (creating if needed) the database at ``path``.

        Raises:
            StoreUnavailable: the folder cannot be created or the database is locked/corrupt.
        """
        import ladybug

        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = ladybug.Database(str(path), read_only=read_only)
        except (OSError, RuntimeError) as exc:
            raise StoreUnavailable(f"cannot open the graph database at {path}: {exc}") from exc
        return cls(db, path, read_only=read_only, default_timeout_ms=default_timeout_ms,
                   default_max_rows=default_max_rows, default_max_bytes=default_max_bytes)

    # -- connections ----------------------------------------------------------------------

    def _conn(self) -> Any:
        """One connection per thread: readers never share a connection."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._lb.Connection(self._db)
            self._local.conn = conn
            self._conns.append(conn)
        return conn

    def _run(self, cypher: str, params: dict[str, Any] | None = None) -> Any:
        try:
            return self._conn().execute(cypher, params or {})
        except RuntimeError as exc:
            raise StoreError(f"LadybugDB: {exc}") from exc

    def _rows(self, cypher: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
        return self._run(cypher, params).get_all()

    # -- schema ---------------------------------------------------------------------------

    def migrate(self) -> list[int]:
        # Applied numbers live in a small JSON file beside the database, so no bookkeeping
        # table shows up in users' `MATCH (n)` queries. Every migration is idempotent, so
        # a crash between a migration and the record only repeats harmless work.
        record = self.path.with_name(self.path.name + ".migrations.json")
        done = set(json.loads(record.read_text())) if record.exists() else set()
        applied = []
        with self._write_lock:
            for number in sorted(MIGRATIONS):
                if number in done:
                    continue
                MIGRATIONS[number](self._conn())
                done.add(number)
                record.write_text(json.dumps(sorted(done)))
                applied.append(number)
        return applied

    # -- writes ---------------------------------------------------------------------------

    def _existing_ids(self, kind: NodeKind, ids: list[str]) -> set[str]:
        rows = self._rows(f"UNWIND $ids AS i MATCH (n:{kind.value} {{id: i}}) RETURN n.id", {"ids": ids})
        return {r[0] for r in rows}

    def upsert_nodes(self, nodes: Sequence[Node], *, fresh: bool = False) -> None:
        by_kind: dict[NodeKind, dict[str, Node]] = defaultdict(dict)
        for node in nodes:
            by_kind[node.kind][node.id] = node  # last one wins within a batch
        with self._write_lock:
            for kind, group in by_kind.items():
                existing = set() if fresh else self._existing_ids(kind, list(group))
                fresh = [n.row() for i, n in group.items() if i not in existing]
                stale = [n.row() for i, n in group.items() if i in existing]
                if fresh:
                    self._copy_nodes(kind, fresh)
                if stale:
                    self._update_nodes(kind, stale)

    def _update_nodes(self, kind: NodeKind, rows: list[dict[str, Any]]) -> None:
        if len(rows) <= _PARAMETER_ROWS:
            sets = ", ".join(f"n.{c} = {v}" for c, v in _typed(NODE_COLUMNS).items() if c != "id")
            self._run(f"UNWIND $rows AS r MATCH (n:{kind.value} {{id: r.id}}) SET {sets}", {"rows": rows})
            return
        import pyarrow as pa

        batch = pa.Table.from_pylist([{f"r_{c}": v for c, v in r.items()} for r in rows],  # noqa: F841
                                     schema=_arrow_schema(NODE_COLUMNS, "r_"))
        sets = ", ".join(f"n.{c} = r_{c}" for c in NODE_COLUMNS if c != "id")
        self._run(f"LOAD FROM batch MATCH (n:{kind.value} {{id: r_id}}) SET {sets}")

    def _copy_nodes(self, kind: NodeKind, rows: list[dict[str, Any]]) -> None:
        if len(rows) <= _PARAMETER_ROWS:
            props = ", ".join(f"{c}: {v}" for c, v in _typed(NODE_COLUMNS).items())
            self._run(f"UNWIND $rows AS r CREATE (n:{kind.value} {{{props}}})", {"rows": rows})
            return
        import pyarrow as pa

        batch = pa.Table.from_pylist(rows, schema=_arrow_schema(NODE_COLUMNS))  # noqa: F841 (read by COPY)
        self._run(f"COPY {kind.value} FROM batch")

    def delete_nodes(self, nodes: Iterable[tuple[str, NodeKind]]) -> None:
        by_kind: dict[NodeKind, list[str]] = defaultdict(list)
        for node_id, kind in nodes:
            by_kind[NodeKind(kind)].append(node_id)
        with self._write_lock:
            for kind, ids in by_kind.items():
                self._run(f"UNWIND $ids AS i MATCH (n:{kind.value} {{id: i}}) DETACH DELETE n", {"ids": ids})

    def upsert_edges(self, edges: Sequence[Edge], *, fresh: bool = False) -> None:
        groups = _group_edges(edges)
        with self._write_lock:
            for (kind, sk, dk), rows in groups.items():
                if not fresh:
                    self._delete_edge_rows(kind, sk, dk, rows)
                self._copy_edges(kind, sk, dk, rows)

    def _copy_edges(self, kind: EdgeKind, sk: NodeKind, dk: NodeKind, rows: list[dict[str, Any]]) -> None:
        missing = f"cannot add {kind.value} edges {sk.value}->{dk.value} (is every endpoint stored?)"
        if len(rows) <= _PARAMETER_ROWS:
            props = ", ".join(f"{c}: {v}" for c, v in _typed(EDGE_COLUMNS).items())
            made = self._rows(f"UNWIND $rows AS r MATCH (a:{sk.value} {{id: r.src}}) MATCH (b:{dk.value} {{id: r.dst}}) "
                              f"CREATE (a)-[:{kind.value} {{{props}}}]->(b) RETURN count(*)",
                              {"rows": [{"src": r["src"], "dst": r["dst"], **{c: r[c] for c in EDGE_COLUMNS}}
                                        for r in rows]})
            if made[0][0] != len(rows):
                raise StoreError(f"{missing}: {len(rows) - made[0][0]} of {len(rows)} have none")
            return
        import pyarrow as pa

        data = [{"from": r["src"], "to": r["dst"], **{c: r[c] for c in EDGE_COLUMNS}} for r in rows]
        batch = pa.Table.from_pylist(  # noqa: F841 (read by COPY)
            data, schema=_arrow_schema(EDGE_COLUMNS, endpoints=True))
        try:
            self._run(f'COPY {kind.value} FROM batch (from="{sk.value}", to="{dk.value}")')
        except StoreError as exc:
            raise StoreError(f"{missing}: {exc}") from exc

    def _delete_edge_rows(self, kind: EdgeKind, sk: NodeKind, dk: NodeKind,
                          rows: list[dict[str, Any]]) -> None:
        self._run(
            f"UNWIND $rows AS r MATCH (a:{sk.value} {{id: r.src}}) MATCH (b:{dk.value} {{id: r.dst}}) "
            f"MATCH (a)-[e:{kind.value}]->(b) DELETE e",
            {"rows": [{"src": r["src"], "dst": r["dst"]} for r in rows]},
        )

    def delete_edges(self, edges: Iterable[Edge]) -> None:
        groups = _group_edges(edges)
        with self._write_lock:
            for (kind, sk, dk), rows in groups.items():
                self._delete_edge_rows(kind, sk, dk, rows)

    def clear(self) -> None:
        with self._write_lock:
            for kind in NodeKind:
                self._run(f"MATCH (n:{kind.value}) DETACH DELETE n")

    # -- reads ----------------------------------------------------------------------------

    def get_node(self, node_id: str) -> Node | None:
        return self.get_nodes([node_id]).get(node_id)

    def get_nodes(self, node_ids: Sequence[str]) -> dict[str, Node]:
        ids = list(dict.fromkeys(node_ids))
        if not ids:
            return {}
        cols = list(NODE_COLUMNS)
        proj = ", ".join(f"n.{c}" for c in cols)
        out: dict[str, Node] = {}
        for kind in kinds_for_ids(ids):
            rows = self._rows(f"UNWIND $ids AS i MATCH (n:{kind.value} {{id: i}}) RETURN {proj}", {"ids": ids})
            for row in rows:
                out[row[0]] = Node.from_row(dict(zip(cols, row)))
        return out

    def neighbourhood(self, node_id: str, depth: int = 1,
                      edge_kinds: Sequence[EdgeKind] | None = None, limit: int = 500) -> Subgraph:
        from kg.errors import NodeNotFound

        centre = self.get_node(node_id)
        if centre is None:
            raise NodeNotFound(node_id)
        return walk_neighbourhood(centre, depth, edge_kinds, limit, self._edges_touching, self.get_nodes)

    def _edges_touching(self, ids: list[str]) -> list[Edge]:
        if not ids:
            return []
        cols = list(EDGE_COLUMNS)
        proj = ", ".join(f"e.{c}" for c in cols)
        out = []
        for direction in ("out", "in"):
            pattern = "(a {id: i})-[e]->(b)" if direction == "out" else "(a)-[e]->(b {id: i})"
            rows = self._rows(f"UNWIND $ids AS i MATCH {pattern} "
                              f"RETURN a.id, b.id, label(e), label(a), label(b), {proj}", {"ids": ids})
            for row in rows:
                data = dict(zip(cols, row[5:]))
                data.update(src=row[0], dst=row[1])
                out.append(Edge.from_row(row[2], row[3], row[4], data))
        return out

    def edges_of(self, node_id: str) -> list[Edge]:
        """Every edge into or out of one node."""
        return self._edges_touching([node_id])

    def iter_nodes(self, kinds: Sequence[NodeKind] | None = None) -> Iterator[Node]:
        cols = list(NODE_COLUMNS)
        proj = ", ".join(f"n.{c}" for c in cols)
        for kind in kinds or list(NodeKind):
            result = self._run(f"MATCH (n:{NodeKind(kind).value}) RETURN {proj}")
            while result.has_next():
                yield Node.from_row(dict(zip(cols, result.get_next())))

    def iter_edges(self, kinds: Sequence[EdgeKind] | None = None) -> Iterator[Edge]:
        cols = list(EDGE_COLUMNS)
        proj = ", ".join(f"e.{c}" for c in cols)
        for kind in kinds or list(EdgeKind):
            kind = EdgeKind(kind)
            result = self._run(f"MATCH (a)-[e:{kind.value}]->(b) RETURN a.id, b.id, label(a), label(b), {proj}")
            while result.has_next():
                row = result.get_next()
                data = dict(zip(cols, row[4:]))
                data.update(src=row[0], dst=row[1])
                yield Edge.from_row(kind.value, row[2], row[3], data)

    def counts(self) -> Counts:
        nodes = {k.value: self._rows(f"MATCH (n:{k.value}) RETURN count(n)")[0][0] for k in NodeKind}
        edges = {k.value: self._rows(f"MATCH ()-[e:{k.value}]->() RETURN count(e)")[0][0] for k in EdgeKind}
        return Counts(nodes=nodes, edges=edges)

    # -- the user's console ---------------------------------------------------------------

    def query(self, cypher: str, params: dict[str, Any] | None = None, *,
              timeout_ms: int | None = None, max_rows: int | None = None,
              max_bytes: int | None = None) -> QueryResult:
        """Run one console statement: reading only, decided by the planner, in a killable child.

        See ``kg.store.ladybug_console`` for the guard and the limits.
        """
        return ladybug_console.run(self.path, cypher, dict(params or {}),
                                   timeout_ms=int(timeout_ms or self.default_timeout_ms),
                                   max_rows=int(max_rows or self.default_max_rows),
                                   max_bytes=int(max_bytes or self.default_max_bytes))

    def close(self) -> None:
        for conn in self._conns:
            try:
                conn.close()
            except RuntimeError:
                log.debug("closing a connection failed", exc_info=True)
        self._conns.clear()
        self._db.close()


def _group_edges(edges: Iterable[Edge]) -> dict[tuple[EdgeKind, NodeKind, NodeKind], list[dict[str, Any]]]:
    groups: dict[tuple[EdgeKind, NodeKind, NodeKind], dict[tuple[str, str], dict[str, Any]]] = defaultdict(dict)
    for edge in edges:
        groups[(edge.kind, edge.src_kind, edge.dst_kind)][(edge.src, edge.dst)] = edge.row()
    return {key: list(rows.values()) for key, rows in groups.items()}


def jsonable(value: Any) -> Any:
    """Ladybug values → JSON-friendly values (nodes and rels as tagged dicts)."""
    if isinstance(value, dict):
        if "_LABEL" in value and "_ID" in value and "_SRC" not in value:
            out = {"_type": "node", "_label": value["_LABEL"], "_eid": _eid(value["_ID"])}
            out.update({k: jsonable(v) for k, v in value.items() if not k.startswith("_")})
            return out
        if "_SRC" in value:
            out = {"_type": "rel", "_label": value.get("_LABEL"), "_src": _eid(value["_SRC"]),
                   "_dst": _eid(value["_DST"]), "_eid": _eid(value.get("_ID"))}
            out.update({k: jsonable(v) for k, v in value.items() if not k.startswith("_")})
            return out
        if "_nodes" in value and "_rels" in value:
            return {"_type": "path", "nodes": [jsonable(n) for n in value["_nodes"]],
                    "rels": [jsonable(r) for r in value["_rels"]]}
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, Decimal):  # sum() over INT64 is an INT128, which arrives as Decimal
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value)


def _eid(internal: Any) -> str:
    if isinstance(internal, dict):
        return f"{internal.get('table')}:{internal.get('offset')}"
    return str(internal)
