"""The learned ranker: a linear model plus small boosted trees over lexical, semantic and graph
features of each candidate.

The candidates are the BM25 and vector lists plus what graph expansion reaches. Each gets
the features below; its score is ``weights · features`` plus the sum of the trees' leaves.
The weights are learned on labelled queries (``train``: pairwise logistic loss, relevant
above not relevant in the same query); the trees (LambdaMART, learned separately with
LightGBM) add what a linear score cannot say, such as "a high cosine counts for less in a
file than in a function". Both are kept as data in ``ranker.json`` beside this module, and
the trees are evaluated here with numpy, so search needs no LightGBM;
``bench/search/real/tune.py`` learns them on the *tune* half of the real-corpus benchmark only.

Graph features are what a fused list cannot see: the best cosine among a node's
neighbours (the answer one link or call away from the obvious hit), its container's and
its best child's cosine (the section inside a note that matches, the method inside a class).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from kg.model import is_test_path

FEATURES = (
    "rrf", "rrf_bm25", "rrf_vec", "bm25", "in_bm25", "cos", "cos_gap", "in_vec", "expansion",
    "name_match", "path_match", "neighbour_cos", "parent_cos", "child_cos",
    "neighbour_bm25", "parent_bm25", "child_bm25",
    "kind_note", "kind_heading", "kind_block", "kind_file", "kind_class", "kind_function",
    "test", "length",
)
WEIGHTS_FILE = Path(__file__).with_name("ranker.json")

TEST_WORDS = frozenset({"test", "tests", "testing", "spec", "specs", "fixture", "fixtures", "benchmark", "bench"})


def asks_for_tests(terms: Sequence[str]) -> bool:
    """Whether a query is about tests (then tests are not ranked down)."""
    return any(t.lower() in TEST_WORDS for t in terms)


@dataclass
class Candidate:
    """The first-stage evidence of one candidate, from which its features are computed."""

    id: str
    kind: str
    path: str
    bm25_rank: int | None = None
    bm25: float = 0.0  # its BM25 over the list's best
    vec_rank: int | None = None
    cosine: float = 0.0
    expansion: float = 0.0
    name_match: float = 0.0
    path_match: float = 0.0
    neighbour_cos: float = 0.0
    parent_cos: float = 0.0
    child_cos: float = 0.0
    neighbour_bm25: float = 0.0
    parent_bm25: float = 0.0
    child_bm25: float = 0.0
    text_chars: int = 0  # of its text as the index stores it (so at most search.index.SNIPPET_CHARS)


@dataclass(frozen=True)
class QueryFacts:
    """What the features need to know of the query and of its whole candidate list."""

    top_cosine: float = 0.0
    tests_wanted: bool = False  # the query asks for tests: they are not ranked down


def query_facts(terms: Sequence[str], top_cosine: float) -> QueryFacts:
    return QueryFacts(top_cosine, asks_for_tests(terms))


def features(c: Candidate, q: QueryFacts, rrf_k: int = 60) -> list[float]:
    """The feature vector of a candidate, in ``FEATURES`` order."""
    top_cosine = q.top_cosine
    rrf_bm25 = rrf_k / (rrf_k + c.bm25_rank) if c.bm25_rank is not None else 0.0
    rrf_vec = rrf_k / (rrf_k + c.vec_rank) if c.vec_rank is not None else 0.0
    base = top_cosine if top_cosine > 0 else 1.0
    return [
        (rrf_bm25 + rrf_vec) / 2, rrf_bm25, rrf_vec, c.bm25, float(c.bm25_rank is not None), c.cosine, c.cosine - top_cosine,
        float(c.vec_rank is not None), c.expansion, c.name_match, c.path_match,
        c.neighbour_cos / base, c.parent_cos / base, c.child_cos / base,
        c.neighbour_bm25, c.parent_bm25, c.child_bm25,
        *(float(c.kind == k) for k in ("Note", "Heading", "Block", "File", "Class", "Function")),
        float(not q.tests_wanted and is_test_path(c.path)), math.log1p(c.text_chars) / 8,
    ]


@dataclass(frozen=True)
class Tree:
    """One regression tree: internal node ``i`` sends a row left when ``row[feature[i]] <=
    threshold[i]``; a child ``c >= 0`` is an internal node, ``c < 0`` the leaf ``~c``."""

    feature: tuple[str, ...]
    threshold: tuple[float, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    leaf: tuple[float, ...]

    @classmethod
    def from_lightgbm(cls, structure: Mapping[str, Any], names: Sequence[str]) -> Tree:
        """A tree of LightGBM's ``dump_model()["tree_info"][i]["tree_structure"]``, its features
        named by ``names`` (the column order it was learned on).

        Raises:
            ValueError: a split that is not ``<=`` on a number.
        """
        feature: list[str] = []
        threshold: list[float] = []
        left: list[int] = []
        right: list[int] = []
        leaf: list[float] = []

        def add(node: Mapping[str, Any]) -> int:
            if "leaf_value" in node:
                leaf.append(float(node["leaf_value"]))
                return ~(len(leaf) - 1)
            if node.get("decision_type") != "<=":
                raise ValueError(f"unsupported split {node.get('decision_type')!r}")
            at = len(feature)
            feature.append(names[int(node["split_feature"])])
            threshold.append(float(node["threshold"]))
            left.append(0)
            right.append(0)
            left[at] = add(node["left_child"])
            right[at] = add(node["right_child"])
            return at

        add(structure)
        return cls(tuple(feature), tuple(threshold), tuple(left), tuple(right), tuple(leaf))

    def as_dict(self) -> dict[str, list]:
        return {"feature": list(self.feature), "threshold": list(self.threshold), "left": list(self.left),
                "right": list(self.right), "leaf": list(self.leaf)}

    @classmethod
    def of(cls, data: Mapping[str, Sequence]) -> Tree:
        """A tree as ``as_dict`` wrote it.

        Raises:
            KeyError: a feature that is not in ``FEATURES`` (the tree was learned on others).
            ValueError: the lists do not make a tree (a child before its parent, or none there).
        """
        tree = cls(tuple(map(str, data["feature"])), tuple(map(float, data["threshold"])),
                   tuple(map(int, data["left"])), tuple(map(int, data["right"])), tuple(map(float, data["leaf"])))
        for name in tree.feature:
            _COLUMN[name]  # noqa: B018 (raises KeyError for a feature search does not compute)
        inner = len(tree.feature)
        if len(tree.threshold) != inner or len(tree.left) != inner or len(tree.right) != inner or not tree.leaf:
            raise ValueError("a tree's lists differ in length")
        for at, child in [*enumerate(tree.left), *enumerate(tree.right)]:  # children after parents: no cycle
            if not (at < child < inner or 0 <= ~child < len(tree.leaf)):
                raise ValueError(f"node {at} of a tree has no child {child}")
        return tree



class _Forest:
    """Trees as arrays (tree × node), so that every row goes down every tree at once."""

    def __init__(self, trees: Sequence[Tree]) -> None:
        nodes = max((len(t.feature) for t in trees), default=0) or 1
        leaves = max(len(t.leaf) for t in trees)
        shape = (len(trees), nodes)
        self.column, self.threshold = np.zeros(shape, dtype=int), np.zeros(shape)
        self.left, self.right = np.full(shape, -1), np.full(shape, -1)
        self.leaf = np.zeros((len(trees), leaves))
        self.start = np.array([0 if t.feature else -1 for t in trees])  # a tree of one leaf starts there
        for i, t in enumerate(trees):
            n = len(t.feature)
            self.column[i, :n] = [_COLUMN[name] for name in t.feature]
            self.threshold[i, :n], self.left[i, :n], self.right[i, :n] = t.threshold, t.left, t.right
            self.leaf[i, :len(t.leaf)] = t.leaf

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The sum of every tree's leaf, per row of ``x`` (rows × ``FEATURES``)."""
        tree, row = np.arange(len(self.start)), np.arange(len(x))[:, None]
        node = np.tile(self.start, (len(x), 1))
        while (inner := node >= 0).any():  # rows already at a leaf step in place
            at = np.maximum(node, 0)
            goes_left = x[row, self.column[tree, at]] <= self.threshold[tree, at]
            node = np.where(inner, np.where(goes_left, self.left[tree, at], self.right[tree, at]), node)
        return self.leaf[tree, ~node].sum(axis=1)


_COLUMN = {name: i for i, name in enumerate(FEATURES)}


@dataclass
class Ranker:
    """Weights per feature name (a missing feature weighs 0), learned with one encoder.

    Cosine features depend on the encoder, so a ranker applies only to the encoder it was
    learned with (``encoder``: its ``name@version``) and to models fine-tuned from it (their
    ``lineage``, see ``Searcher.ranker``); with another, search falls back to
    the hand-set fusion.
    """

    weights: dict[str, float]
    encoder: str = ""
    calibration: tuple[float, float] = (1.0, 0.0)  # (a, b): P(relevant) = sigmoid(a * raw + b)
    trees: tuple[Tree, ...] = ()  # added to the linear score
    # A result list stops where evidence runs out: at a raw score this far below the top one's
    # (learned with the rest: on the tune half, nearly every relevant result in the top 10 was
    # closer to the top than this).
    margin: float = 5.0

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> Ranker | None:
        """The ranker saved at ``path``, or None when there is none (or it is unreadable)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            a, b = data.get("calibration", (1.0, 0.0))
            return cls({str(k): float(v) for k, v in data["weights"].items()}, str(data.get("encoder", "")),
                       (float(a), float(b)), tuple(Tree.of(t) for t in data.get("trees", ())),
                       float(data.get("margin", cls.margin)))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def save(self, path: Path, **meta: Any) -> None:
        data = {"weights": self.weights, "encoder": self.encoder, "calibration": list(self.calibration),
                "margin": self.margin, **meta}
        trees = ",\n".join("  " + json.dumps(t.as_dict(), separators=(",", ":")) for t in self.trees)
        text = json.dumps(data, indent=1)[:-2] + f',\n "trees": [\n{trees}\n ]\n}}\n'  # a tree a line
        Path(path).write_text(text, encoding="utf-8")

    def score(self, rows: Sequence[Sequence[float]]) -> np.ndarray:
        """The raw scores (for ordering: only their differences within one query mean anything)."""
        if not len(rows):
            return np.zeros(0)
        x = np.asarray(rows, dtype=float)
        raw = x @ np.array([self.weights.get(name, 0.0) for name in FEATURES])
        return raw + self._forest.predict(x) if self.trees else raw

    @cached_property
    def _forest(self) -> _Forest:
        return _Forest(self.trees)

    def probability(self, raw: float) -> float:
        """A raw score as the chance that the result is one a person judged relevant (see
        ``calibrate``): the score a result shows."""
        a, b = self.calibration
        return sigmoid(a * raw + b)


def train(queries: Sequence[tuple[Sequence[Sequence[float]], Sequence[int]]], *, l2: float = 1e-2,
          steps: int = 400, lr: float = 0.5, negatives: int = 400) -> Ranker:
    """Pairwise logistic regression: within a query, each item should outscore every item of a
    lower grade.

    Args:
        queries: per query, the candidates' feature rows and their grades (0: not relevant).
        l2: weight decay on the standardised weights.
        steps: full-batch gradient steps.
        lr: step size.
        negatives: per query, at most this many items of lower grade that each item is paired
            with (an even sample over the whole candidate list, not only its top).
    """
    diffs, weights = [], []
    rrf = FEATURES.index("rrf")
    for rows, grades in queries:
        x, g = np.asarray(rows, dtype=float), np.asarray(grades)
        if x.size == 0 or g.max(initial=0) == 0:
            continue
        for i in np.flatnonzero(g > 0):
            lower = np.flatnonzero(g < g[i])
            if len(lower) > negatives:
                lower = lower[np.linspace(0, len(lower) - 1, negatives).astype(int)]
            diffs.append(x[i] - x[lower])
            weights.append(np.full(len(lower), 1.0 / len(lower)))
    if not diffs:
        return Ranker({name: float(name == "rrf") for name in FEATURES})
    d = np.vstack(diffs)
    pair_weight = np.concatenate(weights)
    pair_weight /= pair_weight.mean()  # every relevant item counts the same, however many pairs it has
    scale = d.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = d / scale
    w = np.zeros(z.shape[1])
    w[rrf] = 1.0
    for _ in range(steps):
        margin = z @ w
        slope = pair_weight / (1.0 + np.exp(np.clip(margin, -30, 30)))
        grad = -(z * slope[:, None]).mean(axis=0) + l2 * w
        w -= lr * grad
    weights = w / scale
    return Ranker({name: round(float(v), 6) for name, v in zip(FEATURES, weights)})


def calibrate(raw: Sequence[float], relevant: Sequence[bool], *, steps: int = 200) -> tuple[float, float]:
    """Platt scaling: ``(a, b)`` such that ``sigmoid(a * raw + b)`` is the chance a candidate
    with that raw score is relevant, fitted by Newton's method on judged candidates (the
    pairwise ranker's raw scores order well but mean nothing on their own: they sat at 0.98+
    for whole result lists)."""
    x, y = np.asarray(raw, dtype=float), np.asarray(relevant, dtype=float)
    if len(x) < 2 or y.min() == y.max():
        return 1.0, 0.0
    X = np.stack([x, np.ones_like(x)], axis=1)  # noqa: N806 (the design matrix)
    w = np.zeros(2)
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(X @ w, -30, 30)))
        grad = X.T @ (p - y) + 1e-6 * w
        hess = X.T @ (X * (p * (1 - p))[:, None]) + 1e-6 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return round(float(w[0]), 6), round(float(w[1]), 6)


def grades_of(ids: Sequence[str], relevant: Mapping[str, int]) -> list[int]:
    return [int(relevant.get(i, 0)) for i in ids]


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, x))))
