"""The HTML pages: search, nodes, attachments, models, exports, stats.

Each page's JSON twin is the same URL with ``?format=json``.
"""

from __future__ import annotations

import logging
import mimetypes
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from markupsafe import Markup

from kg.errors import KgError
from kg.model import SEARCHABLE_KINDS, NodeKind
from web import actions
from web.exports import GRAPH_FORMATS, TRIPLET_FORMATS
from web.http import bool_arg, page, wants_json
from web.models import model_cards
from web.nodes import IMAGE_TYPES, NodePages, read_root_file
from web.render import mark_terms, pygments_css
from web.services import services

log = logging.getLogger(__name__)

bp = Blueprint("ui", __name__)


@bp.get("/")
@bp.get("/search")
def search() -> Response | str | tuple[str, int]:
    """The search page; ``?partial=1`` returns only the results list (for search-as-you-type)."""
    svc = services()
    try:
        data = actions.search_from_args(svc)
    except KgError as exc:
        if wants_json():
            raise
        return _search_page(_empty_search(), error=str(exc)), int(exc.status)
    if not request.args.get("partial") and not (data["query"] and wants_json()):
        data["home"] = actions.home(svc)  # the page hides it while there is a query
    if wants_json():
        return page("search.html", data)
    if request.args.get("partial"):
        return render_template("_results.html", marked=_marked(data), **data)
    return _search_page(data)


def _empty_search() -> dict[str, Any]:
    return {"query": request.args.get("q", ""), "k": 10, "results": [], "elapsed_ms": 0.0,
            "filters": {"kind": request.args.getlist("kind"), "root": request.args.getlist("root"),
                        "tag": request.args.getlist("tag"), "path": request.args.getlist("path"),
                        "exclude_tests": False}}


def _search_page(data: dict[str, Any], error: str = "") -> str:
    roots = sorted(services().roots())
    return render_template("search.html", marked=_marked(data), error=error, roots=roots,
                           kinds=[k.value for k in SEARCHABLE_KINDS], **data)


def _marked(data: dict[str, Any]) -> list[Markup]:
    """Each result's snippet, escaped, with the matched terms in <mark>."""
    return [mark_terms(str(r.get("snippet") or ""), actions.query_terms(data["query"], r))
            for r in data["results"]]


@bp.get("/node/<path:node_id>")
def node(node_id: str) -> Response | str:
    svc = services()
    built = NodePages(svc.store, svc.roots(), svc.settings.max_file_bytes).build(node_id, bool_arg("guesses"))
    return page("node.html", built.as_json(), body=built.body, relations=built.relations,
                node_obj=built.node, searchable=SEARCHABLE_KINDS)


@bp.get("/file/<path:node_id>")
def attachment(node_id: str) -> Response:
    """An attachment's bytes, read from inside its ingested root; images inline, the rest as downloads."""
    svc = services()
    node = svc.store.get_node(node_id)
    if node is None or node.kind is not NodeKind.ATTACHMENT:
        abort(404, f"no attachment has id {node_id!r}")
    data = read_root_file(svc.roots(), node.root, node.path, svc.settings.max_file_bytes)
    if data is None:
        abort(404, f"{node.root}/{node.path} is not readable inside its root")
    mime = mimetypes.guess_type(node.path)[0] or "application/octet-stream"
    response = Response(data, mimetype=mime if mime in IMAGE_TYPES else "application/octet-stream")
    disposition = "inline" if mime in IMAGE_TYPES else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{_ascii(node.name or "file")}"'
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _ascii(name: str) -> str:
    return "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)


@bp.get("/graph")
def graph() -> Response | str:
    """The full-page graph: a root's notes and files clustered by folder, or a node's local graph."""
    svc = services()
    data = actions.graph_view(svc, laid_out=wants_json())  # the page's script fetches the drawing itself
    center = svc.searcher.refresh().items.get(data["center"]) if data["center"] else None
    return page("graph.html", data, roots=sorted(svc.roots()), args=request.args,
                center_label=(center.title or center.qualname or center.name) if center else "")


@bp.get("/models")
def models() -> Response | str:
    svc = services()
    cards = model_cards(svc.registry)
    data = {"models": [c.as_json() for c in cards], "available": svc.registry is not None}
    return page("models.html", data, cards=cards)


@bp.get("/export")
def export() -> Response | str:
    svc = services()
    data = {"graph": {f: f"/api/export/graph?format={f}" for f in GRAPH_FORMATS},
            "triplets": {f: f"/api/export/triplets?format={f}" for f in TRIPLET_FORMATS},
            "feedback": svc.feedback.counts()}
    return page("export.html", data)


@bp.get("/stats")
def stats() -> Response | str:
    return page("stats.html", services().store.counts().as_dict())


@bp.get("/favicon.ico")
def favicon() -> Response:
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/pygments.css")
def pygments_stylesheet() -> Response:
    response = Response(pygments_css(), mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
