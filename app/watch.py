"""``kg serve --watch``: re-ingest the roots whose files change, while searches go on.

A thread watches every ingested root (watchfiles: inotify on Linux, debounced). A batch of
changes re-ingests the roots it touches through the workspace (incremental: only changed
files are parsed), which then syncs the search index and refreshes the searchers; pages
and searches keep answering from what they have until then. The database folder, version
control folders and editors' temporary files are not watched. A failed re-ingest is
logged and kept in ``last_error``; the watcher goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import click

log = logging.getLogger(__name__)

DEBOUNCE_MS = 200  # changes closer together than this are one batch
ROOTS_CHECK_MS = 2_000  # how often the watcher looks for roots ingested since it started


class Watcher:
    """Watches a workspace's roots in a thread and re-ingests what changed."""

    def __init__(self, workspace: Any, *, debounce_ms: int = DEBOUNCE_MS) -> None:
        self.workspace = workspace
        self.debounce_ms = debounce_ms
        self.last_error: str | None = None
        self.batches = 0  # batches of changes re-ingested
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="kg watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                roots = self.workspace.roots()
                if not roots:
                    self._stop.wait(ROOTS_CHECK_MS / 1000)
                    continue
                self._watch(roots)
            except Exception as exc:  # the watcher outlives anything; it looks again shortly
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("watching the roots failed; trying again")
                self._stop.wait(ROOTS_CHECK_MS / 1000)

    def _watch(self, roots: dict[str, Path]) -> None:
        """Watch these roots until stopped or until the set of roots changes."""
        from watchfiles import DefaultFilter, watch

        skip = self.workspace.layout.root.resolve()
        base = DefaultFilter()

        def wanted(change: Any, path: str) -> bool:
            return base(change, path) and not Path(path).is_relative_to(skip)

        log.info("watching %s", ", ".join(f"{n} ({d})" for n, d in sorted(roots.items())))
        for changes in watch(*roots.values(), watch_filter=wanted, debounce=self.debounce_ms, step=20,
                             stop_event=self._stop, rust_timeout=ROOTS_CHECK_MS, yield_on_timeout=True,
                             raise_interrupt=False):
            if changes:
                self._ingest(roots, {Path(p) for _, p in changes})
            if self.workspace.roots() != roots:
                return

    def _ingest(self, roots: dict[str, Path], paths: set[Path]) -> None:
        from ingest.pipeline import IngestOptions

        touched = sorted((name, d) for name, d in roots.items() if any(p.is_relative_to(d) for p in paths))
        if not touched:
            return
        started = time.perf_counter()
        try:
            report, synced = self.workspace.ingest(touched, IngestOptions.from_settings(self.workspace.settings))
        except Exception as exc:  # the watcher must outlive a bad batch; the next change retries
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("re-ingest after a change failed")
            return
        self.last_error = None
        self.batches += 1
        files = report.files
        click.echo(f"kg watch: {len(paths)} changed path(s) in {', '.join(n for n, _ in touched)}: "
                   + ", ".join(f"{k} {files.get(k, 0)}" for k in ("added", "changed", "removed"))
                   + f"; searchable after {time.perf_counter() - started:.2f} s", err=True)
