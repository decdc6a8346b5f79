"""What every layer's commands share: the workspace they are given, progress bars, tables.

Commands receive the composition root's workspace (``app.workspace.Workspace``) as their
click object and ask it for the store, index, encoder or searcher; they never open those
themselves, so the same command runs in a CLI process or inside a running server.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from contextvars import ContextVar
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import click

from kg.layout import Layout
from kg.settings import Settings
from kg.store.base import GraphStore

log = logging.getLogger(__name__)


class Workspace(Protocol):
    """What a command may ask of the workspace it is given (built in ``app.workspace``)."""

    settings: Settings
    layout: Layout

    def store(self, *, write: bool = False) -> GraphStore: ...
    def index(self) -> Any: ...
    def encoder(self) -> Any: ...
    def reload_encoder(self) -> None: ...
    def searcher(self, config: str | None = None) -> Any: ...
    def registry(self) -> Any: ...
    def judgements(self) -> list[Any]: ...
    def roots(self) -> dict[str, Path]: ...
    def ingest(self, roots: Any, options: Any = None, *, index: bool = True,
               progress: Any = None) -> tuple[Any, dict[str, Any] | None]: ...
    def sync_index(self, *, progress: bool = False) -> dict[str, Any]: ...


# The working folder of the client a command runs for: set by the server for a forwarded
# command (``app.remote``), so that relative paths mean what they meant where it was typed.
CLIENT_CWD: ContextVar[Path | None] = ContextVar("kg_client_cwd", default=None)


class ClientPath(click.Path):
    """A ``click.Path`` taken relative to the client's working folder (see ``CLIENT_CWD``)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        cwd = CLIENT_CWD.get()
        if cwd is not None and isinstance(value, (str, os.PathLike)) and not os.path.isabs(value):
            value = os.path.join(cwd, value)
        return super().convert(value, param, ctx)


def openable_path(folder: Path | None, path: str) -> str:
    """Where a node's file is, as a terminal can open it: relative to the client's working
    folder when the file is under it, else absolute; ``path`` as it is when the root's folder
    is unknown."""
    if folder is None:
        return path
    full = folder / path
    cwd = CLIENT_CWD.get() or Path.cwd()
    try:
        return full.relative_to(Path(cwd).resolve()).as_posix()
    except ValueError:
        return full.as_posix()


class Bars:
    """Progress by stage on stderr: tqdm bars on a terminal; otherwise (a log, a pipe, a
    command forwarded to a server) one line per stage when it ends, with its time."""

    def __init__(self, enabled: bool | None = None) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.bars: dict[str, Any] = {}
        self.started: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            began = self.started.setdefault(stage, time.perf_counter())
            if done >= total:
                click.echo(f"{stage}: {total} in {time.perf_counter() - began:.1f} s", err=True)
                del self.started[stage]
            return
        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = self._tqdm(total=total, desc=stage, unit="", leave=False,
                                                 file=sys.stderr, dynamic_ncols=True)
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()
            self.bars.pop(stage, None)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()


def echo_table(rows: list[tuple[Any, ...]], headers: tuple[str, ...],
               echo: Callable[[str], None] = click.echo) -> None:
    """A plain aligned text table."""
    cells = [tuple(str(c) for c in headers)] + [tuple("" if c is None else str(c) for c in r) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        echo("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if n == 0:
            echo("  ".join("-" * w for w in widths))
