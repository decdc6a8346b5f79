"""The learned ranker: training recovers an ordering, the searcher applies it only with its own
encoder, tests rank below implementation, and nonsense gets no good match."""

from __future__ import annotations

import numpy as np
import pytest

from kg.store.ladybug import LadybugStore
from search.config import SearchConfig
from search.engine import Searcher
from search.index import SearchIndex, encoder_key
from kg.model import is_test_path
from search.rank import FEATURES, Candidate, QueryFacts, Ranker, Tree, features, train
from tests.search.conftest import C
from tests.support.encoders import HashingEncoder


def test_training_learns_which_feature_predicts_relevance() -> None:
    rng = np.random.default_rng(0)
    queries = []
    signal = FEATURES.index("neighbour_cos")
    for _ in range(30):
        rows = rng.random((40, len(FEATURES)))
        grades = [2 if i == rows[:, signal].argmax() else 0 for i in range(40)]
        queries.append((rows.tolist(), grades))
    ranker = train(queries)
    assert max(ranker.weights, key=lambda name: ranker.weights[name]) == "neighbour_cos"
    held_out = rng.random((40, len(FEATURES)))
    assert int(np.argmax(ranker.score(held_out.tolist()))) == int(held_out[:, signal].argmax())


def test_saved_ranker_loads_with_its_encoder(tmp_path) -> None:
    Ranker({"rrf": 1.5, "test": -2.0}, encoder="model@1").save(tmp_path / "r.json", learned_on="x")
    loaded = Ranker.load(tmp_path / "r.json")
    assert loaded == Ranker({"rrf": 1.5, "test": -2.0}, encoder="model@1")
    assert Ranker.load(tmp_path / "missing.json") is None


def test_trees_add_their_leaves_to_the_linear_score_and_survive_a_save(tmp_path) -> None:
    # A tree as LightGBM dumps it: cos <= 0.5 → leaf -1; else name_match <= 0.5 → 2, else 5.
    dump = {"split_feature": FEATURES.index("cos"), "threshold": 0.5, "decision_type": "<=",
            "left_child": {"leaf_value": -1.0},
            "right_child": {"split_feature": FEATURES.index("name_match"), "threshold": 0.5, "decision_type": "<=",
                            "left_child": {"leaf_value": 2.0}, "right_child": {"leaf_value": 5.0}}}
    trees = (Tree.from_lightgbm(dump, FEATURES), Tree((), (), (), (), (0.25,)))  # the second: one leaf
    ranker = Ranker({"rrf": 1.0}, encoder="model@1", trees=trees, margin=3.5)
    rows = np.zeros((3, len(FEATURES)))
    rows[:, FEATURES.index("rrf")] = 0.1
    rows[1, FEATURES.index("cos")] = rows[2, FEATURES.index("cos")] = 0.9
    rows[2, FEATURES.index("name_match")] = 1.0
    assert ranker.score(rows.tolist()) == pytest.approx([0.1 - 1 + 0.25, 0.1 + 2 + 0.25, 0.1 + 5 + 0.25])
    ranker.save(tmp_path / "r.json")
    assert Ranker.load(tmp_path / "r.json") == ranker
    text = (tmp_path / "r.json").read_text().replace('"cos"', '"a_feature_search_does_not_compute"')
    (tmp_path / "r.json").write_text(text)
    assert Ranker.load(tmp_path / "r.json") is None  # trees learned on other features are not applied
    ranker.save(tmp_path / "r.json")
    (tmp_path / "r.json").write_text((tmp_path / "r.json").read_text().replace('"left":[-1,', '"left":[0,'))
    assert Ranker.load(tmp_path / "r.json") is None  # a node that is its own child: not a tree


def test_trees_score_as_lightgbm_does() -> None:
    lgb = pytest.importorskip("lightgbm")
    rng = np.random.default_rng(1)
    x = rng.random((300, len(FEATURES)))
    grades = (x[:, 0] + x[:, 5] > 1).astype(int) + (x[:, 9] > 0.5)
    params = {"objective": "lambdarank", "num_leaves": 7, "min_data_in_leaf": 5, "verbose": -1, "num_threads": 1}
    model = lgb.train(params, lgb.Dataset(x, grades, group=[100, 100, 100]), num_boost_round=30)
    trees = tuple(Tree.from_lightgbm(t["tree_structure"], FEATURES) for t in model.dump_model()["tree_info"])
    assert Ranker({}, trees=trees).score(x) == pytest.approx(model.predict(x), abs=1e-9)


def test_test_paths_are_recognised() -> None:
    for path in ("tests/test_client.py", "src/foo_test.go", "src/app.spec.ts", "pkg/__tests__/a.js", "conftest.py"):
        assert is_test_path(path), path
    for path in ("httpx/_client.py", "src/contest.py", "src/latest/x.go"):
        assert not is_test_path(path), path


def test_features_follow_the_feature_names() -> None:
    row = features(Candidate(id="x", kind="Heading", path="a.md", bm25_rank=0, bm25=1.0, cosine=0.5), QueryFacts(0.5))
    named = dict(zip(FEATURES, row))
    assert len(row) == len(FEATURES) and named["kind_heading"] == 1.0 and named["in_vec"] == 0.0
    assert named["rrf_bm25"] == 1.0 and named["cos_gap"] == 0.0


def test_ranker_is_used_only_with_its_encoder_and_the_models_tuned_from_it(store: LadybugStore, index: SearchIndex,
                                                                           encoder: HashingEncoder) -> None:
    other = Searcher(store, index, encoder, SearchConfig(ranker=Ranker({"rrf": 1.0}, encoder="another@1")))
    own = Searcher(store, index, encoder, SearchConfig(ranker=Ranker({"rrf": 1.0}, encoder=encoder_key(encoder))))
    assert other.ranker() is None and own.ranker() is not None
    tuned = HashingEncoder(name="tuned", version="2")
    tuned.lineage = ("another@1",)  # fine-tuned from the encoder the ranker was learned with
    searcher = Searcher(store, index, tuned, SearchConfig(ranker=Ranker({"rrf": 1.0}, encoder="another@1")),
                        vectors=index.vectors_for(tuned, store))
    assert searcher.ranker() is not None


def test_learned_scores_are_between_0_and_1_and_penalise_tests(store: LadybugStore, index: SearchIndex,
                                                               encoder: HashingEncoder) -> None:
    ranker = Ranker({"rrf": 4.0, "name_match": 2.0, "test": -6.0, "kind_file": -1.0}, encoder=encoder_key(encoder))
    searcher = Searcher(store, index, encoder, SearchConfig(ranker=ranker, no_match_cosine=-1.0))
    results = searcher.search("retry")
    assert results and all(0.0 < r.score < 1.0 for r in results)
    assert results[0].id == f"def:{C}/utils/resilience.py::retry"
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)


def test_nonsense_gets_no_good_match(store: LadybugStore, index: SearchIndex, encoder: HashingEncoder) -> None:
    ranker = Ranker({"rrf": 1.0}, encoder=encoder_key(encoder))
    strict = Searcher(store, index, encoder, SearchConfig(ranker=ranker, no_match_cosine=0.99))
    assert strict.search("zxqv blorft wibble") == []
    assert strict.search("sleep_with_jitter")  # every query term in a name: still a match
    assert strict.search("sleep jitter wibble")  # most of them: a match worded unlike the corpus
    assert strict.search("sleep zxqv wibble") == []  # one of three is not


def test_tests_are_ranked_down_unless_the_query_asks_for_them() -> None:
    from search.rank import asks_for_tests

    cand = Candidate(id="t", kind="Function", path="tests/test_client.py")
    assert dict(zip(FEATURES, features(cand, QueryFacts(0.5))))["test"] == 1.0
    assert dict(zip(FEATURES, features(cand, QueryFacts(0.5, tests_wanted=True))))["test"] == 0.0
    assert asks_for_tests(["redirect", "tests"]) and not asks_for_tests(["redirect", "latest"])


def test_calibration_turns_raw_scores_into_the_chance_of_relevance() -> None:
    import numpy as np

    from search.rank import calibrate

    rng = np.random.default_rng(0)
    raw = rng.normal(0.0, 3.0, 4000) + 10.0  # raw scores sit far from 0: a plain logistic says ~1 for all
    relevant = rng.random(4000) < 1 / (1 + np.exp(-(0.5 * raw - 6.0)))
    a, b = calibrate(list(raw), list(relevant))
    assert abs(a - 0.5) < 0.1 and abs(b + 6.0) < 1.0
    ranker = Ranker({"rrf": 1.0}, calibration=(a, b))
    assert ranker.probability(12.0) == pytest.approx(0.5, abs=0.1) and ranker.probability(4.0) < 0.1
    assert calibrate([1.0, 2.0], [True, True]) == (1.0, 0.0)  # nothing to tell apart: left as it is
