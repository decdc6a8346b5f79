"""The Cypher console: a query and its parameters in, a table (and a graph) out.

The console runs through ``GraphStore.query``: the database refuses writes (a read-only
transaction, or a read-only database), each query has a time limit, a row cap and a byte
cap. A query is a GET (``/console?query=...&params=...``) so results can be linked and
reloaded; it changes nothing, and it runs only for kg's own pages (a link from another
site shows the query without running it; ``web.security``). The JSON twin is
``?format=json``, or ``POST /api/cypher``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Response, request
from werkzeug.exceptions import Forbidden

from kg.errors import KgError
from web import actions, security
from web.http import page, wants_json
from web.services import services

log = logging.getLogger(__name__)

bp = Blueprint("console", __name__)

EXAMPLES: list[tuple[str, str, dict[str, Any]]] = [
    ("Sections and the notes they link to",
     "MATCH (a)-[l:LINKS_TO]->(b:Note)\nRETURN a, l, b\nLIMIT 50", {}),
    ("Most linked-to notes",
     "MATCH (a)-[:LINKS_TO]->(b:Note)\nRETURN b.name AS note, count(a) AS backlinks\n"
     "ORDER BY backlinks DESC\nLIMIT 20", {}),
    ("Notes with a tag",
     "MATCH (n:Note)-[:TAGGED]->(t:Tag {id: $tag})\nRETURN n.name, n.path", {"tag": "tag:project"}),
    ("Who calls a function",
     "MATCH (caller)-[c:CALLS]->(f:Function)\nWHERE f.name = $name\nRETURN caller, c, f",
     {"name": "retry"}),
    ("Code that notes mention",
     "MATCH (n:Note)-[m:MENTIONS]->(d)\nRETURN n, m, d\nLIMIT 50", {}),
    ("Classes and their methods",
     "MATCH (c:Class)-[k:CONTAINS]->(f:Function)\nRETURN c, k, f\nLIMIT 50", {}),
    ("Unresolved links (notes to write)",
     "MATCH (n)-[:LINKS_TO]->(u:Unresolved)\nRETURN u.name AS missing, count(n) AS wanted_by\n"
     "ORDER BY wanted_by DESC", {}),
    ("Headings of a note",
     "MATCH (n:Note {name: $note})-[:CONTAINS*1..3]->(h:Heading)\nRETURN h.heading, h.start_line",
     {"note": "Home"}),
]


@bp.get("/console")
def console() -> Response | str | tuple[str, int]:
    """Show the console; run the query when one is given and the request is kg's own.

    A query in a link from another site is shown, not run (403; see ``web.security``).
    """
    query = request.args.get("query", "")
    params_text = request.args.get("params", "")
    data: dict[str, Any] = {"query": query, "params": params_text, "result": None}
    status = 200
    if query.strip():
        try:
            security.check_own("a console query runs only from kg's own pages; the query was not run: "
                               "check it, then press Run to run it here")
            data["result"] = actions.run_cypher(services(), query, params_text,
                                                request.args.get("max_rows"))
        except (KgError, Forbidden) as exc:
            if wants_json():
                raise
            data["error"] = _error(exc)
            status = data["error"]["status"]
    examples = [{"title": t, "query": q, "params": json.dumps(p) if p else ""} for t, q, p in EXAMPLES]
    if wants_json():
        return page("console.html", {**data, "examples": examples})
    settings = services().settings
    limits = {"timeout_ms": settings.query_timeout_ms, "max_rows": settings.max_rows,
              "max_bytes": settings.max_result_bytes}
    return page("console.html", data, examples=examples, error=data.get("error"), limits=limits), status


def _error(exc: KgError | Forbidden) -> dict[str, Any]:
    """A failed or refused query, for the page: its kind, message and status."""
    if isinstance(exc, Forbidden):
        return {"kind": "CrossSiteRequest", "message": exc.description, "status": 403}
    return {"kind": type(exc).__name__, "message": str(exc), "status": int(exc.status)}
