"""What only a real Neo4j server can show (ArcadeDB, the suite's Bolt server, differs here).

Run with ``pytest tests/kg/test_real_neo4j.py --neo4j-uri bolt://localhost:7687`` and
``NEO4J_PASSWORD`` set (``docker compose up neo4j`` gives one). These tests wipe that graph.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.errors import QueryTimeout, ReadOnlyViolation
from kg.model import Node, NodeKind, note_id
from kg.settings import Settings
from kg.store import open_store

pytestmark = pytest.mark.neo4j


@pytest.fixture
def real(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    settings = Settings.load(os.environ, backend="neo4j", db=tmp_path / "kg",
                             neo4j_uri=request.config.getoption("--neo4j-uri"), query_timeout_ms=300)
    store = open_store(settings)
    store.clear()
    store.upsert_nodes([Node(id=note_id("v", f"{i}.md"), kind=NodeKind.NOTE, name=str(i)) for i in range(60)])
    yield store
    store.clear()
    store.close()


def test_read_transactions_refuse_writes_before_they_run(real) -> None:
    with pytest.raises(ReadOnlyViolation):
        real.query("CREATE (n:Note {id: 'x'})")
    assert real.get_node("x") is None


def test_per_transaction_time_limit(real) -> None:
    with pytest.raises(QueryTimeout):
        real.query("MATCH (a:Note), (b:Note), (c:Note), (d:Note), (e:Note) "
                   "WHERE a.name + b.name + c.name + d.name + e.name = 'zz' RETURN count(*)")


def test_text_index_migration_ran(real) -> None:
    rows = real.query("SHOW INDEXES YIELD type RETURN collect(type) AS types").rows
    assert "TEXT" in rows[0][0]
