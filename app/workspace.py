"""The one builder: store, search index, encoder, searcher, ingest pipeline, feedback log and
model registry of one database, built from the settings and the declared ``Layout``.

Every entry point uses it: the CLI (``app.main``), the web app (``app.serve``), the watcher
and the server-side runner of forwarded CLI commands. Each object is built on first use
and kept until ``close()``: a CLI command pays for what it uses once, and a server keeps
one of each for its whole life (the model loads once per process, lazily).

Writes go through ``ingest()``, one at a time (``write_lock``). After a write the search
index is synced and every searcher is refreshed in the writing thread, so searches running
meanwhile keep answering from the view they have, and the next one sees the change.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kg.errors import ConfigError, KgError, ModelError, SearchError, StoreUnavailable
from kg.layout import Layout
from kg.settings import Settings
from kg.store.base import GraphStore

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


def share_cores_with_torch() -> None:
    """Give numpy's BLAS one thread in a process that searches. Search's numpy work is small
    (a query vector against the matrix), and OpenBLAS's idle threads spin after every call:
    beside torch's, which encode the query, they starved it on a 2-core machine (p50 34 ms,
    p95 117 ms at 10,000 nodes; 16 and 21 ms with one BLAS thread: ``bench/search/
    bench_search.py --stages synthetic`` measures both). Process-wide: the workspace calls it
    when it builds a searcher, not in a process that only trains or mines."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


class Workspace:
    """The objects of one database, built lazily and kept until ``close()``.

    Args:
        settings: what to open and how.
        owner: this process owns the database (``kg serve``): the store is opened for
            writing from the start, and nothing else may write while it runs.
    """

    def __init__(self, settings: Settings, *, owner: bool = False) -> None:
        self.settings = settings
        self.layout = Layout.of(settings.db)
        self.owner = owner
        self.write_lock = threading.RLock()
        self.changed_at: float | None = None  # wall time of the last write that changed the graph
        self._lock = threading.RLock()
        self._store: GraphStore | None = None
        self._store_writable = False
        self._index: Any = None
        self._encoder: Any = None
        self._searchers: dict[str, Any] = {}
        self._feedback: Any = None
        self._registry: Any = None
        self._pipeline: Any = None

    # -- the parts ---------------------------------------------------------------------

    def store(self, *, write: bool = False) -> GraphStore:
        """The graph store; read-only unless ``write`` (or this process owns the database).

        Raises:
            StoreUnavailable: the database cannot be opened, or (read-only) there is none yet.
        """
        from kg.store import open_store

        write = write or self.owner
        with self._lock:
            if self._store is not None and (self._store_writable or not write):
                return self._store
            if self._store is not None:  # read-only until now: reopened for writing
                self._close_store()
            if not write and self.settings.backend == "ladybug" and not self.layout.graph.exists():
                raise StoreUnavailable(f"no graph at {self.layout.graph}: run `kg ingest PATH` first")
            self._store = open_store(self.settings, read_only=not write)
            self._store_writable = write
            return self._store

    def index(self) -> Any:
        """The search index (``search.index.SearchIndex``), created empty when there is none."""
        from search.index import SearchIndex

        with self._lock:
            if self._index is None:
                self._index = SearchIndex.open(self.layout.search)
            return self._index

    def encoder(self) -> Any:
        """The encoder search uses: ``settings.model``, else the promoted model, else the
        general model; loaded once (``reload_encoder`` after a promotion).

        Raises:
            ModelError: the model directory is missing or broken.
        """
        from embed.encoder import load_encoder, set_torch_threads

        with self._lock:
            if self._encoder is None:
                set_torch_threads(self.settings.torch_threads)
                spec: Any = self.settings.model or self.registry().promoted()
                self._encoder = load_encoder(spec, device=self.settings.device or None,
                                             version_cache=self.layout.model_versions)
            return self._encoder

    def reload_encoder(self) -> None:
        """Forget the loaded encoder and the searchers over it (a model was promoted)."""
        with self._lock:
            self._encoder = None
            self._searchers.clear()

    def promote(self, name: str) -> tuple[Any, dict[str, Any]]:
        """Make the registered model ``name`` the one search uses: the index is re-embedded with
        it first (vectors made when it was judged are reused) while searches go on with the
        current model and view; only then is it recorded as promoted and swapped in.

        Returns:
            The model's record and the index sync's summary.

        Raises:
            ModelNotFound: no such model.
            ConfigError: ``KG_MODEL`` names the model to use, so a promotion would not count.
            ModelError, StoreUnavailable: it cannot be loaded, or there is no graph to embed
                (nothing is promoted).
        """
        from embed.encoder import load_encoder

        if self.settings.model:
            raise ConfigError(f"KG_MODEL (--model) is set to {self.settings.model}: search uses that model, "
                              "not the promoted one; unset it to promote")
        with self.write_lock, contextlib.ExitStack() as held:
            registry = self.registry()
            record = registry.get(name)
            try:
                encoder = load_encoder(record.path, device=self.settings.device or None,
                                       version_cache=self.layout.model_versions)
            except KgError:
                raise
            except Exception as exc:  # a broken model folder is the user's to hear about
                raise ModelError(f"cannot load model {name!r} from {record.path}: {exc}") from exc
            with self._lock:
                searchers = list(self._searchers.values())
            for searcher in searchers:  # they keep answering from the view they have
                held.enter_context(searcher.updating(reload=False))
            summary: dict[str, Any] = self.index().sync(self.store(), encoder,
                                                        graph_version=self._graph_version()).as_dict()
            record = registry.promote(name)
            with self._lock:
                self._encoder = encoder
                self._searchers.clear()
            return record, summary

    def searcher(self, config: str | None = None) -> Any:
        """A ``search.engine.Searcher`` over the index (one per preset name, kept).

        Raises:
            SearchError: the index is empty.
        """
        from search.config import SearchConfig
        from search.engine import Searcher

        key = config or ""
        with self._lock:
            found = self._searchers.get(key)
            if found is not None:
                return found
            index = self.index()
            if len(index) == 0:
                raise SearchError(f"the search index at {index.path} is empty; run `kg ingest PATH` "
                                  "or `kg index` first")
            share_cores_with_torch()
            built = Searcher(self.store(), index, self.encoder(), SearchConfig.preset(config) if config else None,
                             max_concurrent=(os.cpu_count() or 1) if self.owner else None)
            self._searchers[key] = built
            return built

    def feedback(self) -> Any:
        """The feedback log (``kg.feedback.FeedbackLog``), created on first use."""
        from kg.feedback import FeedbackLog

        with self._lock:
            if self._feedback is None:
                self._feedback = FeedbackLog.open(self.layout.feedback)
            return self._feedback

    def judgements(self) -> list[Any]:
        """What the feedback log has learned; empty when nobody has searched yet."""
        if self._feedback is None and not self.layout.feedback.is_file():
            return []
        return list(self.feedback().judgements())

    def registry(self) -> Any:
        """The model registry (``embed.registry.Registry``)."""
        from embed.registry import Registry

        with self._lock:
            if self._registry is None:
                self._registry = Registry(self.layout.models)
            return self._registry

    def roots(self) -> dict[str, Path]:
        """Ingested root name → its folder, as the ingest pipeline recorded them."""
        from ingest.state import IngestState

        if not self.layout.ingest_state.exists():
            return {}
        return {name: d.resolve() for name, d in IngestState.peek(self.layout.ingest_state).roots.items()}

    def ingested_at(self) -> dict[str, float]:
        """Root name → when an ingest last scanned it (Unix time)."""
        from ingest.state import IngestState

        if not self.layout.ingest_state.exists():
            return {}
        return IngestState.peek(self.layout.ingest_state).ingested_at

    # -- writing -----------------------------------------------------------------------

    def ingest(self, roots: Sequence[tuple[str, Path]], options: Any = None, *, index: bool = True,
               progress: Progress | None = None) -> tuple[Any, dict[str, Any] | None]:
        """Ingest roots (incrementally), then bring the search index and searchers up to date.

        Returns:
            The ``IngestReport`` and the index sync summary (None with ``index=False``).
        """
        from ingest.pipeline import IngestOptions, Pipeline

        with self.write_lock:
            store = self.store(write=True)
            pipeline = self._pipeline
            if pipeline is None:
                pipeline = Pipeline(store, self.layout.ingest_state, options, progress=progress, resident=self.owner)
            pipeline.options, pipeline.progress = options or IngestOptions(), progress or _no_progress
            try:
                report = pipeline.ingest(roots)
            finally:
                if self.owner:  # kept: the next ingest parses, resolves and compares only what changed
                    self._pipeline = pipeline
                else:
                    pipeline.close()
            changed = any(report.written.get(k) for k in ("nodes_written", "nodes_deleted",
                                                          "edges_written", "edges_deleted"))
            if changed:
                self.changed_at = time.time()
            if not index:  # the index now lags: the next sync reads every node
                return report, None
            synced = self.sync_index(progress=bool(getattr(progress, "enabled", False)), only=report.touched,
                                     edges_put=report.edges_put, edges_gone=report.edges_gone,
                                     versions=report.graph_versions)
            return report, synced

    def sync_index(self, *, progress: bool = False, only: Any = None, edges_put: Sequence[Any] = (),
                   edges_gone: Sequence[tuple[str, str, str]] = (),
                   versions: tuple[str, str] | None = None) -> dict[str, Any]:
        """Bring the search index up to date with the graph (only changed texts are embedded),
        then refresh the searchers so that the next search sees it.

        Args:
            progress: show a bar while embedding.
            only: the node ids an ingest touched; honoured when the index matched the graph
                as it was before that ingest (in this process or an earlier one), else
                every node is read.
            edges_put, edges_gone: the edges the ingest wrote and removed: the searchers
                patch their graphs with them instead of reading every edge again.
            versions: the graph's versions before and after that ingest (None: ``only`` is
                not honoured, and the graph is as the state says now).
        """
        with self.write_lock, contextlib.ExitStack() as held:
            with self._lock:
                searchers = list(self._searchers.values())
            index = self.index()
            before, after = versions or (None, self._graph_version())
            hint = only if before is not None and index.graph_version == before else None
            for searcher in searchers:  # searches meanwhile answer from the views they have
                held.enter_context(searcher.updating(edges_put, edges_gone, touched=hint))
            return index.sync(self.store(), self.encoder(), progress=progress, only=hint,
                              graph_version=after).as_dict()

    def _graph_version(self) -> str | None:
        """The graph's version now, read before a full sync reads the store (None while
        another process is writing it: the index will then match no known version)."""
        from ingest.state import IngestState

        return IngestState.peek(self.layout.ingest_state).graph_version

    # -- lifetime ----------------------------------------------------------------------

    def close(self) -> None:
        """Close everything that was opened (safe to call twice)."""
        with self._lock:
            for thing in (self._feedback, self._index):
                if thing is not None:
                    _close(thing)
            if self._pipeline is not None:
                _close(self._pipeline)
            self._feedback = self._index = self._pipeline = None
            self._searchers.clear()
            self._close_store()

    def _close_store(self) -> None:
        if self._store is not None:
            _close(self._store)
        self._store, self._store_writable = None, False
        self._searchers.clear()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _close(thing: Any) -> None:
    try:
        thing.close()
    except Exception:  # closing must go on for the others; the cause is logged
        log.warning("closing %r failed", thing, exc_info=True)


def _no_progress(stage: str, done: int, total: int) -> None:
    return None
