"""The ``kg`` command: reads settings and the environment, builds the workspace, passes it down.

Each layer keeps its own commands (``kg/commands/``, ``ingest/cli.py``, ``search/cli.py``,
``embed/cli.py``); this module registers them all, with ``kg serve`` (``app.serve``).
Commands receive a ``Workspace`` as their click object. When a ``kg serve`` owns the
database, the commands that use it are forwarded to that server (``app.remote``) and print
what they would have printed here. Domain errors become one line on stderr and exit code 1.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from app.workspace import Workspace
from kg import __version__
from kg.errors import KgError
from kg.layout import Layout
from kg.settings import Settings

# Commands that use the database and run inside a server that owns it.
FORWARDED = frozenset({"ingest", "search", "cypher", "show", "stats", "export-triplets", "train",
                       "eval", "index", "models"})
# Commands that need the database to themselves: refused while a server owns it.
OWNER_ONLY = frozenset({"migrate"})


class KgGroup(click.Group):
    """Turns KgError into one line and exit code 1 instead of a traceback; remembers the
    subcommand's own arguments so that they can be forwarded to a server."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)
        ctx.meta["kg.command_args"] = list(rest)  # the subcommand's arguments (after its name)
        return rest

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
    if isinstance(ctx.obj, Workspace):  # run inside a server for a forwarded command: its workspace
        return
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(level=max(level, logging.DEBUG), format="%(levelname)s %(name)s: %(message)s")
    settings = Settings.load(os.environ, db=db, backend=backend, neo4j_uri=neo4j_uri, neo4j_user=neo4j_user)
    args = [ctx.invoked_subcommand or "", *ctx.meta.get("kg.command_args", [])]
    if ctx.invoked_subcommand in FORWARDED | OWNER_ONLY and not {"-h", "--help"} & set(args):
        from app import remote

        server = remote.find(Layout.of(settings.db))
        if server is not None and ctx.invoked_subcommand in OWNER_ONLY:
            raise click.ClickException(f"{settings.db} is served by pid {server.pid} at {server.url}; "
                                       f"stop that server before `kg {ctx.invoked_subcommand}`")
        if server is not None:
            ctx.exit(remote.forward(server, args))
    ctx.obj = Workspace(settings)
    ctx.call_on_close(ctx.obj.close)


def _register() -> None:
    import importlib

    for name in ("kg.commands.graph", "kg.commands.migrate", "ingest.cli", "search.cli", "embed.cli",
                 "app.serve", "app.mcp"):
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
