"""Search: the index (vectors + BM25), fusion, graph expansion, cut-off, explanations, evaluation.

Typical use (the composition root, ``app.workspace``, builds the pieces)::

    index = SearchIndex.open(layout.search)
    index.sync(store, encoder)
    results = Searcher(store, index, encoder).search("retry with backoff", k=10)
"""
