"""Hybrid search: BM25 + vector candidates, fused, expanded over the graph, de-duplicated, cut off.

::

    query ─┬─ BM25 (FTS5, code-aware tokens) ─┐
           └─ cosine (query vector · matrix) ──┴─ fuse (normalised scores or RRF, × kind weight)
      ─▶ expand from the strong hits (truncated personalised PageRank over CONTAINS, LINKS_TO,
         EMBEDS, CALLS, IMPORTS, INHERITS, MENTIONS) ─▶ de-duplicate (section vs note, method
         vs class) ─▶ cut off where scores fall away ─▶ results, each with a reason

The ``Searcher`` keeps the vectors, the display data and the graph adjacency in memory and
reloads them when the index's generation changes (after a sync).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from embed.encoder import Encoder
from kg.errors import SearchError
from kg.store.base import GraphStore
from search.config import SearchConfig, path_kept, resolve_kinds
from search.examples import find_examples
from search.expand import LocalGraph, Source, dedupe, expand
from search.explain import relation, snippet, why
from search.index import SearchIndex, encoder_key
from search.vectors import ExactIndex, VectorFilter, VectorIndex
from search.rank import Candidate, QueryFacts, Ranker, features, query_facts
from search.tokenize import code_tokens, fts_query, matched_terms, query_terms, shown_matches, stems
from search.units import Item

log = logging.getLogger(__name__)


@dataclass
class SearchResult:
    """One result: what it is, where it lives, its score and why it is there."""

    id: str
    kind: str
    root: str
    path: str
    name: str
    qualname: str
    heading: str
    score: float
    why: str
    snippet: str
    matched: list[str] = field(default_factory=list)
    title: str = ""
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["score"] = round(self.score, 4)
        return out


@dataclass
class _Hit:
    id: str
    score: float = 0.0
    bm25: float | None = None
    bm25_rank: int | None = None
    cosine: float | None = None
    vec_rank: int | None = None
    expansion: float = 0.0
    raw: float = 0.0  # the ranker's score before the logistic (learned ranking only)
    source: Source | None = None


@dataclass
class _View:
    """What the Searcher holds in memory for one index generation."""

    generation: int
    vectors: VectorIndex  # shared with the index (a sync of this process writes it in place)
    items: dict[str, Item]
    graph: LocalGraph
    encoder: str
    name_stems: dict[str, tuple[frozenset[str], frozenset[str]]] = field(default_factory=dict)


def _fold_titles(view: _View, ranked: list[_Hit]) -> list[_Hit]:
    """A note and its title heading (a top-level heading that repeats the note's title: the
    section that is the whole note) are one result: the better scored of the two stays."""
    seen: set[str] = set()
    out = []
    for hit in ranked:
        item = view.items[hit.id]
        key = hit.id
        if (item.kind == "Heading" and item.hpath == item.heading
                and item.heading.strip().casefold() == item.title.strip().casefold()):
            key = view.graph.parent.get(hit.id, hit.id)
        if key not in seen:
            seen.add(key)
            out.append(hit)
    return out


class Searcher:
    """Answers queries over a SearchIndex, with the graph for expansion.

    Args:
        store: the graph (read for the expansion edges, once per index generation).
        index: the synced search index.
        encoder: the same encoder (name and version) the index was synced with.
        config: pipeline settings; defaults are the tuned ones.
        vectors: ``(ids, matrix)`` of ``encoder`` for the index's nodes, in place of the
            index's own (``SearchIndex.vectors_for``: to try a model before promoting it).
        max_concurrent: most searches running at once (None: no limit).
    """

    def __init__(self, store: GraphStore, index: SearchIndex, encoder: Encoder,
                 config: SearchConfig | None = None,
                 vectors: tuple[list[str], np.ndarray] | None = None,
                 max_concurrent: int | None = None) -> None:
        self.store = store
        self.index = index
        self.encoder = encoder
        self.config = config or SearchConfig()
        self._vectors = vectors
        self._view: _View | None = None
        self._lock = threading.Lock()
        self._query_vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._stems: OrderedDict[str, frozenset[str]] = OrderedDict()  # node id → token stems
        self._examples: tuple[tuple[int, int, int], list[dict[str, str]]] | None = None
        self._retired = False  # replaced after a promotion: keeps its last view (see ``updating``)
        # At most this many searches at once (the others wait their turn), so that a server's
        # writer (an ingest, the watcher) still gets its share of the interpreter under load.
        self._turns = threading.BoundedSemaphore(max_concurrent) if max_concurrent else None

    # -- state ---------------------------------------------------------------------------

    def refresh(self, *, force: bool = False) -> _View:
        """Reload vectors, display data and graph if the index has synced since the last load.

        One thread loads; the others go on with the view they have meanwhile (only the very
        first load is waited for), so searches keep answering while the graph changes.
        """
        view = self._view
        if view is not None and not force and (self._retired or view.generation == self.index.generation):
            return view
        if view is not None and not force and not self._lock.acquire(blocking=False):
            return view  # another thread is loading the new view
        if view is None or force:
            self._lock.acquire()
        try:
            generation = self.index.generation
            if self._view is None or force or self._view.generation != generation:
                self._view = self._load(generation)
                self._stems.clear()
            return self._view
        finally:
            self._lock.release()

    @contextmanager
    def updating(self, edges_put: Sequence[Any] = (), edges_gone: Sequence[tuple[str, str, str]] = (),
                 touched: Collection[str] | None = None, *, reload: bool = True) -> Iterator[None]:
        """Around a sync of the index by this process: searches meanwhile keep the view they
        have; afterwards the view is reloaded with its graph patched by the edges that changed
        (not read again from the store), and with only the ``touched`` nodes' display data read
        again (None: all of it). ``reload=False``: this searcher is being replaced (its encoder
        is no longer the index's): searches that still hold it answer from the view it has.
        """
        with self._lock:
            yield
            old = self._view
            if not reload:
                self._retired = old is not None
                return
            if old is None:
                return
            if touched is None:
                items = self.index.items()
            else:
                items = {i: item for i, item in old.items.items() if i not in touched}
                items.update(self.index.items(touched))
            graph = old.graph.patched(edges_put, edges_gone, items) if edges_put or edges_gone else old.graph
            try:
                self._view = self._load(self.index.generation, graph=graph, items=items)
            except SearchError as exc:  # the next search loads again and tells whoever searches
                log.warning("search view not reloaded: %s", exc)
                self._view = None
            self._stems.clear()

    def _load(self, generation: int, graph: LocalGraph | None = None,
              items: dict[str, Item] | None = None) -> _View:
        items = self.index.items() if items is None else items
        vectors: VectorIndex
        if self._vectors is not None:  # a model being tried: its own vectors, held here
            ids, matrix = self._vectors
            vectors = ExactIndex.from_rows(ids, matrix, [(items[i].kind, items[i].root) if i in items else ("", "")
                                                          for i in ids])
            key = encoder_key(self.encoder)
        else:
            vectors, key = self.index.vector_index()
        if len(vectors) and key != encoder_key(self.encoder):
            raise SearchError(f"the search index was built with encoder {key} but the query encoder is "
                              f"{encoder_key(self.encoder)}; run `kg index` to re-embed (cached vectors are reused)")
        if len(vectors) != len(items):
            raise SearchError(f"the search index at {self.index.path} is incomplete "
                              f"({len(vectors)} vectors, {len(items)} nodes); run `kg index`")
        if graph is None:
            graph = LocalGraph.build(self.store, items) if items else LocalGraph()
        return _View(generation, vectors, items, graph, key)

    # -- the pipeline --------------------------------------------------------------------

    def search(self, query: str, k: int = 10, *, kinds: Sequence[str] | None = None,
               roots: Sequence[str] | None = None,
               tags: Sequence[str] | None = None, paths: Sequence[str] | None = None,
               exclude_tests: bool = False) -> list[SearchResult]:
        """The best results for a query (see ``_search``), waiting for a turn when the searcher
        has a concurrency limit."""
        opts = {"kinds": kinds, "roots": roots, "tags": tags, "paths": paths, "exclude_tests": exclude_tests}
        if self._turns is None:
            return self._search(query, k, **opts)
        with self._turns:
            return self._search(query, k, **opts)

    def _search(self, query: str, k: int = 10, *, kinds: Sequence[str] | None = None,
                roots: Sequence[str] | None = None,
                tags: Sequence[str] | None = None, paths: Sequence[str] | None = None,
                exclude_tests: bool = False) -> list[SearchResult]:
        """The best results for a query, at most ``k``, fewer when scores fall away.

        Args:
            query: words, identifiers or a question.
            k: most results.
            kinds: node kinds to keep: note, heading, block, file, class, function, or the
                groups code (file, class, function) and vault (note, heading, block).
            roots: root names to keep.
            tags: keep nodes tagged with one of these (or a nested tag, or inside a tagged note).
            paths: keep nodes whose path (``path`` or ``root/path``) is under one of these
                folders or matches one of these globs (``src/``, ``*.py``, ``docs/**/api*``).
            exclude_tests: leave out test code and fixtures (``kg.model.is_test_path``).

        Raises:
            ConfigError: an unknown kind.
            SearchError: the index is missing, incomplete, or built with another encoder.
        """
        view = self.refresh()
        terms = query_terms(query)
        if not view.items or (not terms and not query.strip()):
            return []
        narrowed = bool(tags or paths or exclude_tests)
        hits, qvec = self._gather(view, query, terms, resolve_kinds(kinds), roots, widen=5 if narrowed else 1)
        ranker = self.ranker()
        if ranker is not None and hits:
            if not self._learned_scores(view, hits, qvec, terms, ranker):
                return []  # no good match
        if narrowed:
            hits = {i: h for i, h in hits.items() if (not tags or view.graph.has_tag(i, tags))
                    and path_kept(view.items[i], paths, exclude_tests)}
        ranked = self._rank(view, hits, k)
        return self._results(view, ranked, query, terms)

    def examples(self, per_root: int = 2, tries: int = 8) -> list[dict[str, str]]:
        """Example queries that work here (``search.examples.find_examples``), kept per index
        generation.

        Returns:
            ``[{"query", "root", "id"}]``, roots in name order.
        """
        view = self.refresh()
        cached = self._examples
        if cached is None or cached[0] != (view.generation, per_root, tries):
            found = find_examples(view.items, view.graph, self.search, per_root=per_root, tries=tries)
            cached = self._examples = ((view.generation, per_root, tries), found)
        return list(cached[1])

    def ranker(self) -> Ranker | None:
        """The configured ranker, when it was learned with this searcher's encoder or one it
        was fine-tuned from (its ``lineage``)."""
        ranker = self.config.ranker
        if ranker is None or not ranker.encoder:
            return ranker
        own = (encoder_key(self.encoder), *getattr(self.encoder, "lineage", ()))
        return ranker if ranker.encoder in own else None

    def candidate_features(self, query: str) -> tuple[list[str], list[list[float]]]:
        """Every candidate of a query with its ranker features (for learning the ranker)."""
        view = self.refresh()
        terms = query_terms(query)
        if not view.items or not terms:
            return [], []
        hits, qvec = self._gather(view, query, terms, None, None)
        cands, facts, rows = self._feature_rows(view, hits, qvec, terms)
        return [c.id for c in cands], rows

    def _feature_rows(self, view: _View, hits: dict[str, _Hit], qvec: np.ndarray | None,
                      terms: Sequence[str]) -> tuple[list[Candidate], QueryFacts, list[list[float]]]:
        """The candidates of the hits, the query's facts, and each candidate's feature row."""
        cands = self.candidates(view, hits, qvec, terms)
        facts = query_facts(terms, max((c.cosine for c in cands), default=0.0))
        return cands, facts, [features(c, facts, self.config.rrf_k) for c in cands]

    def _gather(self, view: _View, query: str, terms: list[str], kinds: list[str] | None,
                roots: Sequence[str] | None, widen: int = 1) -> tuple[dict[str, _Hit], np.ndarray | None]:
        """First-stage candidates: BM25 and vector lists fused, then graph expansion; and the
        query's vector (None when vectors are not used)."""
        cfg = self.config
        bm25 = self.index.bm25(fts_query(terms), cfg.bm25_candidates * widen, kinds=kinds,
                               roots=roots, weights=cfg.column_weights) if cfg.use_bm25 else []
        # BM25 reads the index as it is now; a sync running meanwhile may have added nodes this
        # view does not hold yet. The view is the snapshot: they appear once it is refreshed.
        bm25 = [(node_id, score) for node_id, score in bm25 if node_id in view.items]
        qvec = self._embed(query) if cfg.use_vector else None
        vec = self._vector(view, qvec, cfg.vector_candidates * widen, kinds, roots) if qvec is not None else []
        hits = self._fuse(view, bm25, vec)
        if cfg.expand and hits:
            self._expand(view, hits, kinds, roots)
        return hits, qvec

    def _vector(self, view: _View, qvec: np.ndarray, limit: int, kinds: list[str] | None,
                roots: Sequence[str] | None) -> list[tuple[str, float, int]]:
        """The vector list: (id, cosine, rank), nearest first. The index is the live one: a
        node a sync has added since this view was loaded is left for the next view."""
        allowed = VectorFilter(kinds, roots) if kinds or roots else None
        found = view.vectors.search(qvec, limit, allowed, min_score=self.config.min_cosine)
        return [(node_id, cosine, rank) for rank, (node_id, cosine) in enumerate(found) if node_id in view.items]

    def _embed(self, query: str) -> np.ndarray:
        vector = self._query_vectors.get(query)
        if vector is None:
            vector = np.asarray(self.encoder.encode([query])[0], dtype=np.float32)
            self._query_vectors[query] = vector
            if len(self._query_vectors) > 256:
                self._query_vectors.popitem(last=False)
        return vector

    def _fuse(self, view: _View, bm25: list[tuple[str, float]],
              vec: list[tuple[str, float, int]]) -> dict[str, _Hit]:
        cfg = self.config
        hits: dict[str, _Hit] = {}
        top_b = bm25[0][1] if bm25 and bm25[0][1] > 0 else 1.0
        lo, span = 0.0, 1.0
        if vec:
            hi = vec[0][1]
            lo = vec[-1][1] if cfg.vector_floor is None else min(cfg.vector_floor, hi - 1e-3)
            span = hi - lo if hi - lo > 1e-6 else 1.0
        for rank, (node_id, score) in enumerate(bm25):
            hit = hits.setdefault(node_id, _Hit(node_id))
            hit.bm25, hit.bm25_rank = score, rank
            hit.score += cfg.bm25_weight * (1.0 / (cfg.rrf_k + rank) if cfg.fusion == "rrf" else score / top_b)
        for node_id, cosine, rank in vec:
            hit = hits.setdefault(node_id, _Hit(node_id))
            hit.cosine, hit.vec_rank = cosine, rank
            part = 1.0 / (cfg.rrf_k + rank) if cfg.fusion == "rrf" else max(0.0, cosine - lo) / span
            hit.score += cfg.vector_weight * part
        if cfg.fusion == "rrf" and hits:  # scale so the top is about 1, like the linear fusion
            best = max(h.score for h in hits.values())
            for hit in hits.values():
                hit.score /= best
        for hit in hits.values():
            hit.score *= cfg.kind_weights.get(view.items[hit.id].kind, 1.0)
        return hits

    def _expand(self, view: _View, hits: dict[str, _Hit], kinds: list[str] | None,
                roots: Sequence[str] | None) -> None:
        cfg = self.config
        ordered = sorted(hits.values(), key=lambda h: -h.score)
        top = ordered[0].score
        seeds = {h.id: h.score for h in ordered[:cfg.expand_seeds] if h.score >= 0.3 * top}
        received, sources = expand(view.graph, seeds, edge_weights=cfg.edge_weights,
                                   hops=cfg.expand_hops, decay=cfg.hop_decay,
                                   max_nodes=cfg.max_expanded)
        for node_id, amount in received.items():
            item = view.items.get(node_id)
            if item is None or (kinds and item.kind not in kinds) or (roots and item.root not in roots):
                continue
            hit = hits.get(node_id)
            if hit is None:
                hit = hits[node_id] = _Hit(node_id)
            boost = cfg.expand_weight * amount * cfg.kind_weights.get(item.kind, 1.0)
            hit.expansion = boost
            hit.source = sources.get(node_id)
            hit.score += boost

    def candidates(self, view: _View, hits: dict[str, _Hit], qvec: np.ndarray | None,
                   terms: Sequence[str]) -> list[Candidate]:
        """The ranker's evidence for every hit (see search.rank)."""
        wanted = stems(terms)
        top_bm25 = max((h.bm25 or 0.0 for h in hits.values()), default=0.0) or 1.0
        around_hits = {h: view.graph.adj.get(h, ()) for h in hits}
        needed = set(hits).union(*({s.other for s in steps} for steps in around_hits.values()))
        cos = view.vectors.cosines(qvec, needed) if qvec is not None else {}
        lexical = {i: (h.bm25 or 0.0) / top_bm25 for i, h in hits.items() if h.bm25}
        out = []
        for hit in hits.values():
            item = view.items[hit.id]
            names, path = self._name_stems(view, item)
            steps = around_hits[hit.id]
            nbrs = [cos[s.other] for s in steps if s.other in cos]
            kids = [cos[s.other] for s in steps if s.out and s.kind.value == "CONTAINS" and s.other in cos]
            parent = view.graph.parent.get(hit.id)
            around = [lexical.get(s.other, 0.0) for s in steps]
            inside = [lexical.get(s.other, 0.0) for s in steps if s.out and s.kind.value == "CONTAINS"]
            out.append(Candidate(
                id=hit.id, kind=item.kind, path=item.path, bm25_rank=hit.bm25_rank,
                bm25=(hit.bm25 or 0.0) / top_bm25, vec_rank=hit.vec_rank,
                cosine=cos.get(hit.id, 0.0), expansion=hit.expansion,
                name_match=len(wanted & names) / len(wanted) if wanted else 0.0,
                path_match=len(wanted & path) / len(wanted) if wanted else 0.0,
                neighbour_cos=max(nbrs, default=0.0),
                parent_cos=cos.get(parent, 0.0) if parent else 0.0,
                child_cos=max(kids, default=0.0),
                neighbour_bm25=max(around, default=0.0), parent_bm25=lexical.get(parent or "", 0.0),
                child_bm25=max(inside, default=0.0), text_chars=item.chars))
        return out

    def _name_stems(self, view: _View, item: Item) -> tuple[frozenset[str], frozenset[str]]:
        found = view.name_stems.get(item.id)
        if found is None:
            found = (stems(code_tokens(" ".join((item.name, item.qualname, item.heading, item.title)))),
                     stems(code_tokens(item.path)))
            view.name_stems[item.id] = found
        return found

    def _learned_scores(self, view: _View, hits: dict[str, _Hit], qvec: np.ndarray | None,
                        terms: Sequence[str], ranker: Ranker) -> bool:
        """Score every hit with the ranker (a 0..1 score); False when nothing is a good match."""
        cands, facts, rows = self._feature_rows(view, hits, qvec, terms)
        if facts.top_cosine < self.config.no_match_cosine and \
                not any(c.name_match >= self.config.no_match_names for c in cands):
            return False
        raw = ranker.score(rows)
        for cand, value in zip(cands, raw):
            hit = hits[cand.id]
            hit.raw, hit.score = float(value), ranker.probability(float(value))
        return True

    def _rank(self, view: _View, hits: dict[str, _Hit], k: int) -> list[_Hit]:
        cfg = self.config
        scores = {i: h.score for i, h in hits.items() if h.score > 0}
        ranker = self.ranker()  # when there is one, it weighs grain and evidence itself
        dropped = dedupe(scores, view.graph, cfg.dedupe_ratio) if cfg.dedupe and ranker is None else set()
        ranked = sorted((hits[i] for i in scores if i not in dropped), key=lambda h: (-h.score, h.id))
        if cfg.dedupe:
            ranked = _fold_titles(view, ranked)
        ranked = ranked[:max(0, int(k))]
        if not cfg.cutoff or not ranked:
            return ranked
        if ranker is not None:
            return [h for h in ranked if h.raw >= ranked[0].raw - ranker.margin]
        keep = [ranked[0]]
        for hit in ranked[1:]:
            if hit.score < cfg.cutoff_relative * ranked[0].score or hit.score < cfg.cutoff_gap * keep[-1].score:
                break
            keep.append(hit)
        return keep

    def _token_stems(self, item: Item, text: str) -> frozenset[str]:
        found = self._stems.get(item.id)
        if found is None:
            found = stems(code_tokens(" ".join((item.name, item.qualname, item.hpath, item.title, item.path, text))))
            self._stems[item.id] = found
            if len(self._stems) > 4096:
                self._stems.popitem(last=False)
        return found

    def _results(self, view: _View, ranked: list[_Hit], query: str, terms: list[str]) -> list[SearchResult]:
        texts = self.index.texts([h.id for h in ranked])
        out = []
        for hit in ranked:
            item = view.items[hit.id]
            text = texts.get(hit.id, "")
            matched = shown_matches(query, matched_terms(terms, self._token_stems(item, text)))
            cosine = hit.cosine if (hit.vec_rank is not None and hit.vec_rank < self.config.explain_vector_rank
                                    and (hit.cosine or 0.0) >= self.config.explain_cosine) else None
            related = None
            if hit.source is not None and (hit.expansion >= 0.25 * hit.score or not (matched or cosine)):
                source_item = view.items.get(hit.source.seed)
                related = relation(hit.source.step, source_item) if source_item else None
            if not (matched or cosine or related):
                cosine = hit.cosine  # the only evidence there is, however weak
            out.append(SearchResult(
                id=item.id, kind=item.kind, root=item.root, path=item.path, name=item.name,
                qualname=item.qualname, heading=item.heading, score=hit.score,
                why=why(matched, cosine, related), snippet=snippet(text, [m.lower() for m in matched]),
                matched=matched,
                title=item.title, line=item.line))
        return out
