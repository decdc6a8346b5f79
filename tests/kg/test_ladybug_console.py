"""The embedded store's console: reading statements only, one statement, limits (attacks: tests/security)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.errors import QueryError, QueryTimeout, ReadOnlyViolation
from kg.model import Edge, EdgeKind, Node, NodeKind, note_id
from kg.store.ladybug import LadybugStore


@pytest.fixture
def lb(tmp_path: Path):
    store = LadybugStore.open(tmp_path / "graph")
    store.migrate()
    notes = [Node(id=note_id("v", f"n{i}.md"), kind=NodeKind.NOTE, name=f"n{i}", root="v", path=f"n{i}.md")
             for i in range(30)]
    store.upsert_nodes(notes)
    store.upsert_edges([Edge(notes[i].id, EdgeKind.LINKS_TO, notes[i + 1].id, NodeKind.NOTE, NodeKind.NOTE)
                        for i in range(29)])
    yield store
    store.close()


@pytest.mark.parametrize("query", [
    "CREATE (n:Note {id: 'x'})",
    "MATCH (n:Note) SET n.name = 'pwned'",
    "MATCH (n:Note) DETACH DELETE n",
    "MERGE (n:Note {id: 'y'})",
    "CREATE NODE TABLE Evil(id STRING PRIMARY KEY)",
])
def test_writes_are_refused_by_the_database(lb: LadybugStore, query: str) -> None:
    with pytest.raises(ReadOnlyViolation):
        lb.query(query)
    assert lb.counts().nodes["Note"] == 30


def test_commit_cannot_escape_the_read_only_transaction(lb: LadybugStore) -> None:
    with pytest.raises(ReadOnlyViolation, match="TRANSACTION"):
        lb.query("COMMIT")
    with pytest.raises(QueryError, match="multiple statements"):
        lb.query("COMMIT; CREATE (n:Note {id: 'z'})")
    with pytest.raises(ReadOnlyViolation):
        lb.query("CREATE (n:Note {id: 'z'})")
    assert lb.get_node("z") is None


def test_row_cap_and_parameters(lb: LadybugStore) -> None:
    result = lb.query("MATCH (n:Note) RETURN n.name ORDER BY n.name", max_rows=5)
    assert len(result.rows) == 5 and result.truncated
    one = lb.query("MATCH (n:Note {name: $name}) RETURN n.id", {"name": "n3"})
    assert one.rows == [["note:v/n3.md"]] and not one.truncated


def test_timeout_stops_a_runaway_query(lb: LadybugStore) -> None:
    with pytest.raises(QueryTimeout, match="time limit"):
        lb.query("MATCH (a:Note), (b:Note), (c:Note), (d:Note), (e:Note), (f:Note) "
                 "WHERE a.name + b.name + c.name + d.name + e.name + f.name = 'zz' RETURN count(*)",
                 timeout_ms=100)


def test_malformed_query_keeps_the_database_message(lb: LadybugStore) -> None:
    with pytest.raises(QueryError, match="(?i)parser exception"):
        lb.query("MATCH (n:Note RETURN n")


def test_nodes_and_relationships_come_back_tagged(lb: LadybugStore) -> None:
    row = lb.query("MATCH (a:Note {name: 'n0'})-[e:LINKS_TO]->(b) RETURN a, e, b").rows[0]
    a, e, b = row
    assert a["_type"] == "node" and a["_label"] == "Note" and a["id"] == "note:v/n0.md"
    assert e["_type"] == "rel" and e["_label"] == "LINKS_TO"
    assert (e["_src"], e["_dst"]) == (a["_eid"], b["_eid"])


def test_aggregates_and_dates_come_back_as_json_values(lb: LadybugStore) -> None:
    row = lb.query("UNWIND [1, 2, 3] AS x RETURN sum(x), avg(x), date('2024-01-31')").rows[0]
    assert row == [6, 2.0, "2024-01-31"]


def test_columns_are_named_as_the_user_wrote_them(lb: LadybugStore) -> None:
    result = lb.query("MATCH (a:Note)-[e]->(b) RETURN label(e), b.name, count(b) AS n, Count(a) ORDER BY b.name LIMIT 1")
    assert result.columns == ["label(e)", "b.name", "n", "Count(a)"]
    assert result.rows[0][0] == "LINKS_TO"
