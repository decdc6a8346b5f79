"""Assembling the graph from its owners: an unchanged owner costs nothing, a changed one
replaces exactly its part, and a shared node stays while one owner still gives it."""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.assembly import Assembly
from kg.model import Edge, EdgeKind, Node, NodeKind


@dataclass(eq=False)
class Owner:  # what a parsed file or a note's link resolution is to the assembly
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def note(name: str, *tags: str) -> Owner:
    nid = f"note:v/{name}.md"
    nodes = [Node(id=nid, kind=NodeKind.NOTE, name=name)] + [Node(id=f"tag:{t}", kind=NodeKind.TAG, name=t) for t in tags]
    edges = [Edge(src=nid, kind=EdgeKind.TAGGED, dst=f"tag:{t}", src_kind=NodeKind.NOTE, dst_kind=NodeKind.TAG)
             for t in tags]
    return Owner(nodes, edges)


def link(src: str, dst: str) -> Owner:
    return Owner([], [Edge(src=f"note:v/{src}.md", kind=EdgeKind.LINKS_TO, dst=f"note:v/{dst}.md",
                           src_kind=NodeKind.NOTE, dst_kind=NodeKind.NOTE)])


def parts(*owners: Owner) -> list[tuple[Owner, list[Node], list[Edge]]]:
    return [(o, o.nodes, o.edges) for o in owners]


def test_only_new_owners_bring_edges_and_a_shared_node_outlives_one_of_its_owners() -> None:
    a, b, ab = note("A", "x"), note("B", "x"), link("A", "B")
    assembly = Assembly()
    nodes, brought = assembly.update(parts(a, b, ab))
    assert set(nodes) == {"note:v/A.md", "note:v/B.md", "tag:x"} and len(brought) == 3
    assert assembly.node_kinds == {"Note": 2, "Tag": 1} and assembly.edge_kinds == {"TAGGED": 2, "LINKS_TO": 1}
    nodes, brought = assembly.update(parts(a, b, ab))  # nothing changed
    assert brought == [] and len(assembly.edges) == 3
    a2 = note("A")  # A loses its tag; B still has it
    nodes, brought = assembly.update(parts(a2, b, ab))
    assert brought == [] and "tag:x" in nodes and set(assembly.edges) == {
        ("note:v/B.md", "TAGGED", "tag:x"), ("note:v/A.md", "LINKS_TO", "note:v/B.md")}
    nodes, _ = assembly.update(parts(a2, note("B"), ab))
    assert "tag:x" not in nodes and assembly.node_kinds == {"Note": 2, "Tag": 0}


def test_an_edge_to_a_missing_node_is_dropped_and_counted_while_its_owner_lasts() -> None:
    a, dangling = note("A"), link("A", "Nowhere")
    assembly = Assembly()
    nodes, brought = assembly.update(parts(a, dangling))
    assert brought == [] and assembly.dropped == 1 and not assembly.edges
    unresolved = Node(id="note:v/Nowhere.md", kind=NodeKind.NOTE, name="Nowhere")
    again = link("A", "Nowhere")  # re-resolved once the target exists (a new version)
    nodes, brought = assembly.update(parts(a, again), extra_nodes=[unresolved])
    assert brought == [("note:v/A.md", "LINKS_TO", "note:v/Nowhere.md")] and assembly.dropped == 0
    assert nodes["note:v/Nowhere.md"] is unresolved and "note:v/Nowhere.md" not in assembly.nodes


def test_a_removed_owner_takes_its_nodes_and_edges_with_it() -> None:
    a, b, ab = note("A"), note("B"), link("A", "B")
    assembly = Assembly()
    assembly.update(parts(a, b, ab))
    nodes, brought = assembly.update(parts(a))
    assert set(nodes) == {"note:v/A.md"} and not assembly.edges and brought == []
    assert assembly.edge_kinds["LINKS_TO"] == 0


def test_a_node_two_owners_spell_differently_takes_the_first_givers_version_as_a_fresh_assembly_would() -> None:
    def missing(spelling: str) -> Owner:  # a note's link to a note that does not exist
        return Owner([Node(id="unresolved:v/missing thing", kind=NodeKind.UNRESOLVED, name=spelling)], [])

    a, b = missing("Missing Thing"), missing("missing thing")
    assembly = Assembly()
    assembly.update(parts(a, b))
    assert assembly.nodes["unresolved:v/missing thing"].name == "Missing Thing"
    nodes, _ = assembly.update(parts(b))  # a is deleted: b's spelling, and the node is to be written again
    assert nodes["unresolved:v/missing thing"].name == "missing thing"
    assert "unresolved:v/missing thing" in assembly.touched
    a2 = missing("MISSING THING")  # a comes back, first in owner order
    nodes, _ = assembly.update(parts(a2, b))
    assert nodes["unresolved:v/missing thing"].name == "MISSING THING"
    fresh = Assembly()
    assert fresh.update(parts(a2, b))[0]["unresolved:v/missing thing"] is nodes["unresolved:v/missing thing"]
    assert assembly.node_kinds == {"Unresolved": 1}
