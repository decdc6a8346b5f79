"""Triplet mining: positives from structure, far-away hard negatives, splits by node."""

from __future__ import annotations

import networkx as nx
import pytest

from embed.negatives import tokenize
from embed.pair_texts import doc_summary
from embed.triplets import (
    PAIR_KINDS, QUERY_PAIRS, MiningStats, Triplet, counts_by_kind, fingerprint, mine_from_graph, mine_triplets,
    split_of, structural_pairs,
)
from kg.errors import ConfigError
from kg.feedback import Judgement
from kg.model import Edge, EdgeKind, Node, NodeKind, note_id
from tests.embed.graphs import build_graph


@pytest.fixture(scope="module")
def toy() -> tuple[list[Node], list[Edge], list[Triplet]]:
    nodes, edges = build_graph()
    return nodes, edges, mine_from_graph(nodes, edges, negatives=2)


def test_every_positive_kind_is_mined_on_request_and_query_like_ones_by_default(toy_store) -> None:
    stats = MiningStats()
    triplets = mine_triplets(toy_store, stats=stats, pair_kinds=PAIR_KINDS)
    kinds = set(counts_by_kind(triplets))
    assert {"SECTION", "DOC", "LINKS_TO", "ALIAS", "DEFINITION", "CALLS", "CONTAINS", "MENTIONS"} <= kinds
    assert sum(stats.pairs.values()) >= len(triplets) > 100
    default = set(counts_by_kind(mine_triplets(toy_store)))
    assert {"SECTION", "DOC", "LINKS_TO", "ALIAS", "MENTIONS"} <= default <= set(QUERY_PAIRS)


def test_unknown_pair_kinds_are_refused(toy_store) -> None:
    with pytest.raises(ConfigError, match="unknown pair kinds SIBLING"):
        mine_triplets(toy_store, pair_kinds=("SECTION", "SIBLING"))


def test_a_docstring_summary_asks_for_the_code_without_the_docstring() -> None:
    doc = "Send a request, retrying with exponential backoff. More words here.\n\nArgs:\n    url: where"
    assert doc_summary(doc) == "Send a request, retrying with exponential backoff"
    assert doc_summary("/** Returns the value. */") == ""  # too short to describe anything
    assert doc_summary("@param x the thing") == ""
    assert doc_summary("Build the `Router` from {@link Options opts} here.") == "Build the Router from Options opts here"
    fn = Node("def:code/net.py::send", NodeKind.FUNCTION, "send", root="code", path="net.py", qualname="send",
              signature="(url, tries=3)", doc=doc,
              text=f"send\n(url, tries=3)\n{doc}\ndef send(url, tries=3):\n    for i in range(tries):\n        sleep(2 ** i)")
    pairs = [p for p in structural_pairs({fn.id: fn}, []) if p.edge_kind == "DOC"]
    assert [p.anchor for p in pairs] == ["Send a request, retrying with exponential backoff"]
    assert "sleep(2 ** i)" in pairs[0].positive and "exponential" not in pairs[0].positive


def test_a_test_name_points_at_the_function_it_names_and_calls() -> None:
    target = Node("def:code/h.py::parse_header", NodeKind.FUNCTION, "parse_header", root="code", path="h.py",
                  text="def parse_header(line):\n    return line.split(':')")
    other = Node("def:code/h.py::log", NodeKind.FUNCTION, "log", root="code", path="h.py", text="def log(m): print(m)")
    test = Node("def:code/tests/test_h.py::test_parse_header_with_quotes", NodeKind.FUNCTION,
                "test_parse_header_with_quotes", root="code", path="tests/test_h.py",
                text="def test_parse_header_with_quotes():\n    assert parse_header('a: \"b\"')")
    nodes = {n.id: n for n in (target, other, test)}
    edges = [Edge(test.id, EdgeKind.CALLS, target.id, NodeKind.FUNCTION, NodeKind.FUNCTION, resolved=True),
             Edge(test.id, EdgeKind.CALLS, other.id, NodeKind.FUNCTION, NodeKind.FUNCTION, resolved=True)]
    pairs = [p for p in structural_pairs(nodes, edges) if p.edge_kind == "TEST"]
    assert [(p.anchor, p.positive_id) for p in pairs] == [("parse header with quotes", target.id)]
    assert not [p for p in structural_pairs(nodes, edges, QUERY_PAIRS) if p.edge_kind == "CALLS"]
    both = {(p.edge_kind, p.positive_id) for p in structural_pairs(nodes, edges, ("TEST", "CALLS"))}
    assert {("TEST", target.id), ("CALLS", target.id), ("CALLS", other.id)} <= both


def test_splits_are_by_node_and_held_out_nodes_never_train(toy) -> None:
    _, _, triplets = toy
    held_out: set[str] = set()
    for t in triplets:
        for node in (t.anchor_id, t.positive_id, t.negative_id):
            assert split_of(node) == t.split, (t.edge_kind, node)
        if t.split != "train":
            held_out |= {t.anchor_id, t.positive_id, t.negative_id}
    training = {n for t in triplets if t.split == "train" for n in (t.anchor_id, t.positive_id, t.negative_id)}
    assert held_out and not held_out & training
    assert {t.split for t in triplets} == {"train", "val", "test"}


def test_negatives_are_far_from_the_positive_and_unlinked_to_the_anchor(toy) -> None:
    nodes, edges, triplets = toy
    G = nx.Graph()
    G.add_nodes_from(n.id for n in nodes)
    G.add_edges_from((e.src, e.dst) for e in edges)
    for t in triplets:
        assert t.negative_id not in (t.anchor_id, t.positive_id)
        assert not G.has_edge(t.anchor_id, t.negative_id)
        try:
            assert nx.shortest_path_length(G, t.positive_id, t.negative_id) >= 3, t
        except nx.NetworkXNoPath:
            pass


def test_negatives_are_lexically_close_to_the_anchor(toy) -> None:
    _, _, triplets = toy
    texts = sorted({t.positive for t in triplets})

    def overlap(a: str, b: str) -> float:
        x, y = set(tokenize(a)), set(tokenize(b))
        return len(x & y) / max(1, len(x | y))

    hard = sum(overlap(t.anchor, t.negative) for t in triplets) / len(triplets)
    rand = sum(overlap(t.anchor, texts[i * 7 % len(texts)]) for i, t in enumerate(triplets)) / len(triplets)
    assert hard > 1.5 * rand


def test_a_near_duplicate_of_the_positive_is_never_its_negative() -> None:
    nodes, edges = build_graph()
    original = next(n for n in nodes if n.id == note_id("vault", "retry/retry 2.md"))
    copy = Node(note_id("vault", "elsewhere/copy.md"), NodeKind.NOTE, "copy", root="vault",
                path="elsewhere/copy.md", text=original.text + " ")
    triplets = mine_from_graph([*nodes, copy], edges, negatives=3, split_fractions=(1.0, 0.0, 0.0))
    about = [t for t in triplets if t.positive_id == original.id]
    assert about and all(t.negative_id != copy.id for t in about)
    assert any(t.negative_id == copy.id for t in triplets)  # it is a fine negative for others


def test_link_anchor_is_the_sentence_around_the_link(toy) -> None:
    _, _, triplets = toy
    links = [t for t in triplets if t.edge_kind == "LINKS_TO"]
    assert links
    for t in links:
        assert t.anchor.startswith("See ") and "[[" not in t.anchor
        assert t.anchor.split()[1] in t.positive  # the link text names the target


def test_definition_pairs_a_signature_and_docstring_with_the_body() -> None:
    nodes, edges = build_graph()
    triplets = mine_from_graph(nodes, edges, pair_kinds=("DEFINITION",))
    t = next(t for t in triplets if t.edge_kind == "DEFINITION")
    assert t.anchor.startswith(t.anchor_id.split("::")[1])
    assert t.positive.startswith("def ") and '""""""' not in t.positive


def test_feedback_gives_query_triplets_with_skipped_results_as_negatives() -> None:
    nodes, edges = build_graph()
    opened, skipped = note_id("vault", "cache/cache 1.md"), note_id("vault", "queue/queue 4.md")
    feedback = [Judgement("lru eviction policy", opened, [skipped], 1),
                ("stale hits", opened, [], 0),
                Judgement("gone", "note:vault/missing.md", [], 0)]
    stats = MiningStats()
    triplets = mine_from_graph(nodes, edges, feedback=feedback, stats=stats)
    found = [t for t in triplets if t.edge_kind == "FEEDBACK"]
    assert {t.anchor for t in found} == {"lru eviction policy", "stale hits"}
    assert all(t.positive_id == opened and t.split == split_of(opened) for t in found)
    first = next(t for t in found if t.anchor == "lru eviction policy")
    assert (first.negative_id == skipped) == (split_of(skipped) == split_of(opened))
    assert stats.feedback_missing == 1


def test_mining_is_deterministic_and_fingerprinted(toy) -> None:
    nodes, edges, triplets = toy
    again = mine_from_graph(list(reversed(nodes)), list(reversed(edges)), negatives=2)
    assert again == triplets
    assert fingerprint(again) == fingerprint(triplets)
    assert fingerprint(triplets[1:]) != fingerprint(triplets)


def test_more_negatives_give_more_distinct_triplets(toy) -> None:
    nodes, edges, two = toy
    one = mine_from_graph(nodes, edges, negatives=1)
    assert len(one) < len(two) <= 2 * len(one)
    keys = [(t.anchor, t.positive_id, t.negative_id) for t in two]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("kwargs", [{"negatives": 0}, {"split_fractions": (0.5, 0.5, 0.5)},
                                    {"split_fractions": (1.0, 0.0)}])
def test_bad_arguments_are_config_errors(kwargs) -> None:
    with pytest.raises(ConfigError):
        mine_from_graph([], [], **kwargs)


def test_ingested_fixtures_give_triplets(ingested_store) -> None:
    stats = MiningStats()
    triplets = mine_triplets(ingested_store, stats=stats)
    assert triplets
    assert {"SECTION", "LINKS_TO"} <= set(stats.pairs)
    for t in triplets:
        assert t.anchor and t.positive and t.negative and t.anchor != t.positive
