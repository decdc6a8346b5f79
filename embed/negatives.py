"""Hard-negative candidates: texts that look alike but sit far apart in the graph.

Two pieces, both fast on a graph of 100k nodes:

- ``LexicalIndex``: an in-memory BM25 index over node texts (inverted postings in NumPy
  arrays). A query only touches the postings of its rarest terms, so it costs the length of
  those postings, not the size of the corpus.
- ``GraphBall``: the set of nodes within two hops of a node (undirected), by a bounded
  breadth-first search. Hubs (tags, popular modules: degree above ``hub_degree``) are
  included in a ball but not expanded through, otherwise one popular tag would put every
  note within two hops of every other.

``DenseIndex`` adds candidates that the current encoder finds close, when one is given.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from embed.encoder import Encoder

log = logging.getLogger(__name__)

_WORD = re.compile(r"[A-Za-z0-9_]+")
_PART = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_STOP = frozenset(
    "a an and are as at be by for from has have in is it its of on or that the this to was "
    "were will with not no but if then else def self return none true false import".split()
)


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens, with camelCase and snake_case split into their parts.

    Args:
        text: Any text (prose or code).

    Returns:
        The tokens, stop words and one-letter tokens dropped; a compound word is kept
        whole as well as split, so ``make_response`` matches both ``make`` and itself.
    """
    tokens: list[str] = []
    for word in _WORD.findall(text):
        if word.islower() and "_" not in word or word.isdigit():  # most prose: nothing to split
            if len(word) > 1 and word not in _STOP:
                tokens.append(word)
            continue
        parts = [p.lower() for seg in word.split("_") for p in _PART.findall(seg)]
        if len(parts) > 1:
            tokens.append(word.strip("_").lower())
        tokens.extend(p for p in parts if len(p) > 1 and p not in _STOP)
    return tokens


def jaccard(a: set[str], b: set[str]) -> float:
    """Jaccard similarity of two token sets (1.0 for two empty sets)."""
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


class LexicalIndex:
    """BM25 over a fixed list of documents, queried by their rarest terms.

    Args:
        texts: One text per document; a document's number is its index here.
        k1: BM25 term-frequency saturation.
        b: BM25 length normalisation.
        max_df: Terms in more than this fraction of documents are not used for lookups.
    """

    def __init__(self, texts: Sequence[str], *, k1: float = 1.2, b: float = 0.75,
                 max_df: float = 0.2) -> None:
        self.size = len(texts)
        token_lists = [tokenize(t) for t in texts]
        lengths = np.array([len(t) for t in token_lists], dtype=np.float32)
        avg = float(lengths.mean()) if self.size else 1.0
        docs: dict[str, list[int]] = defaultdict(list)
        tfs: dict[str, list[int]] = defaultdict(list)
        for doc, tokens in enumerate(token_lists):
            for term, tf in Counter(tokens).items():
                docs[term].append(doc)
                tfs[term].append(tf)
        self.idf: dict[str, float] = {}
        self.postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        limit = max(2, int(max_df * self.size))
        for term, ids in docs.items():
            df = len(ids)
            idf = math.log(1 + (self.size - df + 0.5) / (df + 0.5))
            self.idf[term] = idf
            if df > limit:
                continue
            ids_arr = np.asarray(ids, dtype=np.int64)
            tf = np.asarray(tfs[term], dtype=np.float32)
            norm = k1 * (1 - b + b * lengths[ids_arr] / max(avg, 1e-6))
            self.postings[term] = (ids_arr, (idf * tf * (k1 + 1) / (tf + norm)).astype(np.float32))
        log.debug("lexical index: %d documents, %d terms", self.size, len(self.idf))

    def search(self, text: str, k: int = 32, *, max_terms: int = 12) -> list[int]:
        """The ``k`` best documents for ``text`` by BM25 over its ``max_terms`` rarest terms."""
        terms = [t for t in set(tokenize(text)) if t in self.postings]
        terms.sort(key=lambda t: -self.idf[t])
        terms = terms[:max_terms]
        if not terms:
            return []
        ids = np.concatenate([self.postings[t][0] for t in terms])
        weights = np.concatenate([self.postings[t][1] for t in terms])
        unique, inverse = np.unique(ids, return_inverse=True)
        scores = np.bincount(inverse, weights=weights)
        if len(unique) > k:
            top = np.argpartition(-scores, k)[:k]
        else:
            top = np.arange(len(unique))
        top = top[np.lexsort((unique[top], -scores[top]))]
        return [int(i) for i in unique[top]]


class DenseIndex:
    """Nearest documents by cosine under an encoder (exact, in chunks).

    Args:
        encoder: Any ``Encoder``; its vectors are unit length, so a dot product is a cosine.
        texts: The documents.
        batch_size: Encoding batch size.
    """

    def __init__(self, encoder: Encoder, texts: Sequence[str], *, batch_size: int = 64) -> None:
        self.encoder = encoder
        self.matrix = encoder.encode(list(texts), batch_size=batch_size).astype(np.float32)

    def search_many(self, texts: Sequence[str], k: int = 32) -> list[list[int]]:
        """The ``k`` nearest documents for each text."""
        if not len(texts) or not len(self.matrix):
            return [[] for _ in texts]
        queries = self.encoder.encode(list(texts)).astype(np.float32)
        out: list[list[int]] = []
        k = min(k, len(self.matrix))
        for start in range(0, len(queries), 1024):
            sims = queries[start:start + 1024] @ self.matrix.T
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            for row, cand in zip(sims, top):
                out.append([int(i) for i in cand[np.argsort(-row[cand])]])
        return out


class GraphBall:
    """Bounded neighbourhoods of an undirected graph given as edge pairs.

    Args:
        edges: ``(src, dst)`` node id pairs; direction is ignored.
        hub_degree: Nodes with more neighbours than this are not expanded through.
    """

    def __init__(self, edges: Iterable[tuple[str, str]], *, hub_degree: int = 100) -> None:
        self.adjacent: dict[str, set[str]] = defaultdict(set)
        for src, dst in edges:
            if src != dst:
                self.adjacent[src].add(dst)
                self.adjacent[dst].add(src)
        self.hub_degree = hub_degree
        self._cache: dict[str, frozenset[str]] = {}

    def neighbours(self, node: str) -> set[str]:
        """The nodes one hop from ``node`` (either direction)."""
        return self.adjacent.get(node, set())

    def ball(self, node: str, radius: int = 2) -> frozenset[str]:
        """Every node within ``radius`` hops of ``node``, itself included (radius 2 cached)."""
        if radius == 2 and node in self._cache:
            return self._cache[node]
        seen = {node}
        frontier = [node]
        for _ in range(radius):
            nxt: list[str] = []
            for current in frontier:
                near = self.adjacent.get(current, ())
                if current != node and len(near) > self.hub_degree:
                    continue
                for other in near:
                    if other not in seen:
                        seen.add(other)
                        nxt.append(other)
            frontier = nxt
        ball = frozenset(seen)
        if radius == 2:
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache[node] = ball
        return ball
