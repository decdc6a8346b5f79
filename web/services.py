"""What the web layer uses, reached through ``services()``.

The objects come from the composition root's workspace (``app.workspace.Workspace``), which
builds each on first use, so a server over a graph without a search index still serves node
pages and the console. Tests may pass any of them in directly instead.
"""

from __future__ import annotations

import logging
import sqlite3
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
    """The objects behind the web app: passed in, or asked of the workspace when first needed."""

    settings: Settings
    workspace: Any = None
    store_: GraphStore | None = None
    searcher_: Any = None
    feedback_: FeedbackLog | None = None
    registry_: Any = None
    roots_: Mapping[str, Path] | None = None
    searcher_factory: Callable[[Services], Any] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _roots_at: float = 0.0
    _roots_cache: dict[str, Path] = field(default_factory=dict)

    def _ws(self, what: str) -> Any:
        if self.workspace is None:
            raise StoreUnavailable(f"this app was built without a workspace or a {what}")
        return self.workspace

    @property
    def store(self) -> GraphStore:
        return self.store_ if self.store_ is not None else self._ws("store").store()

    @property
    def searcher(self) -> Any:
        if self.searcher_ is not None:
            return self.searcher_
        if self.searcher_factory is not None:
            with self._lock:
                if self.searcher_ is None:
                    self.searcher_ = self.searcher_factory(self)
                return self.searcher_
        return workspace_searcher(self._ws("searcher"))

    @property
    def feedback(self) -> FeedbackLog:
        return self.feedback_ if self.feedback_ is not None else self._ws("feedback log").feedback()

    @property
    def registry(self) -> Any:
        """The model registry, or None when training is not installed."""
        if self.registry_ is not None or self.workspace is None:
            return self.registry_
        try:
            return self.workspace.registry()
        except ModuleNotFoundError:
            return None

    @property
    def changed_at(self) -> float | None:
        """Wall time of the last change this server made to the graph (None: none yet)."""
        return getattr(self.workspace, "changed_at", None)

    def ingested_at(self) -> dict[str, float]:
        """Root name → when an ingest last scanned it (Unix time); empty without a workspace."""
        if self.workspace is None:
            return {}
        try:
            return dict(self.workspace.ingested_at())
        except sqlite3.Error as exc:  # an ingest holding its state: the home page goes on without the times
            log.warning("last ingest times not read: %s", exc)
            return {}

    def roots(self) -> dict[str, Path]:
        """Ingested root name → its folder (resolved), as the ingest pipeline recorded them."""
        if self.roots_ is not None:
            return {name: Path(d).resolve() for name, d in self.roots_.items()}
        if self.workspace is None:
            return {}
        with self._lock:
            if time.monotonic() - self._roots_at > ROOTS_TTL_S:
                self._roots_cache = self.workspace.roots()
                self._roots_at = time.monotonic()
            return dict(self._roots_cache)


class SearchUnavailable(SearchError):
    """Search cannot run here yet (not installed, or no index): the rest of the site still works."""

    status = 503


def services() -> Services:
    """The Services of the running app."""
    return current_app.extensions["kg"]  # type: ignore[no-any-return]


def workspace_searcher(workspace: Any) -> Any:
    """The workspace's searcher, with the reasons it cannot be had said as a 503 or a model error.

    Raises:
        SearchUnavailable: search is not installed or its index is missing or empty.
        ModelError: the configured model cannot be loaded.
    """
    if not workspace.layout.search.exists():
        raise SearchUnavailable(f"no search index at {workspace.layout.search}: run `kg ingest` (it builds the index)")
    try:
        return workspace.searcher()
    except ModuleNotFoundError as exc:
        raise SearchUnavailable(f"search is not available ({exc.name} is missing)") from exc
    except SearchError as exc:
        raise SearchUnavailable(str(exc)) from exc
    except KgError:
        raise
    except Exception as exc:  # a broken model directory must not take the server down
        raise ModelError(f"cannot load the search encoder: {exc} (check --model / $KG_MODEL)") from exc
