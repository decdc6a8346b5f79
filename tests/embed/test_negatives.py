"""The BM25 index and bounded graph neighbourhoods behind hard negatives."""

from __future__ import annotations

from embed.negatives import GraphBall, LexicalIndex, jaccard, tokenize


def test_tokenize_splits_code_identifiers() -> None:
    tokens = tokenize("def make_response(self): HTTPServer")
    assert {"make_response", "make", "response", "httpserver", "http", "server"} <= set(tokens)
    assert "def" not in tokens and "self" not in tokens


def test_lexical_index_ranks_rare_shared_terms_first() -> None:
    docs = ["the cache eviction policy", "retry with exponential backoff",
            "cache warmup", "backoff jitter retry loop", "unrelated words here"]
    index = LexicalIndex(docs)
    assert index.search("exponential backoff", k=2)[0] == 1
    assert set(index.search("retry backoff", k=2)) == {1, 3}
    assert index.search("nothing matches", k=3) == []


def test_graph_ball_is_two_hops_and_does_not_cross_hubs() -> None:
    edges = [("a", "b"), ("b", "c"), ("c", "d")] + [("hub", f"n{i}") for i in range(10)] + [("a", "hub")]
    ball = GraphBall(edges, hub_degree=5)
    assert ball.ball("a") == {"a", "b", "c", "hub"}
    assert "d" not in ball.ball("a")
    assert ball.neighbours("b") == {"a", "c"}


def test_jaccard() -> None:
    assert jaccard({"a", "b"}, {"a", "b"}) == 1.0
    assert jaccard({"a"}, {"b"}) == 0.0
