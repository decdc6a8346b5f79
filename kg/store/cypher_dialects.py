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
======================  ==========================  ============================

LadybugDB (the embedded store, ``kg.store.ladybug``) spells the first two ``label(r)`` and
``label(n)``; its differences are listed in the user documentation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kg.model import NodeKind


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
        extra_schema: Statements only this server runs, keyed by migration number.
    """

    name: str
    honours_tx_timeout: bool
    refuses_writes_in_read_mode: bool
    extra_schema: dict[int, tuple[str, ...]] = field(default_factory=dict)

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

NEO4J = Dialect("neo4j", honours_tx_timeout=True, refuses_writes_in_read_mode=True,
                extra_schema={3: _neo4j_only()})
ARCADEDB = Dialect("arcadedb", honours_tx_timeout=False, refuses_writes_in_read_mode=False)

MIGRATION_NUMBERS = tuple(sorted(_COMMON_SCHEMA))


def detect(agent: str) -> Dialect:
    """The dialect for a server, from the agent string it announces over Bolt.

    ArcadeDB announces itself as ``Neo4j/5.26.0 compatible (ArcadeDB 26.10.2)`` and its
    ``dbms.components()`` says "Neo4j Kernel", so the agent string is what tells them apart.
    """
    return ARCADEDB if "arcadedb" in agent.lower() else NEO4J
