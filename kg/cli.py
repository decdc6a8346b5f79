"""The composition root: reads settings and the environment, builds objects, passes them down.

Each layer keeps its own commands (``kg/commands/``, ``ingest/cli.py``, ``search/cli.py``,
``embed/cli.py``, ``web/cli.py``), importing only its own layer and those below; this module
registers them all and wires what crosses layers (the search index update after an
ingest). Domain errors become one line on stderr and exit code 1.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from kg import __version__
from kg.errors import KgError
from kg.settings import Settings


class KgGroup(click.Group):
    """Turns KgError into one line and exit code 1 instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KgError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=KgGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kg")
@click.option("--db", type=click.Path(path_type=Path), default=None,
              help="Database folder (default: $KG_DB, then ./.kg).")
@click.option("--backend", type=click.Choice(["ladybug", "neo4j"]), default=None,
              help="Graph store (default: $KG_BACKEND, then ladybug).")
@click.option("--neo4j-uri", default=None, help="Bolt URI (default: $NEO4J_URI). Password only from $NEO4J_PASSWORD.")
@click.option("--neo4j-user", default=None, help="Neo4j user (default: $NEO4J_USER, then neo4j).")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def main(ctx: click.Context, db: Path | None, backend: str | None, neo4j_uri: str | None,
         neo4j_user: str | None, verbose: int) -> None:
    """kg: a knowledge graph over an Obsidian vault and the code beside it."""
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(level=max(level, logging.DEBUG), format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = Settings.load(os.environ, db=db, backend=backend, neo4j_uri=neo4j_uri,
                            neo4j_user=neo4j_user)
    ctx.meta["after_ingest"] = _after_ingest


# Each layer keeps its own commands (module COMMANDS lists); this root wires them together.
COMMAND_MODULES = ("kg.commands.graph", "kg.commands.migrate", "ingest.cli", "search.cli",
                   "embed.cli", "web.cli")


def _after_ingest(settings: Settings, store: Any, bars: Any) -> dict[str, Any]:
    """Bring the search index up to date with the graph (only changed texts are embedded)."""
    from embed.encoder import encoder_for
    from search.index import SearchIndex

    index = SearchIndex.open(settings.db / "search")
    try:
        return index.sync(store, encoder_for(settings), progress=bars.enabled).as_dict()
    finally:
        index.close()


def _register() -> None:
    import importlib

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        for command in module.COMMANDS:
            main.add_command(command)


_register()

if __name__ == "__main__":  # pragma: no cover
    main()
