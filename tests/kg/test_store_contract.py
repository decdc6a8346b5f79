"""The tests that define GraphStore: each runs against every backend (see the ``store`` fixture)."""

from __future__ import annotations

import pytest

from kg.errors import NodeNotFound, QueryError, QueryTimeout, ReadOnlyViolation, StoreError
from kg.model import Edge, EdgeKind, Node, NodeKind

E, K = EdgeKind, NodeKind

NOTE_A = Node(id="note:v/a.md", kind=K.NOTE, name="a", root="v", path="a.md", text="",
              props={"aliases": ["Alpha"], "frontmatter": {"tags": ["x"], "n": 2}})
HEADING = Node(id="heading:v/a.md#Intro", kind=K.HEADING, name="Intro", root="v", path="a.md",
               text="Intro text", start_line=3, end_line=7, heading="Intro")
NOTE_B = Node(id="note:v/b.md", kind=K.NOTE, name="b", root="v", path="b.md", text="B body", start_line=0)
TAG = Node(id="tag:x", kind=K.TAG, name="x")
FILE = Node(id="file:r/m.py", kind=K.FILE, name="m.py", root="r", path="m.py", lang="python")
FUNC = Node(id="def:r/m.py::f", kind=K.FUNCTION, name="f", root="r", path="m.py", qualname="f",
            signature="def f(x)", doc="Does f.", start_line=1, end_line=2)
CLASS = Node(id="def:r/m.py::C", kind=K.CLASS, name="C", root="r", path="m.py", qualname="C")
NODES = [NOTE_A, HEADING, NOTE_B, TAG, FILE, FUNC, CLASS]

EDGES = [
    Edge(NOTE_A.id, E.CONTAINS, HEADING.id, K.NOTE, K.HEADING),
    Edge(NOTE_A.id, E.LINKS_TO, NOTE_B.id, K.NOTE, K.NOTE, alias="bee", ambiguous=True, line=4,
         props={"raw": "[[b|bee]]"}),
    Edge(NOTE_B.id, E.TAGGED, TAG.id, K.NOTE, K.TAG),
    Edge(FILE.id, E.CONTAINS, FUNC.id, K.FILE, K.FUNCTION),
    Edge(HEADING.id, E.MENTIONS, FUNC.id, K.HEADING, K.FUNCTION, how="name"),
    Edge(FUNC.id, E.CALLS, CLASS.id, K.FUNCTION, K.CLASS, resolved=False, confidence=0.5),
]


@pytest.fixture
def graph(store):
    store.upsert_nodes(NODES)
    store.upsert_edges(EDGES)
    return store


def _edge_keys(store) -> set[tuple[str, str, str]]:
    return {e.key for e in store.iter_edges()}


def test_nodes_and_edges_round_trip_exactly(graph):
    assert sorted(graph.iter_nodes(), key=lambda n: n.id) == sorted(NODES, key=lambda n: n.id)
    assert sorted(graph.iter_edges(), key=lambda e: e.key) == sorted(EDGES, key=lambda e: e.key)
    assert [n.id for n in graph.iter_nodes([K.TAG])] == [TAG.id]
    assert [e.key for e in graph.iter_edges([E.CALLS])] == [EDGES[-1].key]


def test_get_node_and_get_nodes(graph):
    assert graph.get_node(HEADING.id) == HEADING
    assert graph.get_node("note:v/missing.md") is None
    got = graph.get_nodes([FUNC.id, CLASS.id, "def:r/m.py::nope", NOTE_B.id, FUNC.id])
    assert got == {FUNC.id: FUNC, CLASS.id: CLASS, NOTE_B.id: NOTE_B}
    assert graph.get_nodes([]) == {}


def test_counts_by_kind(graph):
    counts = graph.counts().as_dict()
    assert counts["nodes"]["Note"] == 2 and counts["nodes"]["Function"] == 1
    assert counts["nodes"]["Block"] == 0
    assert counts["edges"]["CONTAINS"] == 2 and counts["edges"]["LINKS_TO"] == 1
    assert counts["total_nodes"] == len(NODES) and counts["total_edges"] == len(EDGES)


def test_upsert_updates_in_place_and_keeps_edges(graph):
    changed = Node(id=HEADING.id, kind=K.HEADING, name="Intro", root="v", path="a.md",
                   text="new text", start_line=None, end_line=9, heading="Intro", props={"k": [1, None]})
    graph.upsert_nodes([changed])
    assert graph.get_node(HEADING.id) == changed
    assert graph.get_node(HEADING.id).start_line is None
    assert _edge_keys(graph) == {e.key for e in EDGES}
    assert graph.counts().as_dict()["total_nodes"] == len(NODES)


def test_delete_nodes_detaches_their_edges(graph):
    graph.delete_nodes([(NOTE_B.id, K.NOTE), ("note:v/never.md", K.NOTE)])
    assert graph.get_node(NOTE_B.id) is None
    keys = _edge_keys(graph)
    assert not any(NOTE_B.id in (src, dst) for src, _, dst in keys)
    assert len(keys) == len(EDGES) - 2
    assert graph.get_node(TAG.id) == TAG  # the other end survives


def test_upsert_edge_by_key_then_delete(graph):
    updated = Edge(NOTE_A.id, E.LINKS_TO, NOTE_B.id, K.NOTE, K.NOTE, alias="", subpath="#H", line=None)
    graph.upsert_edges([updated])
    links = list(graph.iter_edges([E.LINKS_TO]))
    assert links == [updated]
    graph.delete_edges([updated, Edge(NOTE_B.id, E.LINKS_TO, NOTE_A.id, K.NOTE, K.NOTE)])
    assert list(graph.iter_edges([E.LINKS_TO])) == []
    assert len(_edge_keys(graph)) == len(EDGES) - 1


def test_fresh_writes_are_ordinary_writes(store):
    store.upsert_nodes(NODES, fresh=True)
    store.upsert_edges(EDGES, fresh=True)
    assert sorted(store.iter_nodes(), key=lambda n: n.id) == sorted(NODES, key=lambda n: n.id)
    assert sorted(store.iter_edges(), key=lambda e: e.key) == sorted(EDGES, key=lambda e: e.key)


def test_large_batches_round_trip_as_small_ones_do(store):
    # Past a few hundred rows a store may take another way in (LadybugDB: COPY from Arrow).
    notes = [Node(id=f"note:v/n{i}.md", kind=K.NOTE, name=f"n{i}", root="v", path=f"n{i}.md", text=f"body {i}",
                  start_line=i if i % 3 else None, props={"aliases": [f"N{i}"]} if i % 2 else {}) for i in range(400)]
    links = [Edge(a.id, E.LINKS_TO, b.id, K.NOTE, K.NOTE, alias=f"a{i}" if i % 2 else "", ambiguous=i % 5 == 0,
                  line=i if i % 3 else None, confidence=0.5 if i % 4 else 1.0) for i, (a, b) in enumerate(zip(notes, notes[1:]))]
    store.upsert_nodes(notes, fresh=True)
    store.upsert_edges(links, fresh=True)
    changed = [Node(id=n.id, kind=K.NOTE, name=n.name, text=f"new {n.text}", start_line=None if n.start_line else 1)
               for n in notes]
    store.upsert_nodes(changed)
    assert sorted(store.iter_nodes(), key=lambda n: n.id) == sorted(changed, key=lambda n: n.id)
    assert sorted(store.iter_edges(), key=lambda e: e.key) == sorted(links, key=lambda e: e.key)
    with pytest.raises(StoreError):
        store.upsert_edges([Edge(a.id, E.LINKS_TO, "note:v/ghost.md", K.NOTE, K.NOTE, line=i) for i, a in enumerate(notes)])


def test_edge_to_a_missing_endpoint_is_an_error_not_a_silent_drop(store):
    store.upsert_nodes([NOTE_A])
    with pytest.raises(StoreError):
        store.upsert_edges([Edge(NOTE_A.id, E.LINKS_TO, "note:v/ghost.md", K.NOTE, K.NOTE)])
    assert list(store.iter_edges()) == []


def _chain(store, length: int = 6) -> list[str]:
    ids = [f"note:v/n{i}.md" for i in range(length)]
    store.upsert_nodes([Node(id=i, kind=K.NOTE, name=i) for i in ids])
    store.upsert_edges([Edge(a, E.LINKS_TO, b, K.NOTE, K.NOTE) for a, b in zip(ids, ids[1:])])
    return ids


def test_neighbourhood_to_depth_in_both_directions(store):
    ids = _chain(store)
    assert set(store.neighbourhood(ids[2], depth=0).nodes) == {ids[2]}
    one = store.neighbourhood(ids[2], depth=1)
    assert one.center == ids[2] and set(one.nodes) == {ids[1], ids[2], ids[3]}
    assert {e.key for e in one.edges} == {(ids[1], "LINKS_TO", ids[2]), (ids[2], "LINKS_TO", ids[3])}
    assert set(store.neighbourhood(ids[0], depth=2).nodes) == set(ids[:3])


def test_neighbourhood_depth_is_clamped(store):
    ids = _chain(store)
    assert set(store.neighbourhood(ids[0], depth=99).nodes) == set(ids[:4])  # MAX_DEPTH = 3
    assert set(store.neighbourhood(ids[0], depth="1; MATCH (n) DETACH DELETE n").nodes) == set(ids[:2])
    assert set(store.neighbourhood(ids[1], depth=-5).nodes) == {ids[1]}
    assert store.counts().as_dict()["total_nodes"] == len(ids)


def test_neighbourhood_filters_kinds_and_caps_nodes(graph):
    sub = graph.neighbourhood(NOTE_A.id, depth=2, edge_kinds=[E.LINKS_TO, E.TAGGED])
    assert set(sub.nodes) == {NOTE_A.id, NOTE_B.id, TAG.id}
    assert len(graph.neighbourhood(NOTE_A.id, depth=3, limit=2).nodes) == 2
    with pytest.raises(NodeNotFound):
        graph.neighbourhood("note:v/missing.md")


def test_query_returns_rows_nodes_and_relationships(graph):
    result = graph.query("MATCH (a:Note)-[r:LINKS_TO]->(b:Note) RETURN a, r, b.name AS name")
    assert result.columns == ["a", "r", "name"] and not result.truncated
    [[a, r, name]] = result.rows
    assert name == "b"
    assert a["_type"] == "node" and a["_label"] == "Note" and a["id"] == NOTE_A.id and a["_eid"]
    assert r["_type"] == "rel" and r["_label"] == "LINKS_TO" and r["alias"] == "bee"
    assert r["_src"] == a["_eid"] and r["_dst"] != a["_eid"]


def test_query_values_are_parameters(graph):
    result = graph.query("MATCH (n:Note) WHERE n.name = $name RETURN n.id AS id", {"name": "a' OR 1=1"})
    assert result.rows == []
    result = graph.query("MATCH (n:Note) WHERE n.name = $name RETURN n.id AS id", {"name": "b"})
    assert result.rows == [[NOTE_B.id]]


@pytest.mark.parametrize("cypher", [
    "CREATE (n:Tag {id: 'tag:evil', name: 'evil'}) RETURN n",
    "MERGE (n:Tag {id: 'tag:evil'}) RETURN n",
    "MATCH (n:Note) DETACH DELETE n",
    "MATCH (n:Note) SET n.name = 'evil' RETURN n.name",
])
def test_query_is_read_only(graph, cypher):
    before = graph.counts().as_dict()
    with pytest.raises(ReadOnlyViolation):
        graph.query(cypher)
    assert graph.counts().as_dict() == before
    assert graph.get_node(NOTE_A.id) == NOTE_A and graph.get_node("tag:evil") is None


def test_query_row_cap_sets_truncated(graph):
    result = graph.query("UNWIND range(1, 50) AS x RETURN x", max_rows=10)
    assert result.truncated and [r[0] for r in result.rows] == list(range(1, 11))
    exact = graph.query("UNWIND range(1, 10) AS x RETURN x", max_rows=10)
    assert not exact.truncated and len(exact.rows) == 10


def test_query_timeout(graph):
    slow = "UNWIND range(1, 3000000) AS x UNWIND range(1, 3000000) AS y RETURN count(*) AS c"
    with pytest.raises(QueryTimeout):
        graph.query(slow, timeout_ms=500)


def test_malformed_query_keeps_the_database_message(graph):
    with pytest.raises(QueryError) as info:
        graph.query("MATCH (n:Note RETURN n")
    assert type(info.value) is QueryError
    message = str(info.value).lower()
    assert "syntax" in message or "parser" in message or "invalid input" in message
