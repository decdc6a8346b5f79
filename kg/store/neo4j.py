"""The Neo4j store: the same graph on a Bolt server, through the official ``neo4j`` driver.

One label per NodeKind and one relationship type per EdgeKind, both taken from the
allow-list in ``kg.model``; every value travels as a ``$parameter``. Writes are
``UNWIND $rows ... MERGE`` statements, and one batch of ``batch_size`` rows is one write
transaction, so a lost connection leaves whole batches or nothing. Schema changes are
numbered, idempotent migrations recorded on ``:KgMigration`` nodes.

The user's console only reads the graph. Each statement runs alone, in a READ transaction
with a time limit, that is always rolled back, and its answer stops at a row cap and a byte
cap (its rows as compact JSON). Before it runs, the server plans it: ``EXPLAIN <statement>``
with the same parameters, in that transaction, and every operator of the plan must be on
an allow-list of reading operators, every procedure it calls on an allow-list of schema
procedures (``Dialect.check_plan``). So LOAD CSV, CALL of any other procedure, writes,
FOREACH, CALL { } IN TRANSACTIONS and administration are refused without being run. After
it ran, the result summary must still report no write.

What the planner decides differs by server (``kg.store.cypher_dialects`` has the details):

- **Neo4j 5** answers a tree of operators and the query type: both are checked, and the
  READ transaction refuses writes by itself as well.
- **ArcadeDB** (the Bolt server the tests use) answers one plan node whose text lists the
  planner's steps, and ``w`` as the query type of every ``EXPLAIN``, so the steps are
  checked and the query type is not. Three things its plan does not decide: a subquery
  inside an expression (``RETURN COLLECT { LOAD CSV ... }``) is not shown, so a file read
  there is not refused (only the server's ``arcadedb.opencypher.loadCsv.allowFileUrls=false``
  or a user without the ``updateSecurity`` permission stops it); schema and administration
  commands (``CREATE INDEX``, ``CREATE USER``) have no plan and are refused, but ArcadeDB
  applies them while explaining them; and it ignores READ mode, so a write that got past
  the plan is refused from the result summary (query type and update counters), after the
  rollback has undone it.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import neo4j
from neo4j import exceptions as neo4j_errors

from kg.errors import (ConfigError, NodeNotFound, QueryError, QueryTimeout, ReadOnlyViolation,
                       StoreError, StoreUnavailable)
from kg.model import EDGE_COLUMNS, Edge, EdgeKind, Node, NodeKind, kinds_for_ids
from kg.settings import Settings
from kg.store.base import Counts, QueryResult, Subgraph, walk_neighbourhood
from kg.store.cypher_dialects import MIGRATION_NUMBERS, Dialect, detect

log = logging.getLogger(__name__)

# How long the driver keeps retrying a write after a transient failure or a lost server.
# Short, so a server that went away is reported in seconds rather than after 30.
RETRY_SECONDS = 5.0
CONNECT_SECONDS = 5.0
# The console pulls records in batches of this many, so its caps stop a large answer
# within one batch of where they fall.
CONSOLE_FETCH_SIZE = 100
_KINDS = {k.value for k in NodeKind}


class Neo4jStore:
    """GraphStore on a Bolt server (Neo4j 5; ArcadeDB for the tests)."""

    name = "neo4j"

    def __init__(self, driver: neo4j.Driver, *, uri: str, database: str | None, dialect: Dialect,
                 batch_size: int = 2_000, default_timeout_ms: int = 10_000,
                 default_max_rows: int = 1_000, default_max_bytes: int = 4_000_000) -> None:
        self._driver = driver
        self.uri = uri
        self.database = database
        self.dialect = dialect
        self.batch_size = max(1, int(batch_size))
        self.default_timeout_ms = default_timeout_ms
        self.default_max_rows = default_max_rows
        self.default_max_bytes = default_max_bytes

    @classmethod
    def connect(cls, settings: Settings) -> Neo4jStore:
        """Connect to ``settings.neo4j_uri`` and check credentials and database up front.

        Raises:
            StoreUnavailable: the server cannot be reached, refuses the credentials, or
                has no such database (one line saying which).
            ConfigError: the URI is not a Bolt/Neo4j URI.
        """
        uri, user = settings.neo4j_uri, settings.neo4j_user
        database = settings.neo4j_database or None
        try:
            driver = neo4j.GraphDatabase.driver(
                uri, auth=(user, settings.neo4j_password), connection_timeout=CONNECT_SECONDS,
                max_transaction_retry_time=RETRY_SECONDS)
        except (neo4j_errors.ConfigurationError, ValueError) as exc:
            raise ConfigError(f"NEO4J_URI {uri!r} is not a Bolt URI (bolt://host:7687 or "
                              f"neo4j://host:7687): {exc}") from exc
        try:
            driver.verify_connectivity()
            driver.execute_query("RETURN 1", database_=database, routing_=neo4j.RoutingControl.READ)
            agent = driver.get_server_info().agent
        except neo4j_errors.AuthError as exc:
            driver.close()
            raise StoreUnavailable(f"wrong credentials for user {user!r} at {uri} "
                                   f"(check NEO4J_USER and NEO4J_PASSWORD)") from exc
        except (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired, OSError) as exc:
            driver.close()
            raise StoreUnavailable(f"cannot reach {uri}: {_reason(exc)} "
                                   f"(is the server running? check NEO4J_URI)") from exc
        except neo4j_errors.Neo4jError as exc:
            driver.close()
            if "DatabaseNotFound" in (exc.code or ""):
                raise StoreUnavailable(f"database {database!r} does not exist at {uri} "
                                       f"(check NEO4J_DATABASE)") from exc
            raise StoreUnavailable(f"{uri} refused the connection: {exc.message}") from exc
        dialect = detect(agent)
        log.info("connected to %s (%s, dialect %s)", uri, agent, dialect.name)
        return cls(driver, uri=uri, database=database, dialect=dialect,
                   batch_size=settings.batch_size, default_timeout_ms=settings.query_timeout_ms,
                   default_max_rows=settings.max_rows, default_max_bytes=settings.max_result_bytes)

    # -- plumbing -------------------------------------------------------------------------

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Driver errors → domain errors, naming what was being done."""
        try:
            yield
        except neo4j_errors.AuthError as exc:
            raise StoreUnavailable(f"{self.uri} no longer accepts the credentials ({action})") from exc
        except (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired) as exc:
            after = ("the unfinished batch was rolled back, so re-running the command completes it"
                     if action != "reading" else "re-run the command once the server is back")
            raise StoreUnavailable(f"lost the connection to {self.uri} while {action}: "
                                   f"{_reason(exc)}; {after}") from exc
        except neo4j_errors.Neo4jError as exc:
            raise StoreError(f"Neo4j refused {action}: {exc.message} [{exc.code}]") from exc
        except neo4j_errors.DriverError as exc:
            raise StoreError(f"Neo4j driver failed while {action}: {exc}") from exc

    def _read(self, cypher: str, params: dict[str, Any] | None = None) -> list[neo4j.Record]:
        with self._errors("reading"):
            records, _, _ = self._driver.execute_query(
                cypher, params or {}, database_=self.database, routing_=neo4j.RoutingControl.READ)
        return records

    def _write(self, work: list[tuple[str, dict[str, Any]]], action: str) -> list[list[neo4j.Record]]:
        """Run statements in ONE write transaction (retried as a whole on transient errors)."""
        def run_all(tx: neo4j.ManagedTransaction) -> list[list[neo4j.Record]]:
            return [list(tx.run(cypher, params)) for cypher, params in work]

        with self._errors(action), self._driver.session(database=self.database) as session:
            return session.execute_write(run_all)

    def _chunks(self, items: Sequence[Any]) -> Iterator[Sequence[Any]]:
        for start in range(0, len(items), self.batch_size):
            yield items[start:start + self.batch_size]

    # -- schema ---------------------------------------------------------------------------

    def migrate(self) -> list[int]:
        """Apply the pending numbered migrations of this server's dialect.

        Schema statements run one per auto-commit transaction (Neo4j does not mix schema
        and data in one); each is ``IF NOT EXISTS``, so a crash before the record is written
        only repeats harmless work.
        """
        done = {r["n"] for r in self._read("MATCH (m:KgMigration) RETURN m.number AS n")}
        applied = []
        for number in MIGRATION_NUMBERS:
            if number in done:
                continue
            for statement in self.dialect.schema(number):
                with self._errors(f"migration {number}"), self._driver.session(database=self.database) as s:
                    s.run(statement).consume()
            self._write([("MERGE (m:KgMigration {number: $n}) SET m.applied_at = timestamp(), "
                          "m.server = $server", {"n": number, "server": self.dialect.name})],
                        f"recording migration {number}")
            applied.append(number)
        return applied

    # -- writes ---------------------------------------------------------------------------

    def upsert_nodes(self, nodes: Sequence[Node], *, fresh: bool = False) -> None:
        """Create or update nodes in place by id; one transaction per batch.

        ``fresh`` is accepted and deliberately ignored: MERGE on the unique id index costs
        little here, and it keeps a re-run after a lost connection idempotent (a CREATE
        would fail on the batches that did commit).
        """
        del fresh
        for batch in self._chunks(list(nodes)):
            by_kind: dict[NodeKind, dict[str, dict[str, Any]]] = defaultdict(dict)
            for node in batch:
                by_kind[node.kind][node.id] = node.row()  # last one wins within a batch
            # `SET n += r` with every column present: a None removes the property, so an
            # update never leaves a stale value behind; edges are untouched.
            work = [(f"UNWIND $rows AS r MERGE (n:{kind.value} {{id: r.id}}) SET n += r",
                     {"rows": list(rows.values())}) for kind, rows in by_kind.items()]
            self._write(work, f"writing {len(batch)} nodes")

    def delete_nodes(self, nodes: Iterable[tuple[str, NodeKind]]) -> None:
        """Delete nodes by (id, kind) with every edge touching them."""
        for batch in self._chunks(list(nodes)):
            by_kind: dict[NodeKind, list[str]] = defaultdict(list)
            for node_id, kind in batch:
                by_kind[NodeKind(kind)].append(node_id)
            work = [(f"UNWIND $ids AS i MATCH (n:{kind.value} {{id: i}}) DETACH DELETE n", {"ids": ids})
                    for kind, ids in by_kind.items()]
            self._write(work, f"deleting {len(batch)} nodes")

    def upsert_edges(self, edges: Sequence[Edge], *, fresh: bool = False) -> None:
        """Create edges or update the one with the same (src, kind, dst).

        ``fresh`` is ignored for the same reason as in ``upsert_nodes``.

        Raises:
            StoreError: an endpoint is not stored (the whole batch is rolled back).
        """
        del fresh
        for batch in self._chunks(list(edges)):
            groups = _group_edges(batch)
            work = [(f"UNWIND $rows AS r MATCH (a:{sk.value} {{id: r.src}}) "
                     f"MATCH (b:{dk.value} {{id: r.dst}}) MERGE (a)-[e:{kind.value}]->(b) "
                     f"SET e += r.props RETURN count(e) AS n", {"rows": rows})
                    for (kind, sk, dk), rows in groups.items()]
            self._write_checked(work, list(groups), len(batch))

    def _write_checked(self, work: list[tuple[str, dict[str, Any]]], keys: list[Any], size: int) -> None:
        def run_all(tx: neo4j.ManagedTransaction) -> None:
            for (cypher, params), (kind, sk, dk) in zip(work, keys):
                written = tx.run(cypher, params).single(strict=True)["n"]
                if written != len(params["rows"]):
                    # Raising inside the transaction function rolls the batch back.
                    raise StoreError(
                        f"cannot add {kind.value} edges {sk.value}->{dk.value}: "
                        f"{len(params['rows']) - written} of {len(params['rows'])} have an endpoint "
                        f"that is not stored (is every endpoint stored?)")

        with self._errors(f"writing {size} edges"), self._driver.session(database=self.database) as s:
            s.execute_write(run_all)

    def delete_edges(self, edges: Iterable[Edge]) -> None:
        """Delete edges by (src, kind, dst); missing ones are ignored."""
        for batch in self._chunks(list(edges)):
            work = [(f"UNWIND $rows AS r MATCH (a:{sk.value} {{id: r.src}}) "
                     f"MATCH (b:{dk.value} {{id: r.dst}}) MATCH (a)-[e:{kind.value}]->(b) DELETE e",
                     {"rows": rows}) for (kind, sk, dk), rows in _group_edges(batch).items()]
            self._write(work, f"deleting {len(batch)} edges")

    def clear(self) -> None:
        """Delete every kg node and edge, a batch per transaction (schema and migrations stay)."""
        for kind in NodeKind:
            while True:
                done = self._write([(f"MATCH (n:{kind.value}) WITH n LIMIT $n DETACH DELETE n "
                                     f"RETURN count(*) AS c", {"n": self.batch_size})], "clearing")
                if done[0][0]["c"] < self.batch_size:
                    break

    # -- reads ----------------------------------------------------------------------------

    def get_node(self, node_id: str) -> Node | None:
        return self.get_nodes([node_id]).get(node_id)

    def get_nodes(self, node_ids: Sequence[str]) -> dict[str, Node]:
        ids = list(dict.fromkeys(node_ids))
        out: dict[str, Node] = {}
        for kind in kinds_for_ids(ids):
            for record in self._read(f"UNWIND $ids AS i MATCH (n:{kind.value} {{id: i}}) RETURN n",
                                     {"ids": ids}):
                node = Node.from_row(dict(record["n"]))
                out[node.id] = node
        return out

    def neighbourhood(self, node_id: str, depth: int = 1,
                      edge_kinds: Sequence[EdgeKind] | None = None, limit: int = 500) -> Subgraph:
        """The node and everything within ``depth`` hops, either direction, up to ``limit`` nodes.

        Raises:
            NodeNotFound: no node has that id.
        """
        centre = self.get_node(node_id)
        if centre is None:
            raise NodeNotFound(node_id)
        return walk_neighbourhood(centre, depth, edge_kinds, limit, self._edges_touching, self.get_nodes)

    def _edges_touching(self, ids: list[str]) -> list[Edge]:
        d = self.dialect
        out = []
        for kind in kinds_for_ids(ids):
            for pattern in (f"(a:{kind.value} {{id: i}})-[e]->(b)", f"(a)-[e]->(b:{kind.value} {{id: i}})"):
                records = self._read(
                    f"UNWIND $ids AS i MATCH {pattern} RETURN a.id AS src, b.id AS dst, "
                    f"{d.rel_type('e')} AS kind, {d.node_labels('a')} AS sl, "
                    f"{d.node_labels('b')} AS dl, e", {"ids": ids})
                out.extend(_edge(r) for r in records)
        return out

    def edges_of(self, node_id: str) -> list[Edge]:
        """Every edge into or out of one node."""
        return self._edges_touching([node_id])

    def iter_nodes(self, kinds: Sequence[NodeKind] | None = None) -> Iterator[Node]:
        for kind in kinds or list(NodeKind):
            for record in self._stream(f"MATCH (n:{NodeKind(kind).value}) RETURN n"):
                yield Node.from_row(dict(record["n"]))

    def iter_edges(self, kinds: Sequence[EdgeKind] | None = None) -> Iterator[Edge]:
        d = self.dialect
        for kind in kinds or list(EdgeKind):
            yield from (_edge(r) for r in self._stream(
                f"MATCH (a)-[e:{EdgeKind(kind).value}]->(b) RETURN a.id AS src, b.id AS dst, "
                f"{d.rel_type('e')} AS kind, {d.node_labels('a')} AS sl, {d.node_labels('b')} AS dl, e"))

    def _stream(self, cypher: str) -> Iterator[neo4j.Record]:
        with self._errors("reading"), self._driver.session(
                database=self.database, default_access_mode=neo4j.READ_ACCESS) as session:
            yield from session.run(cypher)

    def counts(self) -> Counts:
        nodes = {k.value: self._read(f"MATCH (n:{k.value}) RETURN count(n) AS c")[0]["c"] for k in NodeKind}
        edges = {k.value: self._read(f"MATCH ()-[e:{k.value}]->() RETURN count(e) AS c")[0]["c"]
                 for k in EdgeKind}
        return Counts(nodes=nodes, edges=edges)

    # -- the user's console ---------------------------------------------------------------

    def query(self, cypher: str, params: dict[str, Any] | None = None, *,
              timeout_ms: int | None = None, max_rows: int | None = None,
              max_bytes: int | None = None) -> QueryResult:
        """Run one statement that only reads the graph, in a READ transaction always rolled back.

        The server plans it first (``EXPLAIN``, same parameters, same transaction); it runs
        only if the plan passes ``Dialect.check_plan``. The answer stops before ``max_rows``
        rows or ``max_bytes`` bytes of rows as compact JSON (``truncated_by`` says which).

        Raises:
            ReadOnlyViolation: the plan does more than read the graph (the operator or
                procedure is named), or the server refused or reported a write.
            QueryTimeout: it ran past its time limit (Neo4j: ``timeout_ms``; ArcadeDB: the
                server's ``arcadedb.command.timeout``).
            QueryError: the server rejected it (its message is kept).
        """
        timeout_ms = int(timeout_ms or self.default_timeout_ms)
        max_rows = int(max_rows or self.default_max_rows)
        max_bytes = int(max_bytes or self.default_max_bytes)
        params = dict(params or {})
        started = time.perf_counter()
        with _console_errors(self.uri, timeout_ms), self._driver.session(
                database=self.database, default_access_mode=neo4j.READ_ACCESS,
                fetch_size=CONSOLE_FETCH_SIZE) as session:
            tx = session.begin_transaction(timeout=timeout_ms / 1000)
            try:
                _refuse_unless_reading(self.dialect, tx.run(f"EXPLAIN {cypher}", params).consume())
                result = tx.run(cypher, params)
                columns = list(result.keys())
                rows, truncated_by = _fetch(result, max_rows, max_bytes)
                _refuse_writes(result.consume())
            finally:
                tx.close()  # rolls back: the console never commits
        return QueryResult(columns=columns, rows=rows, truncated_by=truncated_by,
                           elapsed_ms=(time.perf_counter() - started) * 1000)

    def close(self) -> None:
        self._driver.close()


# -- helpers ----------------------------------------------------------------------------

def _refuse_unless_reading(dialect: Dialect, summary: neo4j.ResultSummary) -> None:
    """Refuse a statement, before it runs, unless the server's plan of it only reads."""
    if summary.plan is None:
        changed = _changes(summary.counters)
        # ArcadeDB gives no plan for schema and administration commands, and applies them.
        applied = f"; the server reports that explaining it already changed {changed}" if changed else ""
        raise ReadOnlyViolation("the console only reads the graph: the server gave no plan for this "
                                f"statement (a schema or administration command?), so it is refused{applied}")
    dialect.check_plan(summary.plan, summary.query_type)


def _fetch(result: neo4j.Result, max_rows: int, max_bytes: int) -> tuple[list[list[Any]], str]:
    """JSON-friendly rows, stopping before ``max_rows`` rows or ``max_bytes`` bytes of JSON."""
    rows: list[list[Any]] = []
    size = 0
    for record in result:  # fetches at most one record past a cap (and its batch)
        if len(rows) >= max_rows:
            return rows, "rows"
        row = [_jsonable(v) for v in record.values()]
        size += len(json.dumps(row, default=str, separators=(",", ":")).encode())
        if size > max_bytes:
            return rows, "bytes"
        rows.append(row)
    return rows, ""


def _refuse_writes(summary: neo4j.ResultSummary) -> None:
    changes = _changes(summary.counters)
    if summary.query_type in ("w", "rw", "s") or changes:
        raise ReadOnlyViolation(
            "the console only reads the graph: the server reports this statement as a write "
            f"({changes or f'query type {summary.query_type!r}'}); its transaction was rolled back")


def _changes(counters: neo4j.SummaryCounters) -> dict[str, Any]:
    """What the server reports a statement changed (``{}``: nothing)."""
    changes = {k: v for k, v in vars(counters).items()
               if isinstance(v, int) and v and not k.startswith("_")}
    if not changes and (counters.contains_updates or counters.contains_system_updates):
        changes = {"contains_updates": True}
    return changes


@contextmanager
def _console_errors(uri: str, timeout_ms: int) -> Iterator[None]:
    try:
        yield
    except neo4j_errors.Neo4jError as exc:
        code, message = exc.code or "", exc.message or str(exc)
        if "AccessMode" in code or "Forbidden" in code:
            raise ReadOnlyViolation(f"the console is read-only: {message}") from exc
        if "TransactionTimedOut" in code or code.endswith("Transaction.Terminated"):
            raise QueryTimeout(f"the query ran past its time limit of {timeout_ms} ms ({message})") from exc
        raise QueryError(message) from exc
    except (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired) as exc:
        raise StoreUnavailable(f"lost the connection to {uri}: {_reason(exc)}") from exc
    except neo4j_errors.DriverError as exc:
        raise QueryError(str(exc)) from exc


def _reason(exc: BaseException) -> str:
    text = str(exc)
    if "refused" in text.lower():
        return "connection refused"
    return text.splitlines()[0] if text else type(exc).__name__


def _kind_of(labels: Iterable[str]) -> str:
    for label in labels:
        if label in _KINDS:
            return label
    raise StoreError(f"a node with labels {sorted(labels)} is not a kg node kind")


def _edge(record: neo4j.Record) -> Edge:
    data = dict(record["e"])
    data.update(src=record["src"], dst=record["dst"])
    return Edge.from_row(record["kind"], _kind_of(record["sl"]), _kind_of(record["dl"]), data)


def _group_edges(edges: Iterable[Edge]) -> dict[tuple[EdgeKind, NodeKind, NodeKind], list[dict[str, Any]]]:
    groups: dict[tuple[EdgeKind, NodeKind, NodeKind], dict[tuple[str, str], dict[str, Any]]] = defaultdict(dict)
    for edge in edges:
        row = edge.row()
        props = {c: row[c] for c in EDGE_COLUMNS}
        groups[(edge.kind, edge.src_kind, edge.dst_kind)][(edge.src, edge.dst)] = {
            "src": edge.src, "dst": edge.dst, "props": props}
    return {key: list(rows.values()) for key, rows in groups.items()}


def _jsonable(value: Any) -> Any:
    """Driver values → JSON-friendly values in the QueryResult shape of kg.store.base."""
    if isinstance(value, neo4j.graph.Node):
        labels = sorted(value.labels)
        kinds = [label for label in labels if label in _KINDS]
        out = {"_type": "node", "_label": (kinds or labels or [None])[0], "_eid": value.element_id}
        out.update({k: _jsonable(v) for k, v in value.items()})
        return out
    if isinstance(value, neo4j.graph.Relationship):
        out = {"_type": "rel", "_label": value.type, "_eid": value.element_id,
               "_src": value.start_node.element_id if value.start_node else None,
               "_dst": value.end_node.element_id if value.end_node else None}
        out.update({k: _jsonable(v) for k, v in value.items()})
        return out
    if isinstance(value, neo4j.graph.Path):
        return {"_type": "path", "nodes": [_jsonable(n) for n in value.nodes],
                "rels": [_jsonable(r) for r in value.relationships]}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "iso_format"):
        return value.iso_format()
    return str(value)
