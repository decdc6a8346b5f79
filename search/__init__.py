"""Search: the index (vectors + BM25), fusion, graph expansion, cut-off, explanations, evaluation.

Typical use (the composition root, ``app.workspace``, builds the pieces)::

    index = SearchIndex.open(layout.search)
    index.sync(store, encoder)
    results = Searcher(store, index, encoder).search("retry with backoff", k=10)
"""

from search.engine import PRESETS, SearchConfig, Searcher, SearchResult
from search.index import SearchIndex, SyncReport

__all__ = ["PRESETS", "SearchConfig", "SearchIndex", "SearchResult", "Searcher", "SyncReport"]
