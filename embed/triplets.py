"""Triplet mining: positives from the graph's structure, hard negatives from far away.

A triplet is (anchor, positive, negative) as texts, with the node ids that gave them.

Positives (``edge_kind`` names where each one came from). The default kinds are the ones
whose anchor reads like something a user would type to find the positive (``QUERY_PAIRS``);
the structural ones are there on request (``pair_kinds``):

==============  ====================================================================
``SECTION``     a heading path ("Note > H1 > H2") and the section's text
``DOC``         the first sentence of a definition's docstring and its code without it
``ALIAS``       an alias of a note and the note
``LINKS_TO``    the sentence around a link (else the note's title) and the linked note
``MENTIONS``    a note (the sentence naming the code, else its title) and that code
``TEST``        a test's name in words and the function it calls that the name names
``FEEDBACK``    a search query and the result a user opened
``DEFINITION``  (structural) a definition's name, signature and docstring, and its body
``CALLS``       (structural) a caller and its callee
``CONTAINS``    (structural) a class and each of its methods
==============  ====================================================================

Negatives are close to the anchor by BM25 (and by the current encoder, when one is
given) but at graph distance three or more from the positive, never linked to the anchor
and never a near-duplicate of the positive; for feedback, the results a user skipped above
the one they opened come first, weighted down the further down the list they sat.

Splits are by node: a node's split is a hash of its id, and a triplet belongs to a split
only when all its nodes do, so no held-out node ever reaches training.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tqdm.auto import tqdm

from embed.encoder import Encoder
from embed.negatives import DenseIndex, GraphBall, LexicalIndex, jaccard, tokenize
from embed.pair_texts import (code_text, cut, def_body, def_header, doc_summary, heading_path, link_sentence,
                              name_words, node_text, section_text)
from kg.errors import ConfigError
from kg.feedback import Judgement
from kg.model import SEARCHABLE_KINDS, Edge, EdgeKind, Node, NodeKind, content_hash, is_test_path
from kg.store.base import GraphStore

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
Feedback = Judgement | tuple[str, str, list[str], int]  # (query, opened, skipped, position)
MIN_FEEDBACK_WEIGHT = 0.3  # a skip at rank r weighs 1/log2(r + 1); lighter ones are ignored
QUERY_PAIRS = ("SECTION", "DOC", "ALIAS", "LINKS_TO", "MENTIONS", "TEST", "FEEDBACK")
PAIR_KINDS = (*QUERY_PAIRS, "DEFINITION", "CALLS", "CONTAINS")


@dataclass
class Triplet:
    """One training example: texts first (the order losses expect), then where they came from."""

    anchor: str
    positive: str
    negative: str
    anchor_id: str
    positive_id: str
    negative_id: str
    edge_kind: str
    split: str
    weight: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Pair:
    """A positive pair before its negatives are chosen."""

    anchor: str
    positive: str
    anchor_id: str
    positive_id: str
    edge_kind: str
    negatives: list[tuple[str, float]] = field(default_factory=list)  # (node id, weight) given


@dataclass
class MiningStats:
    """What mining found and dropped, by edge kind."""

    pairs: Counter[str] = field(default_factory=Counter)
    cross_split: Counter[str] = field(default_factory=Counter)
    no_negative: Counter[str] = field(default_factory=Counter)
    random_negatives: int = 0
    feedback_missing: int = 0


def split_of(node_id: str, fractions: Sequence[float] = (0.8, 0.1, 0.1)) -> str:
    """The split a node belongs to, from a hash of its id (stable across runs and machines)."""
    digest = hashlib.sha1(node_id.encode("utf-8", "surrogatepass")).digest()
    x = int.from_bytes(digest[:8], "big") / 2**64
    if x < fractions[0]:
        return "train"
    return "val" if x < fractions[0] + fractions[1] else "test"


def query_id(query: str) -> str:
    """The pseudo node id of a search query (so queries split like nodes do)."""
    return f"query:{content_hash(query.strip().lower())}"


def counts_by_kind(triplets: Iterable[Triplet]) -> dict[str, dict[str, int]]:
    """``{edge_kind: {split: n}}`` for a list of triplets."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SPLITS, 0))
    for t in triplets:
        out[t.edge_kind][t.split] += 1
    return dict(sorted(out.items()))


def fingerprint(triplets: Iterable[Triplet]) -> str:
    """A hash of the triplet set (order-insensitive), recorded with every trained model."""
    lines = sorted(json.dumps([t.anchor, t.positive, t.negative, t.split]) for t in triplets)
    return hashlib.sha1("\n".join(lines).encode("utf-8", "surrogatepass")).hexdigest()[:16]


# --- positives -----------------------------------------------------------------------

def structural_pairs(nodes: dict[str, Node], edges: Iterable[Edge],
                     kinds: Collection[str] = PAIR_KINDS) -> Iterator[Pair]:
    """The positive pairs the graph gives, of the ``kinds`` asked for (see the module docstring)."""
    for node in nodes.values():
        yield from (p for p in _node_pairs(node) if p.edge_kind in kinds)
    for edge in edges:
        src, dst = nodes.get(edge.src), nodes.get(edge.dst)
        if src is not None and dst is not None and src.id != dst.id:
            yield from (p for p in _edge_pairs(edge, src, dst) if p.edge_kind in kinds)


def _node_pairs(node: Node) -> Iterator[Pair]:
    if node.kind == NodeKind.HEADING:
        yield Pair(heading_path(node), section_text(node), node.id, node.id, "SECTION")
    elif node.kind in (NodeKind.CLASS, NodeKind.FUNCTION):
        body = def_body(node)
        if len([ln for ln in body.splitlines() if ln.strip()]) > 1:  # more than a bare signature
            yield Pair(def_header(node), body, node.id, node.id, "DEFINITION")
            summary = doc_summary(node.doc) if node.doc else ""
            if summary and not is_test_path(node.path):
                yield Pair(summary, code_text(node), node.id, node.id, "DOC")
    elif node.kind == NodeKind.NOTE:
        aliases = node.props.get("aliases") or []
        for alias in [aliases] if isinstance(aliases, str) else aliases:
            yield Pair(str(alias), node_text(node), node.id, node.id, "ALIAS")


_TEXT_TARGETS = (NodeKind.NOTE, NodeKind.HEADING, NodeKind.BLOCK)
_CODE = (NodeKind.CLASS, NodeKind.FUNCTION)


def _edge_pairs(edge: Edge, src: Node, dst: Node) -> Iterator[Pair]:
    kind = edge.kind
    if kind == EdgeKind.LINKS_TO and dst.kind in _TEXT_TARGETS and dst.text:
        yield Pair(link_sentence(src, edge, dst), node_text(dst), src.id, dst.id, "LINKS_TO")
    if kind == EdgeKind.MENTIONS and dst.text:
        yield Pair(link_sentence(src, edge, dst), node_text(dst), src.id, dst.id, "MENTIONS")
    if kind == EdgeKind.CALLS and edge.resolved and src.kind in _CODE and dst.kind in _CODE:
        tested = _tested(src, dst)
        if tested is not None:
            yield tested
        yield Pair(node_text(src), node_text(dst), src.id, dst.id, "CALLS")
    if kind == EdgeKind.CONTAINS and src.kind == NodeKind.CLASS and dst.kind == NodeKind.FUNCTION:
        yield Pair(def_header(src), node_text(dst), src.id, dst.id, "CONTAINS")


def _tested(test: Node, target: Node) -> Pair | None:
    """A TEST pair when ``test`` is a test whose name names ``target`` (which is not a test)."""
    if not is_test_path(test.path) or is_test_path(target.path):
        return None
    words, wanted = name_words(test.name), name_words(target.name)
    if not wanted or len(words) < 2 or not set(wanted) <= set(words):
        return None
    return Pair(" ".join(words), node_text(target), test.id, target.id, "TEST")


def feedback_pairs(feedback: Iterable[Any], nodes: dict[str, Node],
                   stats: MiningStats) -> Iterator[Pair]:
    """Pairs from the search feedback log: a query and the result the user opened.

    Args:
        feedback: ``kg.feedback.Judgement``s or ``(query, opened, skipped, position)`` tuples;
            ``skipped`` lists the results shown above the opened one, best first.
        nodes: The graph's nodes by id; judgements naming missing nodes are counted and skipped.
        stats: Where the missing ones are counted.
    """
    for item in feedback:
        query, opened, skipped, _position = (
            item if isinstance(item, tuple) else
            (item.query, item.opened, item.skipped, item.position))
        if opened not in nodes or not str(query).strip():
            stats.feedback_missing += 1
            continue
        weighted = [(s, 1 / math.log2(rank + 1)) for rank, s in enumerate(skipped, start=1)]
        negatives = sorted(((s, w) for s, w in weighted if w >= MIN_FEEDBACK_WEIGHT and s in nodes),
                           key=lambda sw: -sw[1])
        yield Pair(cut(str(query)), node_text(nodes[opened]), query_id(str(query)), opened,
                   "FEEDBACK", negatives)


# --- mining --------------------------------------------------------------------------

def mine_triplets(store: GraphStore, *, negatives: int = 1, seed: int = 0,
                  split_fractions: Sequence[float] = (0.8, 0.1, 0.1),
                  feedback: Iterable[Feedback] | None = None, encoder: Encoder | None = None,
                  pair_kinds: Collection[str] = QUERY_PAIRS, progress: bool = False,
                  stats: MiningStats | None = None) -> list[Triplet]:
    """Mine (anchor, positive, hard negative) triplets from a graph store.

    Args:
        store: The graph to mine.
        negatives: Triplets per positive pair, each with a different negative.
        seed: Seeds the fallback to random negatives (when no hard one qualifies).
        split_fractions: Train, validation and test fractions of the node-id hash space.
        feedback: Search judgements (query, opened, skipped, position) to learn from.
        encoder: The current encoder, to add semantically close negative candidates.
        pair_kinds: Which positives to mine (default: the query-like ones, ``QUERY_PAIRS``).
        progress: Show a progress bar on stderr.
        stats: Filled with counts of pairs found and dropped, by edge kind.

    Returns:
        The triplets, in a stable order.

    Raises:
        ConfigError: ``negatives``, ``split_fractions`` or ``pair_kinds`` are out of range.
    """
    nodes = {n.id: n for n in store.iter_nodes()}
    edges = list(store.iter_edges())
    return mine_from_graph(nodes.values(), edges, negatives=negatives, seed=seed,
                           split_fractions=split_fractions, feedback=feedback, encoder=encoder,
                           pair_kinds=pair_kinds, progress=progress, stats=stats)


def mine_from_graph(nodes: Iterable[Node], edges: Iterable[Edge], *, negatives: int = 1,
                    seed: int = 0, split_fractions: Sequence[float] = (0.8, 0.1, 0.1),
                    feedback: Iterable[Feedback] | None = None, encoder: Encoder | None = None,
                    pair_kinds: Collection[str] = QUERY_PAIRS, progress: bool = False,
                    stats: MiningStats | None = None) -> list[Triplet]:
    """``mine_triplets`` over nodes and edges already in memory (same arguments)."""
    _check(negatives, split_fractions, pair_kinds)
    stats = stats if stats is not None else MiningStats()
    by_id = {n.id: n for n in nodes}
    edges = list(edges)
    pairs = _unique_pairs([*structural_pairs(by_id, edges, pair_kinds),
                           *(feedback_pairs(feedback or (), by_id, stats) if "FEEDBACK" in pair_kinds else ())])
    miner = _Miner(by_id, edges, split_fractions, seed, encoder)
    dense = miner.dense_candidates([p.anchor for p in pairs])
    triplets: list[Triplet] = []
    for i, pair in enumerate(tqdm(pairs, desc="mining triplets", unit="pair", disable=not progress)):
        stats.pairs[pair.edge_kind] += 1
        triplets.extend(miner.triplets(pair, negatives, dense[i] if dense else [], stats))
    _log_counts(triplets, stats)
    return triplets


def _check(negatives: int, fractions: Sequence[float], kinds: Collection[str]) -> None:
    unknown = sorted(set(kinds) - set(PAIR_KINDS))
    if unknown or not kinds:
        raise ConfigError(f"unknown pair kinds {', '.join(unknown) or '(none given)'}; "
                          f"choose from {', '.join(PAIR_KINDS)}")
    if negatives < 1:
        raise ConfigError(f"negatives must be at least 1, not {negatives}")
    if len(fractions) != 3 or min(fractions) < 0 or not math.isclose(sum(fractions), 1.0):
        raise ConfigError(f"split fractions must be three non-negative numbers summing to 1, "
                          f"not {tuple(fractions)}")


def _unique_pairs(pairs: Iterable[Pair]) -> list[Pair]:
    seen: set[tuple[str, str]] = set()
    out = []
    for p in pairs:
        p.anchor, p.positive = p.anchor.strip(), p.positive.strip()
        key = (p.anchor, p.positive_id)
        if p.anchor and p.positive and p.anchor != p.positive and key not in seen:
            seen.add(key)
            out.append(p)
    out.sort(key=lambda p: (p.edge_kind, p.anchor_id, p.positive_id, p.anchor))
    return out


def _log_counts(triplets: list[Triplet], stats: MiningStats) -> None:
    for kind, by_split in counts_by_kind(triplets).items():
        log.info("%-10s pairs %6d  triplets %s  cross-split %d  no negative %d", kind,
                 stats.pairs[kind], by_split, stats.cross_split[kind], stats.no_negative[kind])


class _Miner:
    """Chooses negatives for pairs; holds the indexes built once per mining run."""

    def __init__(self, nodes: dict[str, Node], edges: list[Edge], fractions: Sequence[float],
                 seed: int, encoder: Encoder | None) -> None:
        self.nodes = nodes
        self.fractions = tuple(fractions)
        self.rng = random.Random(seed)
        self.graph = GraphBall((e.src, e.dst) for e in edges)
        pool = sorted((n for n in nodes.values() if n.kind in SEARCHABLE_KINDS and n.text.strip()),
                      key=lambda n: n.id)
        texts = [node_text(n) for n in pool]
        keep = [i for i, text in enumerate(texts) if len(text.split()) >= 3]  # not a bare title
        self.pool_ids = [pool[i].id for i in keep]
        self.pool_texts = [texts[i] for i in keep]
        self.pool_split = [split_of(i, self.fractions) for i in self.pool_ids]
        self.by_split: dict[str, list[int]] = defaultdict(list)
        for i, s in enumerate(self.pool_split):
            self.by_split[s].append(i)
        self.index = {node_id: i for i, node_id in enumerate(self.pool_ids)}
        self.lexical = LexicalIndex(self.pool_texts)
        self.dense = DenseIndex(encoder, self.pool_texts) if encoder is not None else None
        self._tokens: dict[int, set[str]] = {}

    def dense_candidates(self, anchors: list[str]) -> list[list[int]]:
        return self.dense.search_many(anchors) if self.dense is not None else []

    def triplets(self, pair: Pair, n: int, dense: list[int], stats: MiningStats) -> list[Triplet]:
        split = self._pair_split(pair)
        if split is None:
            stats.cross_split[pair.edge_kind] += 1
            return []
        chosen = self._negatives(pair, split, n, dense, stats)
        if not chosen:
            stats.no_negative[pair.edge_kind] += 1
        return [Triplet(pair.anchor, pair.positive, self.pool_texts[i], pair.anchor_id,
                        pair.positive_id, self.pool_ids[i], pair.edge_kind, split, weight)
                for i, weight in chosen]

    def _pair_split(self, pair: Pair) -> str | None:
        split = split_of(pair.positive_id, self.fractions)
        if pair.anchor_id.startswith("query:"):
            return split  # a query is not a node: it goes where the result it found goes
        return split if split_of(pair.anchor_id, self.fractions) == split else None

    def _negatives(self, pair: Pair, split: str, n: int, dense: list[int],
                   stats: MiningStats) -> list[tuple[int, float]]:
        excluded = self.graph.ball(pair.positive_id) | self.graph.neighbours(pair.anchor_id)
        check = _Check(pair, excluded)
        chosen: list[tuple[int, float]] = []
        given = [(self.index[i], w) for i, w in pair.negatives if i in self.index]
        lexical = [(i, 1.0) for i in self.lexical.search(pair.anchor, 48)]
        for i, weight in [*given, *_interleave(lexical, [(d, 1.0) for d in dense])]:
            if len(chosen) >= n:
                break
            if self.pool_split[i] == split and self._ok(i, check, chosen):
                chosen.append((i, weight))
        candidates = self.by_split.get(split, [])
        for _ in range(20 * n):
            if len(chosen) >= n or not candidates:
                break
            i = self.rng.choice(candidates)
            if self._ok(i, check, chosen):
                chosen.append((i, 1.0))
                stats.random_negatives += 1
        return chosen

    def _ok(self, i: int, check: _Check, chosen: list[tuple[int, float]]) -> bool:
        node_id, text = self.pool_ids[i], self.pool_texts[i]
        if node_id in check.excluded or node_id in (check.pair.anchor_id, check.pair.positive_id):
            return False
        if text == check.pair.anchor or _norm_hash(text) == check.positive_hash:
            return False
        if any(i == j for j, _ in chosen):
            return False
        if i not in self._tokens:
            self._tokens[i] = set(tokenize(text))
        return jaccard(self._tokens[i], check.positive_tokens) <= 0.9


@dataclass
class _Check:
    """What a candidate negative is checked against; the positive's tokens only when needed."""

    pair: Pair
    excluded: frozenset[str] | set[str]
    positive_hash: str = ""
    _tokens: set[str] | None = None

    def __post_init__(self) -> None:
        self.positive_hash = _norm_hash(self.pair.positive)

    @property
    def positive_tokens(self) -> set[str]:
        if self._tokens is None:
            self._tokens = set(tokenize(self.pair.positive))
        return self._tokens


def _norm_hash(text: str) -> str:
    return content_hash(" ".join(text.lower().split()))


def _interleave(a: list[Any], b: list[Any]) -> Iterator[Any]:
    for x, y in zip(a, b):
        yield x
        yield y
    longer = a if len(a) > len(b) else b
    yield from longer[min(len(a), len(b)):]
