"""Building objects from settings, shared by the command modules (composition root)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from kg.settings import Settings
from kg.store import GraphStore, open_store

log = logging.getLogger(__name__)


@contextmanager
def graph(settings: Settings, *, read_only: bool = False) -> Iterator[GraphStore]:
    """Open the configured store for the length of a command."""
    store = open_store(settings, read_only=read_only)
    try:
        yield store
    finally:
        store.close()


class Bars:
    """tqdm progress bars keyed by stage, on stderr; silent when stderr is not a terminal."""

    def __init__(self, enabled: bool | None = None) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.bars: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
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
