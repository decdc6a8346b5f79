"""The search pipeline: fusion, graph expansion, de-duplication, cut-off, reasons, filters."""

from __future__ import annotations

import pytest

from kg.errors import ConfigError, SearchError
from kg.model import def_id, file_id, heading_id, note_id
from kg.store.ladybug import LadybugStore
from search.config import SearchConfig
from search.engine import Searcher
from search.index import SearchIndex
from tests.support.encoders import tiny_encoder

EXPO = heading_id("vault", "Backoff strategies.md", ["Exponential"])
JITTER = note_id("vault", "Jitter.md")
RETRY = def_id("app", "utils/resilience.py", "retry")
GETTER = def_id("app", "utils/users.py", "UserStore.getUserName")


def _ids(results: list) -> list[str]:
    return [r.id for r in results]


def test_identifier_queries_find_the_definition_in_any_case_style(searcher: Searcher) -> None:
    for query in ("getUserName", "get_user_name"):
        results = searcher.search(query)
        assert results[0].id == GETTER, query
        assert results[0].qualname == "UserStore.getUserName"
    # Plain words meet the identifier too (the method, or its class when that scores higher).
    top = searcher.search("user name")[0]
    assert top.id in (GETTER, def_id("app", "utils/users.py", "UserStore"))
    assert top.matched == ["user", "name"]


def test_expansion_brings_in_a_linked_node_that_does_not_match(store: LadybugStore, index: SearchIndex,
                                                               encoder) -> None:
    plain = Searcher(store, index, encoder, SearchConfig.preset("rrf").with_(cutoff=False))
    expanded = Searcher(store, index, encoder, SearchConfig.preset("kg").with_(cutoff=False))
    before, after = plain.search("exponential"), expanded.search("exponential")
    assert _ids(after)[:2] == [EXPO, JITTER]
    assert JITTER not in _ids(before)
    jitter = after[1]
    assert jitter.matched == [] and jitter.why == "linked from [[Backoff strategies#Exponential]]"


def test_reasons_name_matched_words_meaning_and_graph_relations(store: LadybugStore, index: SearchIndex,
                                                                encoder) -> None:
    searcher = Searcher(store, index, encoder, SearchConfig().with_(cutoff=False))
    results = {r.id: r for r in searcher.search("retry backoff")}
    note = results[note_id("vault", "Backoff strategies.md")]
    assert note.why.startswith("matched: retry, backoff; similar meaning (cos ")
    assert note.matched == ["retry", "backoff"] and "retry" in note.snippet
    assert "mentioned in [[Backoff strategies]]" in results[RETRY].why
    sleeper = results[def_id("app", "utils/resilience.py", "sleep_with_jitter")]
    assert sleeper.why == "called by utils/resilience.py::retry"


def test_section_is_kept_over_its_note(searcher: Searcher) -> None:
    ids = _ids(searcher.search("double the wait after each failure"))
    assert ids[0] == EXPO
    assert note_id("vault", "Backoff strategies.md") not in ids


def test_cutoff_ends_the_list_when_scores_fall_away(store: LadybugStore, index: SearchIndex, encoder) -> None:
    cut = Searcher(store, index, encoder).search("pancakes", k=10)
    padded = Searcher(store, index, encoder, SearchConfig().with_(cutoff=False)).search("pancakes", k=10)
    assert _ids(cut) == [heading_id("vault", "Cooking.md", ["Pancakes"])]
    assert len(padded) > len(cut) and _ids(padded)[0] == _ids(cut)[0]


def test_kind_root_and_tag_filters(searcher: Searcher) -> None:
    assert {r.kind for r in searcher.search("jitter", kinds=["code"])} <= {"File", "Class", "Function"}
    notes = searcher.search("jitter", kinds=["note"])
    assert JITTER in _ids(notes) and {r.kind for r in notes} == {"Note"}
    assert all(r.root == "app" for r in searcher.search("retry backoff", roots=["app"]))
    tagged = searcher.search("flour eggs milk", tags=["food"])
    assert tagged and all("Cooking.md" in r.path for r in tagged)
    assert searcher.search("retry backoff", tags=["food"]) == []
    with pytest.raises(ConfigError, match="unknown kind 'module'"):
        searcher.search("x", kinds=["module"])


def test_results_carry_the_json_fields_other_tools_read(searcher: Searcher) -> None:
    data = searcher.search("getUserName")[0].to_json()
    for key in ("id", "kind", "root", "path", "name", "qualname", "heading", "score", "why", "snippet", "matched"):
        assert key in data
    assert data["kind"] == "Function" and data["path"] == "utils/users.py"


def test_searcher_reloads_after_a_sync(store: LadybugStore, index: SearchIndex, encoder, searcher: Searcher) -> None:
    assert searcher.search("getUserName")
    store.delete_nodes([(GETTER, "Function")])
    index.sync(store, encoder)
    assert GETTER not in _ids(searcher.search("getUserName"))


def test_a_different_encoder_than_the_index_is_refused(store: LadybugStore, index: SearchIndex) -> None:
    other = Searcher(store, index, tiny_encoder(name="other"))
    with pytest.raises(SearchError, match="kg index"):
        other.search("retry")


def test_empty_query_gives_no_results(searcher: Searcher) -> None:
    assert searcher.search("   ") == []
    assert file_id("app", "utils/users.py")  # ids are plain strings


def test_a_note_and_its_title_heading_are_one_result(tmp_path) -> None:
    """`# Search` at the top of Search.md is the whole note: the list shows one of the two."""
    from kg.model import Edge, EdgeKind, Node, NodeKind
    from search.rank import Ranker

    body = "Hybrid search over notes and code: BM25 and vectors, fused, then expanded over the graph."
    note = Node(id=note_id("docs", "Search.md"), kind=NodeKind.NOTE, name="Search", root="docs",
                path="Search.md", text=f"# Search\n\n{body}")
    title = Node(id=heading_id("docs", "Search.md", ["Search"]), kind=NodeKind.HEADING, name="Search",
                 root="docs", path="Search.md", text=f"Search\n{body}", heading="Search")
    other = Node(id=note_id("docs", "Training.md"), kind=NodeKind.NOTE, name="Training", root="docs",
                 path="Training.md", text="# Training\n\nTrain an encoder; search with it to judge it.")
    store = LadybugStore.open(tmp_path / "graph")
    store.migrate()
    store.upsert_nodes([note, title, other])
    store.upsert_edges([Edge(note.id, EdgeKind.CONTAINS, title.id, NodeKind.NOTE, NodeKind.HEADING)])
    index = SearchIndex.open(tmp_path / "search")
    encoder = tiny_encoder()
    index.sync(store, encoder)
    learned = SearchConfig(cutoff=False, ranker=Ranker(dict(Ranker.load().weights)))  # for any encoder
    for config in (SearchConfig(cutoff=False), learned):
        ids = _ids(Searcher(store, index, encoder, config).search("hybrid search bm25 vectors"))
        assert len({note.id, title.id} & set(ids)) == 1, ids
        assert other.id in ids  # only the duplicate goes
    undeduped = _ids(Searcher(store, index, encoder, learned.with_(dedupe=False)).search("hybrid search bm25 vectors"))
    assert {note.id, title.id} <= set(undeduped)
    index.close()
    store.close()
