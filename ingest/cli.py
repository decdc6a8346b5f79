"""The `kg ingest` command.

The workspace it is given (``app.workspace``) writes the graph and then brings the search
index up to date, so this layer never imports the ones above it.

The summary names every skipped file and every warning: the first ``LISTED`` of each in
text (``--verbose-skips``: all of them), all of them with ``--json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ingest.pipeline import IngestOptions, IngestReport
from kg.commands.common import Bars, ClientPath, Workspace
from kg.errors import ConfigError

LISTED = 20  # skipped files and warnings named in the text summary (--json names all)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=ClientPath(exists=True, file_okay=False, path_type=Path))
@click.option("--name", "names", multiple=True, help="Root name for each PATH, in order (default: the folder name).")
@click.option("--index/--no-index", default=True, show_default=True,
              help="Update the search index (embeddings + BM25) after writing the graph.")
@click.option("--follow-symlinks/--no-follow-symlinks", default=None,
              help="Ingest symlinks that lead outside a root (default: $KG_FOLLOW_SYMLINKS, then no: "
                   "they are skipped and named in the summary).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the summary as JSON, with every skipped file and every warning.")
@click.option("--verbose-skips", is_flag=True,
              help=f"Name every skipped file and warning in the text summary "
                   f"(default: the first {LISTED} of each).")
@click.pass_obj
def ingest(ws: Workspace, paths: tuple[Path, ...], names: tuple[str, ...], index: bool,
           follow_symlinks: bool | None, as_json: bool, verbose_skips: bool) -> None:
    """Ingest vaults and repositories (incremental: only what changed is parsed and written).

    Files that are skipped (ignored, too large, binary, symlinks leading outside the root...)
    and files with problems (broken YAML, invalid UTF-8, syntax errors) are named in the
    summary on every run, until they are fixed; they never stop the rest of the ingest.
    """
    settings = ws.settings
    if names and len(names) != len(paths):
        raise ConfigError(f"--name was given {len(names)} times for {len(paths)} paths; give one per path")
    roots = [(names[i] if names else p.resolve().name, p) for i, p in enumerate(paths)]
    options = IngestOptions.from_settings(settings, follow_symlinks=follow_symlinks)
    bars = Bars()
    try:
        report, synced = ws.ingest(roots, options, index=index, progress=bars)
    finally:
        bars.close()
    summary: dict[str, Any] = report.as_dict()
    if synced is not None:
        summary["index"] = synced
    if as_json:
        click.echo(json.dumps(summary, indent=2, sort_keys=True))
        return
    _print_summary(summary, report, verbose_skips)


def _print_summary(summary: dict[str, Any], report: IngestReport, verbose: bool) -> None:
    files = summary["files"]
    click.echo("files: " + ", ".join(f"{k} {files.get(k, 0)}" for k in
                                     ("added", "changed", "removed", "unchanged", "failed")))
    limit = None if verbose else LISTED
    if report.skipped:
        by_reason = summary["skipped_by_reason"]
        click.echo(f"skipped: {len(report.skipped)} (" + ", ".join(f"{r}: {n}" for r, n in sorted(by_reason.items())) + ")")
        _echo_list([f"{path}: {reason}" for path, reason in report.skipped_in_order()], limit)
    click.echo("nodes: " + ", ".join(f"{k} {v}" + (" (link, import and call targets not found)" if k == "Unresolved" else "")
                                     for k, v in sorted(summary["nodes"].items())))
    click.echo("edges: " + ", ".join(f"{k} {v}" for k, v in sorted(summary["edges"].items())))
    res = summary["resolution"]
    keys = ("links", "resolved", "unresolved", "ambiguous", "missing_subpath")
    if any(res.get(k) for k in keys):
        click.echo("links: " + ", ".join(f"{k} {res.get(k, 0)}" for k in keys))
    extra = {k: v for k, v in res.items() if k not in keys}
    if extra:
        click.echo("resolution: " + ", ".join(f"{k} {v}" for k, v in sorted(extra.items())))
    if report.warnings:
        click.echo(f"warnings: {len(report.warnings)}", err=True)
        _echo_list(report.warnings, limit, err=True)
    if "index" in summary:
        click.echo("index: " + ", ".join(f"{k} {v}" for k, v in summary["index"].items()))
    written = summary["written"]
    click.echo(f"written: {written.get('nodes_written', 0)} nodes, {written.get('edges_written', 0)} edges; "
               f"deleted: {written.get('nodes_deleted', 0)} nodes, {written.get('edges_deleted', 0)} edges; "
               f"{summary['seconds']:.2f}s")


def _echo_list(lines: list[str], limit: int | None, *, err: bool = False) -> None:
    """The lines, indented; past ``limit`` only how many more there are."""
    for line in lines if limit is None else lines[:limit]:
        click.echo(f"  {line}", err=err)
    if limit is not None and len(lines) > limit:
        click.echo(f"  … and {len(lines) - limit} more (--json lists all)", err=err)


COMMANDS = [ingest]
