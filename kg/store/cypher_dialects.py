"""Where the Cypher of each Bolt server differs: one small object per server.

The Neo4j store writes its own queries through a ``Dialect`` so that every difference
between servers lives here and nowhere else. Users read the same list in
``docs/Neo4j backend.md``.

======================  ==========================  ============================
                        Neo4j 5                     ArcadeDB (Bolt)
======================  ==========================  ============================
relationship type       ``type(r)``                 ``type(r)``
node label              ``labels(n)[0]``            ``labels(n)[0]``
unique id constraint    ``CREATE CONSTRAINT ...``   the same syntax, supported
TEXT / range indexes    ``CREATE TEXT INDEX ...``   not supported: skipped
transaction timeout     per transaction (driver)    server-wide only:
                                                    ``arcadedb.command.timeout``
READ access mode        refuses writes              ignored: writes are caught by
                                                    the result summary and rolled back
schema in a read tx     refused                     applied at once (not transactional)
``EXPLAIN`` plan        a tree of operators         one node whose text lists the
                                                    steps, one ``+ STEP`` line each
``EXPLAIN`` query type  ``r`` / ``w`` / ``rw`` /    always ``w``: not usable
                        ``s``
``EXPLAIN`` of schema   planned, not run            no plan, and ArcadeDB applies
or admin commands                                   the command while explaining it
======================  ==========================  ============================

The console's guard (``Dialect.check_plan``) reads the plan the server made for a statement
and lets it run only when every operator is on this module's allow-list of operators that
read the graph, and every procedure it calls on ``READING_PROCEDURES``. What the plan does
not show, it cannot refuse: on ArcadeDB an expression's subquery (``COLLECT { ... }``,
``COUNT { ... }``, ``EXISTS { ... }``) appears only as the expression's column, so a
``LOAD CSV`` inside one is not seen; Neo4j plans such subqueries as operators of their own.

LadybugDB (the embedded store, ``kg.store.ladybug``) spells the first two ``label(r)`` and
``label(n)``; its differences are listed in the user documentation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import takewhile
from typing import Any

from kg.errors import ReadOnlyViolation
from kg.model import NodeKind

PlanStep = tuple[str, str]  # (operator, the procedure it calls or "")

# Procedures that only read the schema: the one kind of CALL the console lets run.
READING_PROCEDURES = frozenset({
    "db.labels", "db.relationshipTypes", "db.propertyKeys", "db.schema.visualization",
    "db.schema.nodeTypeProperties", "db.schema.relTypeProperties",
})
_READING_PROCEDURES = {name.casefold() for name in READING_PROCEDURES}

# Neo4j 5 operators (``operatorType`` less its ``@neo4j`` suffix) that only read the graph
# or compute over what was read, from the Cypher manual's operator summary. Left out, so
# refused: every updating operator, LoadCSV, Foreach / SubqueryForeach, TransactionApply /
# TransactionForeach (``CALL { } IN TRANSACTIONS``), the MERGE helpers, ShowSettings /
# ShowTransactions / TerminateTransactions and the parallel runtime's Partitioned* scans.
# ProcedureCall is allowed only for a procedure on READING_PROCEDURES.
NEO4J_READING_OPERATORS = frozenset({
    "ProduceResults", "Projection", "Filter", "Limit", "ExhaustiveLimit", "Skip", "Sort",
    "PartialSort", "Top", "PartialTop", "Distinct", "OrderedDistinct", "EagerAggregation",
    "OrderedAggregation", "Unwind", "Eager", "EmptyResult", "EmptyRow", "Argument",
    "ArgumentTracker", "CacheProperties", "Optional", "Anti", "Apply", "SemiApply",
    "AntiSemiApply", "LetSemiApply", "LetAntiSemiApply", "SelectOrSemiApply",
    "SelectOrAntiSemiApply", "LetSelectOrSemiApply", "LetSelectOrAntiSemiApply", "RollUpApply",
    "CartesianProduct", "Union", "OrderedUnion", "NodeHashJoin", "ValueHashJoin",
    "NodeLeftOuterHashJoin", "NodeRightOuterHashJoin", "TriadicSelection", "TriadicBuild",
    "TriadicFilter", "ProjectEndpoints", "Expand(All)", "Expand(Into)", "OptionalExpand(All)",
    "OptionalExpand(Into)", "VarLengthExpand(All)", "VarLengthExpand(Into)",
    "VarLengthExpand(Pruning)", "VarLengthExpand(Pruning,BFS)", "Repeat(Trail)",
    "NullifyMetadata", "ShortestPath", "StatefulShortestPath(All)", "StatefulShortestPath(Into)",
    "AllNodesScan", "NodeByLabelScan", "NodeByIdSeek", "NodeByElementIdSeek", "NodeIndexSeek",
    "NodeUniqueIndexSeek", "MultiNodeIndexSeek", "NodeIndexSeekByRange",
    "NodeUniqueIndexSeekByRange", "NodeIndexScan", "NodeIndexContainsScan",
    "NodeIndexEndsWithScan", "IntersectionNodeByLabelsScan", "UnionNodeByLabelsScan",
    "SubtractionNodeByLabelsScan", "NodeCountFromCountStore", "RelationshipCountFromCountStore",
    "DirectedAllRelationshipsScan", "UndirectedAllRelationshipsScan",
    "DirectedRelationshipTypeScan", "UndirectedRelationshipTypeScan",
    "DirectedUnionRelationshipTypesScan", "UndirectedUnionRelationshipTypesScan",
    "DirectedRelationshipByIdSeek", "UndirectedRelationshipByIdSeek",
    "DirectedRelationshipByElementIdSeek", "UndirectedRelationshipByElementIdSeek",
    "DirectedRelationshipIndexSeek", "UndirectedRelationshipIndexSeek",
    "DirectedRelationshipIndexSeekByRange", "UndirectedRelationshipIndexSeekByRange",
    "DirectedRelationshipIndexScan", "UndirectedRelationshipIndexScan",
    "DirectedRelationshipIndexContainsScan", "UndirectedRelationshipIndexContainsScan",
    "DirectedRelationshipIndexEndsWithScan", "UndirectedRelationshipIndexEndsWithScan",
    "DynamicLabelNodeLookup", "DynamicDirectedRelationshipTypeLookup",
    "DynamicUndirectedRelationshipTypeLookup", "ShowIndexes", "ShowConstraints",
    "ShowProcedures", "ShowFunctions",
    "ProcedureCall",
})

# ArcadeDB 26 steps that only read the graph: how each ``+ STEP ...`` line of its plan text
# begins (its executor's steps in capitals, its cost-based optimizer's operators in
# CamelCase). Left out, so refused: CREATE, MERGE, SET, REMOVE, DELETE, DETACH DELETE,
# FOREACH, LOAD CSV, CALL SUBQUERY (its body is not shown; with or without IN TRANSACTIONS)
# and EAGER (a read/write barrier). CALL is allowed only for a procedure on
# READING_PROCEDURES.
ARCADEDB_READING_STEPS = frozenset({
    "DUMMY ROW", "SINGLE ROW INPUT", "MATCH NODE", "MATCH RELATIONSHIP", "MATCH EDGE BY INDEX",
    "OPTIONAL MATCH", "INDEX SEEK", "EXPAND INTO", "EXPAND PATH", "SHORTEST PATH",
    "QUANTIFIED PATH", "GAV ONE-HOP SCAN", "FILTER WHERE", "WITH", "UNWIND", "PROJECT",
    "FINAL PROJECTION", "AGGREGATION", "GROUP BY AGGREGATION", "SKIP", "LIMIT", "UNION",
    "TYPE COUNT OPTIMIZATION", "COUNT EDGES", "COUNT CARTESIAN PRODUCT", "CONSTANT COUNT",
    "MIN", "MAX",
    "NodeByLabelScan", "NodeByLabelDisjunctionScan", "NodeByLabelDisjunctionIndexSeek",
    "NodeIndexSeek", "NodeIndexRangeScan", "NodeIndexUnionSeek", "ExpandAll", "ExpandInto",
    "VarLengthExpand", "GAVExpandAll", "GAVExpandInto", "GAVFusedChain", "Filter",
    "CartesianProduct", "NodeHashJoin", "ValueHashJoin", "IndexNestedLoopJoin",
    "RelationshipUniquenessFilter",
    "CALL",
})
# Longest first, so a step is never read as a shorter one that prefixes it; CALL is read apart.
_ARCADEDB_BY_LENGTH = sorted(ARCADEDB_READING_STEPS - {"CALL"}, key=len, reverse=True)
_REFUSED = "the console only reads the graph"
_QUERY_TYPES = {"w": "a write", "rw": "a read and a write", "s": "a schema or administration command"}


@dataclass(frozen=True)
class Dialect:
    """How one Bolt server spells the parts of Cypher that differ between servers.

    Attributes:
        name: The server family (``neo4j`` or ``arcadedb``).
        honours_tx_timeout: Whether the server enforces the driver's per-transaction
            timeout. ArcadeDB only has a server-wide ``arcadedb.command.timeout``.
        refuses_writes_in_read_mode: Whether a READ transaction is refused writes by the
            server itself. Where it is not, the store checks the result summary's
            counters (reported by the server) and rolls the transaction back.
        read_plan: The operators of an ``EXPLAIN`` plan (``ResultSummary.plan``) as
            ``(operator, procedure)`` pairs, the procedure named where one is called.
        reading_operators: The operators that only read the graph (an allow-list).
        procedure_operator: The operator that calls a procedure.
        explain_reports_query_type: Whether ``EXPLAIN`` reports the statement's query
            type; ArcadeDB answers ``w`` for every statement.
        extra_schema: Statements only this server runs, keyed by migration number.
    """

    name: str
    honours_tx_timeout: bool
    refuses_writes_in_read_mode: bool
    read_plan: Callable[[Mapping[str, Any]], list[PlanStep]]
    reading_operators: frozenset[str]
    procedure_operator: str
    explain_reports_query_type: bool
    extra_schema: dict[int, tuple[str, ...]] = field(default_factory=dict)

    def check_plan(self, plan: Mapping[str, Any], query_type: str | None) -> None:
        """Refuse a statement unless the server's plan of it only reads the graph.

        Args:
            plan: The plan of ``EXPLAIN <statement>``.
            query_type: The query type the server reported with it.

        Raises:
            ReadOnlyViolation: an operator, or a procedure it calls, is not on the
                allow-lists (it is named), or the server reports more than a read.
        """
        steps = self.read_plan(plan)
        if not steps:
            raise ReadOnlyViolation(f"{_REFUSED}: the server's plan of this statement names no operator")
        for operator, procedure in steps:
            if operator == self.procedure_operator:
                if procedure.casefold() not in _READING_PROCEDURES:
                    raise ReadOnlyViolation(
                        f"{_REFUSED}: the procedure {procedure or '?'} is refused (the console calls "
                        f"only {', '.join(sorted(READING_PROCEDURES))})")
            elif operator not in self.reading_operators:
                raise ReadOnlyViolation(
                    f"{_REFUSED}: the server plans this statement with {operator or '?'}, which is "
                    "refused (no writes, files, unlisted procedures, subqueries whose plan is not "
                    "shown, or administration)")
        if self.explain_reports_query_type and query_type != "r":
            kind = _QUERY_TYPES.get(query_type or "", f"query type {query_type!r}")
            raise ReadOnlyViolation(f"{_REFUSED}: the server reports this statement as {kind}, "
                                    "which is refused")

    def rel_type(self, var: str) -> str:
        """The expression for a relationship's type (``var`` is a fixed query variable)."""
        return f"type({var})"

    def node_labels(self, var: str) -> str:
        """The expression for a node's labels, as a list."""
        return f"labels({var})"

    def schema(self, number: int) -> tuple[str, ...]:
        """The schema statements of migration ``number`` on this server."""
        common = _COMMON_SCHEMA.get(number, ())
        return common + self.extra_schema.get(number, ())


def _unique_ids() -> tuple[str, ...]:
    # Labels come from the NodeKind allow-list only; constraint names are derived from them.
    return tuple(
        f"CREATE CONSTRAINT kg_{kind.value.lower()}_id IF NOT EXISTS "
        f"FOR (n:{kind.value}) REQUIRE n.id IS UNIQUE"
        for kind in NodeKind
    ) + ("CREATE CONSTRAINT kg_migration_number IF NOT EXISTS "
         "FOR (m:KgMigration) REQUIRE m.number IS UNIQUE",)


def _name_indexes() -> tuple[str, ...]:
    return tuple(
        f"CREATE INDEX kg_{kind.value.lower()}_name IF NOT EXISTS FOR (n:{kind.value}) ON (n.name)"
        for kind in (NodeKind.NOTE, NodeKind.FILE, NodeKind.CLASS, NodeKind.FUNCTION, NodeKind.TAG)
    )


def _neo4j_only() -> tuple[str, ...]:
    # Text indexes speed up CONTAINS / STARTS WITH on names and paths in the console.
    return tuple(
        f"CREATE TEXT INDEX kg_{kind.value.lower()}_path_text IF NOT EXISTS "
        f"FOR (n:{kind.value}) ON (n.path)"
        for kind in (NodeKind.NOTE, NodeKind.FILE)
    )


# Numbered migrations shared by every Bolt server. Append; never edit one that has shipped.
_COMMON_SCHEMA: dict[int, tuple[str, ...]] = {1: _unique_ids(), 2: _name_indexes(), 3: ()}


def _walk(plan: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield plan
    for child in plan.get("children") or ():
        yield from _walk(child)


def _args(node: Mapping[str, Any]) -> Mapping[str, Any]:
    return node.get("args") or node.get("arguments") or {}


def _neo4j_plan(plan: Mapping[str, Any]) -> list[PlanStep]:
    """Every operator of a Neo4j plan tree, with the procedure a ProcedureCall calls."""
    steps = []
    for node in _walk(plan):
        operator = str(node.get("operatorType", "")).split("@", 1)[0]  # "Filter@neo4j"
        procedure = ""
        if operator == "ProcedureCall":
            # Details: "db.labels() :: (label :: STRING)" (Neo4j 4 called it Signature).
            args = _args(node)
            details = args.get("Details") or args.get("details") or args.get("Signature") or ""
            procedure = str(details).split("(", 1)[0].strip()
        steps.append((operator, procedure))
    return steps


def _arcadedb_plan(plan: Mapping[str, Any]) -> list[PlanStep]:
    """The steps ArcadeDB lists in the text of its one plan node, a ``+ STEP ...`` line each.

    Its ``EXPLAIN`` answers one ``ArcadeDB.OpenCypher.Plan`` node whose
    ``string-representation`` is the planner's own rendering: the executor's steps and the
    optimizer's operators, nested by indentation. Any other node counts as an operator of
    that name, so a change of format is refused rather than misread. A line that does not
    start with ``+`` (a heading, an estimate, the rest of a string literal) is no step; a
    literal that holds a ``+`` line only adds a step, which must pass too.
    """
    steps: list[PlanStep] = []
    for node in _walk(plan):
        text = _args(node).get("string-representation")
        if node.get("operatorType") != "ArcadeDB.OpenCypher.Plan" or not isinstance(text, str):
            steps.append((str(node.get("operatorType", "")), ""))
            continue
        steps.extend(_arcadedb_step(line.strip()[2:].strip())
                     for line in text.splitlines() if line.strip().startswith("+ "))
    return steps


def _arcadedb_step(head: str) -> PlanStep:
    """One plan line as a step: ``MATCH NODE (n)`` → ("MATCH NODE", "");
    ``CALL db.labels() YIELD 1 fields`` → ("CALL", "db.labels")."""
    if head.startswith("CALL ") and not head.startswith("CALL SUBQUERY"):
        return "CALL", head[len("CALL "):].split("(", 1)[0].strip()
    for step in _ARCADEDB_BY_LENGTH:
        if head == step or (head.startswith(step) and head[len(step)] in " (["):
            return step, ""
    # Not a reading step: named by its first words only, as the rest echoes the statement.
    words = head.split(" ")
    if not words[0].isupper():  # an optimizer operator, "Name(...) [...]"
        return words[0].split("(", 1)[0].split("[", 1)[0], ""
    return " ".join(list(takewhile(str.isupper, words))[:2]), ""


NEO4J = Dialect("neo4j", honours_tx_timeout=True, refuses_writes_in_read_mode=True,
                read_plan=_neo4j_plan, reading_operators=NEO4J_READING_OPERATORS,
                procedure_operator="ProcedureCall", explain_reports_query_type=True,
                extra_schema={3: _neo4j_only()})
ARCADEDB = Dialect("arcadedb", honours_tx_timeout=False, refuses_writes_in_read_mode=False,
                   read_plan=_arcadedb_plan, reading_operators=ARCADEDB_READING_STEPS,
                   procedure_operator="CALL", explain_reports_query_type=False)

MIGRATION_NUMBERS = tuple(sorted(_COMMON_SCHEMA))


def detect(agent: str) -> Dialect:
    """The dialect for a server, from the agent string it announces over Bolt.

    ArcadeDB announces itself as ``Neo4j/5.26.0 compatible (ArcadeDB 26.10.2)`` and its
    ``dbms.components()`` says "Neo4j Kernel", so the agent string is what tells them apart.
    """
    return ARCADEDB if "arcadedb" in agent.lower() else NEO4J
