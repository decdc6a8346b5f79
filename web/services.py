"""What the web layer uses, built once by ``create_app`` and reached through ``services()``.

The store, searcher, feedback log and model registry are passed in by the composition
root, or opened lazily from the settings the first time a page needs them (so a server
over a graph without a search index still serves node pages and the console).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app

from kg.errors import KgError, ModelError, SearchError, StoreUnavailable
from kg.feedback import FeedbackLog
from kg.settings import Settings
from kg.store.base import GraphStore

log = logging.getLogger(__name__)

ROOTS_TTL_S = 5.0  # roots change only when an ingest adds one; re-read them now and then


@dataclass
class Services:
    """The objects behind the web app. Lazily-built ones are guarded by a lock."""

    settings: Settings
    store_: GraphStore | None = None
    searcher_: Any = None
    feedback_: FeedbackLog | None = None
    registry_: Any = None
    roots_: Mapping[str, Path] | None = None
    searcher_factory: Callable[[Services], Any] | None = None
    owned: list[Any] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _roots_at: float = 0.0
    _roots_cache: dict[str, Path] = field(default_factory=dict)

    @property
    def store(self) -> GraphStore:
        with self._lock:
            if self.store_ is None:
                self.store_ = _open_store(self.settings)
                self.owned.append(self.store_)
            return self.store_

    @property
    def searcher(self) -> Any:
        with self._lock:
            searcher = self.searcher_
        if searcher is not None:
            return searcher
        factory = self.searcher_factory or default_searcher
        built = factory(self)
        with self._lock:
            if self.searcher_ is None:
                self.searcher_ = built
            return self.searcher_

    @property
    def feedback(self) -> FeedbackLog:
        with self._lock:
            if self.feedback_ is None:
                self.feedback_ = FeedbackLog.open(self.settings.db / "feedback.sqlite")
                self.owned.append(self.feedback_)
            return self.feedback_

    @property
    def registry(self) -> Any:
        """The model registry, or None when training is not installed."""
        with self._lock:
            if self.registry_ is None:
                try:
                    from embed.registry import Registry
                except ModuleNotFoundError:
                    return None
                self.registry_ = Registry(self.settings.db / "models")
            return self.registry_

    def roots(self) -> dict[str, Path]:
        """Ingested root name → its folder (resolved), as the ingest pipeline recorded them."""
        if self.roots_ is not None:
            return {name: Path(d).resolve() for name, d in self.roots_.items()}
        with self._lock:
            if time.monotonic() - self._roots_at > ROOTS_TTL_S:
                self._roots_cache = _read_roots(self.settings.db / "ingest.sqlite")
                self._roots_at = time.monotonic()
            return dict(self._roots_cache)

    def close(self) -> None:
        """Close what this app opened itself (not what was passed in)."""
        for thing in reversed(self.owned):
            try:
                thing.close()
            except Exception:  # closing must go on for the others; the cause is logged
                log.warning("closing %r failed", thing, exc_info=True)
        self.owned.clear()


class SearchUnavailable(SearchError):
    """Search cannot run here yet (not installed, or no index): the rest of the site still works."""

    status = 503


def services() -> Services:
    """The Services of the running app."""
    return current_app.extensions["kg"]  # type: ignore[no-any-return]


def default_searcher(svc: Services) -> Any:
    """Build the searcher from the settings: the search index and the configured encoder.

    Raises:
        SearchUnavailable: search is not installed or its index is missing.
    """
    try:
        from embed.encoder import encoder_for
        from search.engine import Searcher
        from search.index import SearchIndex
    except ModuleNotFoundError as exc:
        raise SearchUnavailable(f"search is not available ({exc.name} is missing)") from exc
    index_dir = svc.settings.db / "search"
    if not index_dir.exists():
        raise SearchUnavailable(f"no search index at {index_dir}: run `kg ingest` (it builds the index)")
    try:
        encoder = encoder_for(svc.settings)
    except KgError:
        raise
    except Exception as exc:  # a broken model directory must not take the server down
        raise ModelError(f"cannot load the search encoder: {exc} (check --model / $KG_MODEL)") from exc
    return Searcher(svc.store, SearchIndex.open(index_dir), encoder)


def _open_store(settings: Settings) -> GraphStore:
    """Open the graph read-only when it exists (the console can then never write)."""
    from kg.store import open_store

    if settings.backend == "ladybug" and not (settings.db / "graph").exists():
        raise StoreUnavailable(f"no graph at {settings.db / 'graph'}: run `kg ingest PATH` first")
    return open_store(settings, read_only=settings.backend == "ladybug")


def _read_roots(path: Path) -> dict[str, Path]:
    if not path.exists():
        return {}
    try:
        from ingest.state import IngestState
    except ModuleNotFoundError:
        return {}
    state = IngestState(path)
    try:
        return {name: Path(d).resolve() for name, d in state.roots().items()}
    finally:
        state.close()
