"""Graph commands: ingest, stats, cypher, show."""

from __future__ import annotations

import csv
import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from kg.commands.common import Bars, echo_table, encoder_for, graph, search_index
from kg.errors import ConfigError, KgError
from kg.settings import Settings

log = logging.getLogger(__name__)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--name", "names", multiple=True, help="Root name for each PATH, in order (default: the folder name).")
@click.option("--index/--no-index", default=True, show_default=True,
              help="Update the search index (embeddings + BM25) after writing the graph.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--verbose-skips", is_flag=True, help="List every skipped file and warning.")
@click.pass_obj
def ingest(settings: Settings, paths: tuple[Path, ...], names: tuple[str, ...], index: bool,
           as_json: bool, verbose_skips: bool) -> None:
    """Ingest vaults and repositories (incremental: only what changed is parsed and written)."""
    from ingest.pipeline import IngestOptions, Pipeline

    if names and len(names) != len(paths):
        raise ConfigError(f"--name was given {len(names)} times for {len(paths)} paths; give one per path")
    roots = [(names[i] if names else p.resolve().name, p) for i, p in enumerate(paths)]
    options = IngestOptions(max_file_bytes=settings.max_file_bytes, batch_size=settings.batch_size,
                            links_in_comments=settings.links_in_comments)
    bars = Bars()
    with graph(settings) as store:
        pipeline = Pipeline(store, settings.db / "ingest.sqlite", options, progress=bars)
        try:
            report = pipeline.ingest(roots)
        finally:
            pipeline.close()
            bars.close()
        summary: dict[str, Any] = report.as_dict()
        if index:
            summary["index"] = _sync_index(settings, store, bars)
    if as_json:
        click.echo(json.dumps(summary, indent=2, sort_keys=True))
        return
    _print_summary(summary, report, verbose_skips)


def _sync_index(settings: Settings, store: Any, bars: Bars) -> dict[str, Any]:
    try:
        idx = search_index(settings)
    except ModuleNotFoundError:
        return {"skipped": "search is not installed"}
    encoder = encoder_for(settings)
    result = idx.sync(store, encoder, progress=bars.enabled)
    return result.as_dict() if hasattr(result, "as_dict") else dict(vars(result))


def _print_summary(summary: dict[str, Any], report: Any, verbose: bool) -> None:
    files = summary["files"]
    click.echo("files: " + ", ".join(f"{k} {files.get(k, 0)}" for k in
                                     ("added", "changed", "removed", "unchanged", "failed")))
    if report.skipped:
        by_reason = summary["skipped_by_reason"]
        click.echo(f"skipped: {len(report.skipped)} (" + ", ".join(f"{r}: {n}" for r, n in sorted(by_reason.items())) + ")")
        for path, reason in report.skipped if verbose else report.skipped[:0]:
            click.echo(f"  {path}: {reason}")
    click.echo("nodes: " + ", ".join(f"{k} {v}" for k, v in sorted(summary["nodes"].items())))
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
        for warning in report.warnings if verbose else report.warnings[:20]:
            click.echo(f"  {warning}", err=True)
        if not verbose and len(report.warnings) > 20:
            click.echo("  ... (--verbose-skips lists them all)", err=True)
    if "index" in summary:
        click.echo("index: " + ", ".join(f"{k} {v}" for k, v in summary["index"].items()))
    written = summary["written"]
    click.echo(f"written: {written.get('nodes_written', 0)} nodes, {written.get('edges_written', 0)} edges; "
               f"deleted: {written.get('nodes_deleted', 0)} nodes, {written.get('edges_deleted', 0)} edges; "
               f"{summary['seconds']:.2f}s")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def stats(settings: Settings, as_json: bool) -> None:
    """Counts of nodes and edges by kind."""
    with graph(settings) as store:
        counts = store.counts().as_dict()
    if as_json:
        click.echo(json.dumps(counts, indent=2, sort_keys=True))
        return
    echo_table([(k, v) for k, v in counts["nodes"].items()], ("node kind", "count"))
    click.echo(f"total nodes: {counts['total_nodes']}\n")
    echo_table([(k, v) for k, v in counts["edges"].items()], ("edge kind", "count"))
    click.echo(f"total edges: {counts['total_edges']}")


def _parse_params(pairs: tuple[str, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--param {pair!r}: expected NAME=VALUE")
        key, raw = pair.split("=", 1)
        try:
            params[key] = json.loads(raw)
        except ValueError:
            params[key] = raw
    return params


@click.command()
@click.argument("query")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="A query parameter ($NAME); VALUE is read as JSON when it parses, else as text.")
@click.option("--json", "as_json", is_flag=True, help="Rows as JSON objects.")
@click.option("--csv", "as_csv", is_flag=True, help="Rows as CSV.")
@click.option("--max-rows", type=int, default=None, help="Row cap (default: $KG_MAX_ROWS, 1000).")
@click.option("--timeout-ms", type=int, default=None, help="Time limit (default: $KG_QUERY_TIMEOUT_MS).")
@click.pass_obj
def cypher(settings: Settings, query: str, params: tuple[str, ...], as_json: bool, as_csv: bool,
           max_rows: int | None, timeout_ms: int | None) -> None:
    """Run one read-only Cypher query (writes are refused by the database)."""
    with graph(settings) as store:
        result = store.query(query, _parse_params(params), timeout_ms=timeout_ms or settings.query_timeout_ms,
                             max_rows=max_rows or settings.max_rows)
    if as_json:
        click.echo(json.dumps([dict(zip(result.columns, r)) for r in result.rows], indent=2, default=str))
    elif as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(result.columns)
        writer.writerows([[json.dumps(c) if isinstance(c, (dict, list)) else c for c in r] for r in result.rows])
    else:
        echo_table([tuple(_cell(c) for c in r) for r in result.rows], tuple(result.columns))
        click.echo(f"({len(result.rows)} rows, {result.elapsed_ms:.0f} ms)")
    if result.truncated:
        click.echo(f"warning: stopped at the row cap of {max_rows or settings.max_rows} rows "
                   "(--max-rows to raise it)", err=True)


def _cell(value: Any) -> str:
    if isinstance(value, dict) and value.get("_type") == "node":
        return f"({value.get('_label')} {value.get('id')})"
    if isinstance(value, dict) and value.get("_type") == "rel":
        return f"[{value.get('_label')}]"
    text = json.dumps(value, default=str) if isinstance(value, (dict, list)) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


@click.command()
@click.argument("node_id")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def show(settings: Settings, node_id: str, as_json: bool) -> None:
    """A node, its text, and its edges in and out."""
    from kg.errors import NodeNotFound

    with graph(settings) as store:
        sub = store.neighbourhood(node_id, depth=1)
    node = sub.nodes.get(node_id)
    if node is None:
        raise NodeNotFound(node_id)
    out_edges = [e for e in sub.edges if e.src == node_id]
    in_edges = [e for e in sub.edges if e.dst == node_id]
    if as_json:
        click.echo(json.dumps({"node": node.row(), "out": [dict(e.row(), kind=e.kind.value) for e in out_edges],
                               "in": [dict(e.row(), kind=e.kind.value) for e in in_edges]}, indent=2, default=str))
        return
    click.echo(f"{node.kind.value} {node.id}")
    for key in ("name", "qualname", "heading", "root", "path", "signature"):
        if getattr(node, key):
            click.echo(f"  {key}: {getattr(node, key)}")
    if node.start_line:
        click.echo(f"  lines: {node.start_line}-{node.end_line}")
    if node.props:
        click.echo(f"  props: {json.dumps(node.props, default=str)[:300]}")
    click.echo("\n" + (node.text[:2000] or "(no text)") + "\n")
    click.echo(f"out ({len(out_edges)}):")
    for e in out_edges:
        click.echo(f"  -[{e.kind.value}]-> {e.dst}" + (" (ambiguous)" if e.ambiguous else "")
                   + ("" if e.resolved else " (unresolved)"))
    click.echo(f"in ({len(in_edges)}):")
    for e in in_edges:
        click.echo(f"  <-[{e.kind.value}]- {e.src}")


COMMANDS = [ingest, stats, cypher, show]
__all__ = ["COMMANDS", "KgError"]
