"""Graph commands that need only the store: stats, cypher, show."""

from __future__ import annotations

import csv
import json
import logging
import sys
from typing import Any

import click

from kg.commands.common import Workspace, echo_table
from kg.errors import ConfigError, KgError
from kg.model import NodeKind

log = logging.getLogger(__name__)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def stats(ws: Workspace, as_json: bool) -> None:
    """Counts of nodes and edges by kind."""
    counts = ws.store().counts().as_dict()
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
@click.option("--max-bytes", type=int, default=None, help="Byte cap of the answer (default: $KG_MAX_RESULT_BYTES).")
@click.pass_obj
def cypher(ws: Workspace, query: str, params: tuple[str, ...], as_json: bool, as_csv: bool,
           max_rows: int | None, timeout_ms: int | None, max_bytes: int | None) -> None:
    """Run one Cypher statement that reads the graph (anything else is refused; see README)."""
    settings = ws.settings
    max_rows, max_bytes = max_rows or settings.max_rows, max_bytes or settings.max_result_bytes
    result = ws.store().query(query, _parse_params(params), timeout_ms=timeout_ms or settings.query_timeout_ms,
                              max_rows=max_rows, max_bytes=max_bytes)
    if as_json:
        click.echo(json.dumps([dict(zip(result.columns, r)) for r in result.rows], indent=2, default=str))
    elif as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(result.columns)
        writer.writerows([[json.dumps(c) if isinstance(c, (dict, list)) else c for c in r] for r in result.rows])
    else:
        echo_table([tuple(_cell(c) for c in r) for r in result.rows], tuple(result.columns))
        click.echo(f"({len(result.rows)} rows, {result.elapsed_ms:.0f} ms)")
    if result.truncated_by == "rows":
        click.echo(f"warning: stopped at the row cap of {max_rows} rows (--max-rows to raise it)", err=True)
    elif result.truncated_by == "bytes":
        click.echo(f"warning: stopped at the byte cap of {max_bytes:,} bytes (--max-bytes to raise it)", err=True)


def _cell(value: Any) -> str:
    if isinstance(value, dict) and value.get("_type") == "node":
        return f"({value.get('_label')} {value.get('id')})"
    if isinstance(value, dict) and value.get("_type") == "rel":
        return f"[{value.get('_label')}]"
    text = json.dumps(value, default=str) if isinstance(value, (dict, list)) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


ID_PREFIXES = ("def:", "note:", "file:", "heading:", "block:", "tag:", "module:")
_LOOKUP_KINDS = (NodeKind.NOTE, NodeKind.HEADING, NodeKind.BLOCK, NodeKind.FILE, NodeKind.CLASS, NodeKind.FUNCTION)


def find_nodes(store: Any, ref: str) -> list[str]:
    """The ids a user's reference names: a full id; an id without its prefix
    (``root/path::Qual.name``, ``root/path.md``); a path, with or without its root; a
    ``path::qualname``; a bare name or qualified name. Exact forms win; a name may name several."""
    ref = ref.strip()
    if not ref:
        return []
    guesses = [ref, *(prefix + ref for prefix in ID_PREFIXES if not ref.startswith(prefix))]
    found = store.get_nodes(guesses)
    if found:
        return [g for g in guesses if g in found][:1]
    path, _, qual = ref.partition("::")
    exact, named = [], []
    for node in store.iter_nodes(list(_LOOKUP_KINDS)):
        where = f"{node.root}/{node.path}"
        if qual:
            if (node.qualname or node.name) == qual and (node.path == path or where == path or where.endswith("/" + path)):
                exact.append(node.id)
        elif node.kind in (NodeKind.NOTE, NodeKind.FILE) and (node.path == ref or where == ref):
            exact.append(node.id)
        elif ref in (node.name, node.qualname) and node.kind != NodeKind.BLOCK:
            named.append(node)
    return sorted(exact) or _named(named)


def find_node(store: Any, ref: str, *, missing_ok: bool = False) -> str | None:
    """The one node id a reference names (``find_nodes``); None when none does and ``missing_ok``.

    Raises:
        ConfigError: it names several nodes (the message lists them).
        NodeNotFound: it names none.
    """
    from kg.errors import NodeNotFound

    ids = find_nodes(store, ref)
    if len(ids) > 1:
        listing = "\n".join(f"  {i}" for i in ids[:20]) + (f"\n  ... and {len(ids) - 20} more" if len(ids) > 20 else "")
        raise ConfigError(f"{ref!r} names {len(ids)} nodes; give one of:\n{listing}")
    if not ids and not missing_ok:
        raise NodeNotFound(ref)
    return ids[0] if ids else None


def _named(nodes: list[Any]) -> list[str]:
    """The ids of the nodes a bare name names; a note wins over its own headings of that name
    (a note titled by its first heading), as ``[[Name]]`` would open the note."""
    notes = [n for n in nodes if n.kind == NodeKind.NOTE]
    if len(notes) == 1 and all(n.kind == NodeKind.HEADING and (n.root, n.path) == (notes[0].root, notes[0].path)
                               for n in nodes if n is not notes[0]):
        return [notes[0].id]
    return sorted(n.id for n in nodes)


@click.command()
@click.argument("ref", metavar="NODE")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def show(ws: Workspace, ref: str, as_json: bool) -> None:
    """A node, its text, and its edges in and out.

    NODE is an id (``def:kg/search/cli.py::index``), the same without its prefix (as `kg search`
    prints it), a path (``docs/Search.md``), ``path::qualname`` or a bare name; when a name
    fits several nodes, they are listed.
    """
    from kg.errors import NodeNotFound

    store = ws.store()
    node_id = find_node(store, ref, missing_ok=True) or ref
    sub = store.neighbourhood(node_id, depth=1)
    node = sub.nodes.get(node_id)
    if node is None:
        raise NodeNotFound(ref)
    out_edges = [e for e in sub.edges if e.src == node_id]  # in key order (see walk_neighbourhood)
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
    text = node.text
    if node.doc and text.count(node.doc) > 1:  # a definition's text leads with its docstring, and its body has it too
        text = text.replace(node.doc + "\n", "", 1)
    click.echo("\n" + (text[:2000] or "(no text)") + "\n")
    click.echo(f"out ({len(out_edges)}):")
    for e in out_edges:
        click.echo(f"  -[{e.kind.value}]-> {e.dst}" + (" (ambiguous)" if e.ambiguous else "")
                   + ("" if e.resolved else " (unresolved)"))
    click.echo(f"in ({len(in_edges)}):")
    for e in in_edges:
        click.echo(f"  <-[{e.kind.value}]- {e.src}")


COMMANDS = [stats, cypher, show]
__all__ = ["COMMANDS", "KgError"]
