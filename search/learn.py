"""Does a trained encoder make search better? Held-out queries, the whole corpus, the whole pipeline.

``kg train`` used to score a model on held-out triplets ranked against the few hundred
texts mined with them, which said "better" for models that made search worse. Here a model
is judged the way a user meets it: queries it never trained on are searched over every
indexed node, through the same pipeline (BM25, vectors, expansion, the learned ranker),
once with the current encoder and once with the new one, in the same run, and compared per
query with a paired bootstrap.

The queries are, in order of preference:

1. a labelled file (``kg eval``'s format: ``--queries FILE``), when the user has one;
2. otherwise the held-out part of what the graph says users ask: the *test*-split pairs of
   the query-like kinds whose query is not the target's own title (a docstring's first
   sentence, a link's sentence, a note naming code, a test's name, a clicked query; see
   ``embed.triplets``), each with the node it leads to. A heading path ("Note > H1 > H2") or
   an alias is left out of the judgement though the model trains on them: a model learns the
   template of its pairs, and held-out pairs of the same template flatter it. On the real
   benchmark the vault's CPU-trained model gained +.156 nDCG@10 on 400 such pairs (+.24 on
   headings alone) and lost .017 on the vault's labelled test half; judged without them it
   gained +.031 (-.022 to +.083) on 62 pairs, and was not promoted.

A model is promoted only when its nDCG@10 gain over the current encoder is positive with
95% confidence (the interval's lower end above 0) and its Recall@10 is not measurably lower
(that interval's upper end not below 0): promotion re-embeds everything and changes every
search, so "not measurably better" keeps what there is. The recall rule is there because
held-out graph pairs share words with their targets: a static model from random weights
matches words well enough to raise their nDCG (+.115 on the real vault) while it loses
recall there (-.125) and on real queries (-.094 nDCG on the vault's labelled test half).
Without headings and aliases in the check such a model reads nDCG -.083 (-.154 to -.015).
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from embed.encoder import Encoder
from embed.triplets import QUERY_PAIRS, Triplet
from kg.store.base import GraphStore
from search.config import SearchConfig
from search.engine import Searcher
from search.eval import EvalReport, LabelledQuery, TargetResolver, evaluate, paired, paired_bootstrap
from search.index import SearchIndex

log = logging.getLogger(__name__)

MAX_QUERIES = 400  # held-out pseudo-queries per comparison (a stable sample): ~1 s per 100 on a CPU
OWN_TITLE_PAIRS = ("SECTION", "ALIAS")  # the query is the target's own heading path or alias
JUDGING_PAIRS = tuple(kind for kind in QUERY_PAIRS if kind not in OWN_TITLE_PAIRS)


def held_out_queries(triplets: Sequence[Triplet], *, limit: int = MAX_QUERIES,
                     kinds: Sequence[str] = JUDGING_PAIRS) -> list[LabelledQuery]:
    """The test-split pairs of ``kinds`` as labelled queries, one per distinct
    (kind, anchor) with all its positives relevant, a stable sample of at most ``limit`` spread over the kinds."""
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    for t in triplets:
        if t.split != "test" or t.edge_kind not in kinds:
            continue
        row = grouped.setdefault((t.edge_kind, t.anchor), {"relevant": {}, "kind": t.edge_kind})
        row["relevant"][t.positive_id] = 1
    by_kind: dict[str, list[LabelledQuery]] = defaultdict(list)
    for (kind, anchor), row in grouped.items():
        digest = hashlib.sha1(f"{kind}\0{anchor}".encode("utf-8", "surrogatepass")).hexdigest()[:12]
        by_kind[kind].append(LabelledQuery(f"{kind.lower()}-{digest}", anchor, row["relevant"], kind=kind))
    for group in by_kind.values():
        group.sort(key=lambda q: q.id)  # the id is a hash: a stable, unbiased order
    out: list[LabelledQuery] = []
    while len(out) < limit and any(by_kind.values()):  # round robin, so no kind crowds out the rest
        for kind in sorted(by_kind):
            if by_kind[kind] and len(out) < limit:
                out.append(by_kind[kind].pop(0))
    return out


def compare_encoders(store: GraphStore, index: SearchIndex, encoders: Mapping[str, Encoder],
                     queries: Sequence[LabelledQuery], *, config: SearchConfig | None = None,
                     k: int = 10, progress: bool = False) -> list[EvalReport]:
    """Search ``queries`` through the full pipeline once per encoder, over every indexed node.

    The index's own vectors are left alone: each encoder's come from ``vectors_for`` (and
    stay cached for when it is promoted).
    """
    resolver = TargetResolver(index.items())
    reports = []
    for name, encoder in encoders.items():
        vectors = index.vectors_for(encoder, store, progress=progress)
        searcher = Searcher(store, index, encoder, config, vectors=vectors)
        reports.append(evaluate(searcher.search, queries, resolver, k=k, name=name))
        log.info("pipeline with %s: %s", name, reports[-1].overall)
    return reports


@dataclass(frozen=True)
class Verdict:
    """The new model against the current one, on the same queries."""

    gain: float  # mean nDCG@10 difference, new - current
    low: float  # its paired 95% bootstrap interval
    high: float
    queries: int
    recall: tuple[float, float, float] = (0.0, 0.0, 0.0)  # Recall@10 difference (mean, low, high)

    MIN_QUERIES = 20  # fewer, and a bootstrap interval means nothing

    @property
    def better(self) -> bool:
        """nDCG@10 higher with 95% confidence, and Recall@10 not measurably lower."""
        return self.queries >= self.MIN_QUERIES and self.gain > 0 and self.low > 0 and self.recall[2] >= 0

    def describe(self) -> str:
        r = self.recall
        return (f"nDCG@10 {self.gain:+.3f} [{self.low:+.3f}, {self.high:+.3f}], Recall@10 {r[0]:+.3f} "
                f"[{r[1]:+.3f}, {r[2]:+.3f}] over {self.queries} held-out queries")


def verdict(new: EvalReport, current: EvalReport) -> Verdict:
    """The paired nDCG@10 and Recall@10 differences of two reports on the same queries."""
    a, b = paired(new, current, "ndcg")
    mean, low, high = paired_bootstrap(a, b)
    return Verdict(mean, low, high, len(a), paired_bootstrap(*paired(new, current, "recall")))
