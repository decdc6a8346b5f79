"""Graph stores behind one protocol; ``open_store`` picks one from the settings."""

from __future__ import annotations

from kg.layout import Layout
from kg.settings import Settings
from kg.store.base import Counts, GraphStore, QueryResult, Subgraph, clamp_depth

__all__ = ["Counts", "GraphStore", "QueryResult", "Subgraph", "clamp_depth", "open_store"]


def open_store(settings: Settings, *, read_only: bool = False) -> GraphStore:
    """Open (and migrate) the store the settings name.

    Raises:
        StoreUnavailable: the database cannot be opened or reached.
    """
    if settings.backend == "neo4j":
        from kg.store.neo4j import Neo4jStore

        store: GraphStore = Neo4jStore.connect(settings)
    else:
        from kg.store.ladybug import LadybugStore

        store = LadybugStore.open(Layout.of(settings.db).graph, read_only=read_only,
                                  default_timeout_ms=settings.query_timeout_ms,
                                  default_max_rows=settings.max_rows,
                                  default_max_bytes=settings.max_result_bytes)
    if not read_only:
        store.migrate()
    return store
