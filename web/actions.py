"""What the pages and the API do, shared so the HTML page and its JSON twin cannot drift:
search, run a Cypher query, record feedback.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from flask import request

from kg.errors import ConfigError, KgError, QueryTooLarge, StoreUnavailable
from kg.model import SEARCHABLE_KINDS, NodeKind
from web.http import INT64, MAX_K, MAX_QUERY_CHARS, bool_arg, int_arg, int_value, list_arg, load_json
from web.services import Services

BIG = INT64 - 1  # ids and counts are SQLite integers

log = logging.getLogger(__name__)

MAX_CYPHER_CHARS = 20_000
MAX_PARAMS = 100


def search_from_args(svc: Services) -> dict[str, Any]:
    """Run the search the query string asks for (``q``, ``k``, ``kind``, ``root``, ``tag``,
    ``path``, ``exclude_tests``).

    Returns:
        ``{"query", "k", "filters", "results", "elapsed_ms"}``; results as ``kg search --json``.

    Raises:
        ConfigError: an unknown kind, or a query that is too long.
    """
    query = (request.args.get("q") or "").strip()
    k = int_arg("k", 10, 1, MAX_K)
    kinds = _kinds(list_arg("kind"))
    filters = {"kind": [x.value for x in kinds], "root": list_arg("root"), "tag": list_arg("tag"),
               "path": list_arg("path"), "exclude_tests": bool_arg("exclude_tests")}
    if len(query) > MAX_QUERY_CHARS:
        raise ConfigError(f"the query has {len(query)} characters; at most {MAX_QUERY_CHARS} are searched")
    out: dict[str, Any] = {"query": query, "k": k, "filters": filters, "results": [], "elapsed_ms": 0.0}
    if not query:
        return out
    started = time.perf_counter()
    results = svc.searcher.search(query, k=k, kinds=filters["kind"] or None, roots=filters["root"] or None,
                                  tags=filters["tag"] or None, paths=filters["path"] or None,
                                  exclude_tests=filters["exclude_tests"])
    out["results"] = [r.to_json() for r in results[:k]]
    out["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return out


HOME_KINDS = (("Note", "notes", "note"), ("Heading", "sections", "section"), ("Block", "blocks", "block"),
              ("File", "files", "file"), ("Class", "classes", "class"), ("Function", "functions", "function"))


def home(svc: Services) -> dict[str, Any]:
    """What the home page shows: every root with its folder, what of it is indexed, when it was
    last ingested, and example queries that find something in it (``Searcher.examples``).

    Returns:
        ``{"roots": [{"name", "folder", "counts", "indexed", "ingested_at"}], "examples": [...],
        "notice"}``; ``notice`` says why search is not available, when it is not.
    """
    import datetime

    counts: dict[str, dict[str, int]] = {}
    examples: list[dict[str, str]] = []
    notice = ""
    try:
        searcher = svc.searcher
        counts = searcher.index.counts_by_root()
        examples = searcher.examples()
    except KgError as exc:
        notice = str(exc)
    times = svc.ingested_at()
    roots = []
    for name, folder in sorted(svc.roots().items()):
        at = times.get(name)
        by_kind = counts.get(name, {})
        roots.append({"name": name, "folder": str(folder),
                      "counts": {label: by_kind[kind] for kind, label, _ in HOME_KINDS if by_kind.get(kind)},
                      "shown": [f"{by_kind[kind]:,} {one if by_kind[kind] == 1 else many}"
                                for kind, many, one in HOME_KINDS if by_kind.get(kind)],
                      "indexed": sum(by_kind.values()),
                      "ingested_at": datetime.datetime.fromtimestamp(at).astimezone().isoformat(timespec="seconds")
                      if at else None})
    return {"roots": roots, "examples": examples, "notice": notice}


GRAPH_KINDS = {"note": "Note", "file": "File"}


def graph_view(svc: Services, *, laid_out: bool = True) -> dict[str, Any]:
    """The graph page's data: the overview of a root (``root``, ``kind``, ``tag``, ``folder``,
    ``limit``), or with ``node`` the local graph around it (``depth`` 1..3), laid out for a
    box of ``w`` × ``h`` px (``laid_out``: with positions and labels, else counts only).

    Raises:
        ConfigError: a kind other than note or file.
        NodeNotFound: ``node`` is not indexed.
    """
    from search import graphview
    from web.graph_layout import drop_unlinked, layout

    view = svc.searcher.refresh()
    node = (request.args.get("node") or "").strip()
    size = {"width": float(int_arg("w", 1200, 200, 4000)), "height": float(int_arg("h", 800, 200, 4000))}
    if node:
        depth = int_arg("depth", 1, 1, graphview.MAX_DEPTH)
        drawn = {"mode": "local", "depth": depth, **graphview.local(view, node, depth).as_json()}
        return layout(drawn, **size) if laid_out else drawn
    kinds = []
    for name in list_arg("kind"):
        if name.lower() not in GRAPH_KINDS:
            raise ConfigError(f"unknown kind {name!r} for the overview; use note or file")
        kinds.append(GRAPH_KINDS[name.lower()])
    drawn = graphview.overview(view, root=request.args.get("root") or None, kinds=kinds or None,
                               tags=list_arg("tag") or None, folder=request.args.get("folder") or "",
                               limit=int_arg("limit", 400, 1, graphview.MAX_OVERVIEW))
    data = drop_unlinked({"mode": "overview", **drawn.as_json()})
    return layout(data, **size) if laid_out else data


def query_terms(query: str, result: dict[str, Any]) -> list[str]:
    """The terms to mark in a result's snippet: what the searcher says matched, else the query's words."""
    matched = result.get("matched")
    if isinstance(matched, (list, tuple)) and matched:
        return [str(m) for m in matched]
    return [w for w in re.findall(r"\w+", query) if len(w) > 1]


def _kinds(names: list[str]) -> list[NodeKind]:
    """The searchable kinds named (any case); the index holds no others."""
    allowed = {k.value.lower(): k for k in SEARCHABLE_KINDS}
    out = []
    for name in names:
        kind = allowed.get(name.lower())
        if kind is None:
            raise ConfigError(f"unknown kind {name!r}; use one of: {', '.join(k.value for k in SEARCHABLE_KINDS)}")
        out.append(kind)
    return out


def run_cypher(svc: Services, query: Any, params: Any, max_rows: Any = None) -> dict[str, Any]:
    """Run one read-only console query under the settings' time limit and row cap.

    Returns:
        ``{"query", "params", "columns", "rows", "truncated", "row_cap", "timeout_ms",
        "elapsed_ms", "notice", "graph"}``; ``notice`` says which limit was hit.

    Raises:
        ConfigError: the query is empty or the parameters are not a JSON object.
        QueryTooLarge: the query text is too long.
        ReadOnlyViolation, QueryTimeout, QueryError: from the store.
    """
    if not isinstance(query, str) or not query.strip():
        raise ConfigError("give a Cypher query, e.g. MATCH (n:Note) RETURN n.name LIMIT 10")
    if len(query) > MAX_CYPHER_CHARS:
        raise QueryTooLarge(f"the query has {len(query)} characters; the limit is {MAX_CYPHER_CHARS}")
    params = parse_params(params)
    cap = svc.settings.max_rows
    if max_rows not in (None, ""):
        cap = int_value(max_rows, "max_rows", 1, cap)
    timeout_ms, max_bytes = svc.settings.query_timeout_ms, svc.settings.max_result_bytes
    result = svc.store.query(query, params, timeout_ms=timeout_ms, max_rows=cap, max_bytes=max_bytes)
    notice = ""
    if result.truncated_by == "rows":
        notice = f"Stopped at the row cap: only the first {cap} rows are shown (KG_MAX_ROWS is {svc.settings.max_rows})."
    elif result.truncated_by == "bytes":
        notice = (f"Stopped at the byte cap of {max_bytes / 1e6:g} MB: only the first {len(result.rows)} rows "
                  f"are shown (KG_MAX_RESULT_BYTES is {max_bytes}); return fewer or smaller columns.")
    return {"query": query, "params": params, "columns": result.columns, "rows": result.rows,
            "truncated": result.truncated, "truncated_by": result.truncated_by, "row_cap": cap,
            "byte_cap": max_bytes, "timeout_ms": timeout_ms,
            "elapsed_ms": round(result.elapsed_ms, 2), "notice": notice,
            "graph": rows_graph(result.rows)}


def parse_params(params: Any) -> dict[str, Any]:
    """Query parameters: a dict, or JSON text of one (empty means none).

    Raises:
        ConfigError: not a JSON object, or too many parameters.
    """
    if params in (None, ""):
        return {}
    if isinstance(params, str):
        try:
            params = load_json(params, "the text")
        except ConfigError as exc:
            raise ConfigError(f"parameters must be a JSON object: {exc}") from exc
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        raise ConfigError('parameters must be a JSON object, e.g. {"name": "Retry"}')
    if len(params) > MAX_PARAMS:
        raise ConfigError(f"at most {MAX_PARAMS} parameters")
    return params


def rows_graph(rows: list[list[Any]]) -> dict[str, Any]:
    """The nodes and relationships found in result rows (paths included), for the graph view."""
    nodes: dict[str, dict[str, Any]] = {}
    rels: dict[str, dict[str, Any]] = {}

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            kind = value.get("_type")
            if kind == "node":
                nodes[value["_eid"]] = {"eid": value["_eid"], "id": value.get("id"), "kind": value.get("_label"),
                                        "label": value.get("qualname") or value.get("heading") or value.get("name")
                                        or value.get("id") or value["_eid"]}
            elif kind == "rel":
                key = value.get("_eid") or f"{value['_src']}>{value['_dst']}:{value.get('_label')}"
                rels[key] = {"src": value["_src"], "dst": value["_dst"], "kind": value.get("_label")}
            elif kind == "path":
                for item in value.get("nodes", []) + value.get("rels", []):
                    visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    for row in rows:
        visit(row)
    edges = [r for r in rels.values() if r["src"] in nodes and r["dst"] in nodes]
    return {"nodes": list(nodes.values()), "edges": edges}


def promote_model(svc: Services, body: dict[str, Any]) -> dict[str, Any]:
    """Promote the registered model ``body["name"]`` and re-embed the index with it.

    Raises:
        ConfigError: no name given.
        ModelNotFound: no such model.
        StoreUnavailable: this app has no workspace to promote in.
    """
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError('give "name": the model to promote (see /models)')
    if svc.workspace is None or svc.registry is None:
        raise StoreUnavailable("no model registry here (training is not installed, or the app has no workspace)")
    record, summary = svc.workspace.promote(name.strip())
    return {"promoted": record.name, "index": {k: summary.get(k) for k in ("embedded", "from_cache", "seconds")}}


def record_feedback(svc: Services, body: dict[str, Any]) -> dict[str, Any]:
    """Record one feedback event: ``search``, ``open`` or ``dwell``.

    Raises:
        ConfigError: an unknown event, or a missing or mistyped field (named).
    """
    event = body.get("event")
    log_ = svc.feedback
    try:
        if event == "search":
            query, results = body.get("query"), body.get("results")
            if not isinstance(query, str):
                raise ConfigError('a search event needs "query": the text that was searched')
            if not isinstance(results, list):
                raise ConfigError('a search event needs "results": the list of node ids shown')
            return {"search_id": log_.record_search(query, results)}
        if event == "open":
            if not isinstance(body.get("node_id"), str):
                raise ConfigError('an open event needs "node_id": the id of the opened result')
            dwell = body.get("dwell_ms")
            open_id = log_.record_open(int_value(body["search_id"], "search_id", 0, BIG),
                                       body["node_id"], int_value(body.get("position", 0), "position", 0, BIG),
                                       None if dwell is None else int_value(dwell, "dwell_ms", 0, BIG))
            return {"open_id": open_id}
        if event == "dwell":
            log_.record_dwell(int_value(body["open_id"], "open_id", 0, BIG),
                              int_value(body["dwell_ms"], "dwell_ms", 0, BIG))
            return {}
    except KeyError as exc:
        raise ConfigError(f"a {event} event needs {exc.args[0]!r}") from exc
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"bad {event} event: {exc}") from exc
    raise ConfigError('"event" must be "search", "open" or "dwell"')

