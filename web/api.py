"""The JSON API under ``/api``, described by ``/api/openapi.json``.

Bodies are ``application/json`` only (415 otherwise); errors are
``{"ok": false, "error": ..., "status": ...}``.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request, stream_with_context

from kg.errors import ConfigError
from kg.store.base import Subgraph
from web import actions, exports
from web.http import bool_arg, graph_changed, int_arg, json_body
from web.nodes import NodePages, summary
from web.openapi import openapi_document
from web.services import services

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__)

MAX_GRAPH_NODES = 300


@bp.get("/")
def index() -> Response:
    """What the API offers."""
    return jsonify({"ok": True, "openapi": "/api/openapi.json",
                    "routes": sorted(p for p in openapi_document()["paths"])})


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())


@bp.get("/search")
def search() -> Response:
    return jsonify({"ok": True, **actions.search_from_args(services())})


@bp.get("/stats")
def stats() -> Response:
    changed = graph_changed()
    return jsonify({"ok": True, **services().store.counts().as_dict(), "changed_at": changed and changed["iso"]})


@bp.get("/node/<path:node_id>")
def node(node_id: str) -> Response:
    svc = services()
    page = NodePages(svc.store, svc.roots(), svc.settings.max_file_bytes).build(node_id, bool_arg("guesses"))
    return jsonify({"ok": True, **page.as_json()})


@bp.get("/node/<path:node_id>/neighbours")
def neighbours(node_id: str) -> Response:
    depth = int_arg("depth", 1, 1, 2)
    sub = services().store.neighbourhood(node_id, depth=depth, limit=MAX_GRAPH_NODES)
    return jsonify({"ok": True, "depth": depth, **graph_json(sub)})


def graph_json(sub: Subgraph) -> dict[str, Any]:
    """A subgraph as ``{"center", "nodes", "edges", "truncated"}`` for the graph view."""
    return {"center": sub.center, "nodes": [summary(n) for n in sub.nodes.values()],
            "edges": [{"src": e.src, "dst": e.dst, "kind": e.kind.value} for e in sub.edges],
            "truncated": len(sub.nodes) >= MAX_GRAPH_NODES}


@bp.post("/cypher")
def cypher() -> Response:
    body = json_body()
    return jsonify({"ok": True, **actions.run_cypher(services(), body.get("query"), body.get("params"),
                                                     body.get("max_rows"))})


@bp.post("/feedback")
def feedback() -> Response:
    return jsonify({"ok": True, **actions.record_feedback(services(), json_body())})


@bp.get("/graph")
def graph() -> Response:
    return jsonify({"ok": True, **actions.graph_view(services())})


@bp.post("/models/promote")
def promote_model() -> Response:
    return jsonify({"ok": True, **actions.promote_model(services(), json_body())})


@bp.get("/export/graph")
def export_graph() -> Response:
    fmt = request.args.get("format", "jsonl")
    mime = exports.check_format(fmt, exports.GRAPH_FORMATS)
    store = services().store
    chunks = exports.graph_jsonl(store) if fmt == "jsonl" else exports.graph_graphml(store)
    return _download(Response(stream_with_context(chunks), mimetype=mime), f"graph.{fmt}")


@bp.get("/export/triplets")
def export_triplets() -> Response:
    svc = services()
    fmt = request.args.get("format", "jsonl")
    negatives = int_arg("negatives", 1, 1, 10)
    split = request.args.get("split") or None
    if split not in (None, "train", "val", "test"):
        raise ConfigError(f"unknown split {split!r}; use train, val or test")
    text_only = bool_arg("text_only")
    data, mime = exports.triplets_export(svc.store, fmt, negatives=negatives, split=split,
                                         feedback=svc.feedback, text_only=text_only)
    return _download(Response(data, mimetype=mime), f"triplets{'-' + split if split else ''}.{fmt}")


def _download(response: Response, filename: str) -> Response:
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
