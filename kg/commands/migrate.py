"""`kg migrate --to neo4j|ladybug`: copy the whole graph to the other backend and verify it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any, TypeVar

import click

from kg.commands.common import Bars, Workspace, echo_table
from kg.errors import ConfigError, StoreError
from kg.settings import Settings
from kg.layout import Layout
from kg.store import Counts, GraphStore, open_store

log = logging.getLogger(__name__)
T = TypeVar("T")


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def copy_graph(source: GraphStore, target: GraphStore, batch_size: int,
               progress: Callable[[str, int, int], None] | None = None) -> Counts:
    """Copy every node, then every edge, from ``source`` to ``target`` in batches.

    Args:
        source: The store to read.
        target: The store to write; it should be empty.
        batch_size: Rows per write call (one transaction each on Neo4j).
        progress: Called with (stage, done, total) after each batch.

    Returns:
        The source's counts, which the target's now equal.

    Raises:
        StoreError: the target's counts differ from the source's after the copy.
    """
    expected = source.counts()
    totals = expected.as_dict()
    for stage, items, write, total in (
            ("nodes", source.iter_nodes(), target.upsert_nodes, totals["total_nodes"]),
            ("edges", source.iter_edges(), target.upsert_edges, totals["total_edges"])):
        done = 0
        for batch in _batches(items, batch_size):
            write(batch)
            done += len(batch)
            if progress:
                progress(stage, done, total)
        log.info("copied %d %s", done, stage)
    _verify(expected, target.counts())
    return expected


def _verify(expected: Counts, actual: Counts) -> None:
    wrong = [f"{kind} {have}≠{want}"
             for part in ("nodes", "edges")
             for kind, want in getattr(expected, part).items()
             if (have := getattr(actual, part).get(kind, 0)) != want]
    if wrong:
        raise StoreError("the copy does not match the source (target≠source): " + ", ".join(wrong)
                         + "; re-run `kg migrate` with --replace")


def _describe(settings: Settings) -> str:
    if settings.backend == "neo4j":
        return f"neo4j at {settings.neo4j_uri}" + (f" ({settings.neo4j_database})" if settings.neo4j_database else "")
    return f"ladybug at {Layout.of(settings.db).graph}"


@click.command()
@click.option("--to", "to", type=click.Choice(["neo4j", "ladybug"]), required=True,
              help="The backend to copy the graph into (the current one is --backend / $KG_BACKEND).")
@click.option("--replace", is_flag=True, help="Clear the target graph first when it is not empty.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Rows per write transaction (default: $KG_BATCH_SIZE).")
@click.pass_obj
def migrate(ws: Workspace, to: str, replace: bool, batch_size: int | None) -> None:
    """Copy the whole graph from the current backend to the other one, then verify counts.

    Example: `NEO4J_PASSWORD=... kg --db .kg migrate --to neo4j` copies the embedded graph
    into Neo4j; `kg --backend neo4j --db .kg migrate --to ladybug` copies it back.
    """
    settings = ws.settings
    if to == settings.backend:
        raise ConfigError(f"the current backend is already {to!r}: choose the other one with --to, "
                          f"or the source with --backend")
    if settings.backend == "ladybug" and not ws.layout.graph.exists():
        raise ConfigError(f"there is no graph at {ws.layout.graph} to copy: "
                          f"ingest first, or point --db / $KG_DB at it")
    size = batch_size or settings.batch_size
    target_settings = settings.with_(backend=to, batch_size=size)
    started = time.perf_counter()
    bars = Bars()
    target = open_store(target_settings)
    try:
        _prepare_target(target, target_settings, replace)
        counts = copy_graph(ws.store(), target, size, progress=bars)
    finally:
        bars.close()
        target.close()
    _report(counts, settings, target_settings, time.perf_counter() - started)


def _prepare_target(target: GraphStore, settings: Settings, replace: bool) -> None:
    present = target.counts().as_dict()
    if not present["total_nodes"]:
        return
    if not replace:
        raise ConfigError(f"{_describe(settings)} already holds {present['total_nodes']} nodes and "
                          f"{present['total_edges']} edges; pass --replace to clear it first")
    log.info("clearing %s", _describe(settings))
    target.clear()


def _report(counts: Counts, source: Settings, target: Settings, seconds: float) -> None:
    totals: dict[str, Any] = counts.as_dict()
    rows = [(kind, n) for kind, n in counts.nodes.items() if n] + \
           [(kind, n) for kind, n in counts.edges.items() if n]
    echo_table(rows, ("kind", "copied"))
    click.echo(f"Copied {totals['total_nodes']} nodes and {totals['total_edges']} edges from "
               f"{_describe(source)} to {_describe(target)} in {seconds:.1f} s; counts match.")


COMMANDS = [migrate]
