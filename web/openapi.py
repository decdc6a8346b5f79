"""The OpenAPI 3.1 document of the JSON API (served at ``/api/openapi.json``).

It lists every status an operation can answer with, and the schema of each answer, so
that a schema-driven fuzzer (the schemathesis run in ``tests/security``) can check the
server against it. Every error is the one shape ``{"ok": false, "error", "status"}``;
every operation may answer 400 (a bad argument), 401 (a token is set and missing) and
403 (a request from another site, see ``web.security``).
"""

from __future__ import annotations

from typing import Any

from kg.model import SEARCHABLE_KINDS
from search.graphview import MAX_OVERVIEW
from web.exports import GRAPH_FORMATS, TRIPLET_FORMATS
from web.actions import GRAPH_KINDS
from web.http import MAX_K, MAX_QUERY_CHARS

ERROR = {"$ref": "#/components/responses/Error"}
COMMON_ERRORS = {"400": ERROR, "401": ERROR, "403": ERROR}
NODE_ID = {"name": "node_id", "in": "path", "required": True, "schema": {"type": "string"},
           "description": "A node id such as note:vault/Ideas.md (URL-encode '#' as %23)."}


def _param(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _ok(description: str, properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema = {"type": "object", "required": ["ok", *(required or [])],
              "properties": {"ok": {"const": True}, **properties}}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _file(formats: dict[str, str]) -> dict[str, Any]:
    return {"description": "A file download (Content-Disposition: attachment)",
            "content": {mime: {"schema": {"type": "string"}} for mime in formats.values()}}


def _responses(ok: dict[str, Any], *statuses: str) -> dict[str, Any]:
    return {"200": ok, **COMMON_ERRORS, **{s: ERROR for s in statuses}}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


INTEGER = {"type": "integer"}
STRING = {"type": "string"}
NODES_EDGES = {"center": STRING, "nodes": {"type": "array", "items": {"type": "object"}},
               "edges": {"type": "array", "items": {"type": "object"}}, "truncated": {"type": "boolean"}}
CYPHER_ANSWER = {
    "query": STRING, "params": {"type": "object"}, "columns": {"type": "array", "items": STRING},
    "rows": {"type": "array", "items": {"type": "array"}}, "truncated": {"type": "boolean"},
    "truncated_by": {"enum": ["", "rows", "bytes"]}, "row_cap": INTEGER, "byte_cap": INTEGER,
    "timeout_ms": INTEGER, "elapsed_ms": {"type": "number"}, "notice": STRING,
    "graph": {"type": "object", "properties": {"nodes": {"type": "array"}, "edges": {"type": "array"}}}}


def _search() -> dict[str, Any]:
    kinds = [k.value for k in SEARCHABLE_KINDS]
    return {"get": {
        "summary": "Hybrid search (BM25 + vectors + graph expansion)",
        "parameters": [
            _param("q", {"type": "string", "maxLength": MAX_QUERY_CHARS}, "The query (none or blank: no results)."),
            _param("k", {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 10},
                   f"How many results (an integer; clamped to 1..{MAX_K})."),
            _param("kind", {"type": "array", "items": {"enum": kinds}}, "Only these node kinds."),
            _param("root", {"type": "array", "items": STRING}, "Only these roots."),
            _param("tag", {"type": "array", "items": STRING}, "Only nodes with these tags."),
            _param("path", {"type": "array", "items": STRING},
                   "Only nodes under these folders or matching these globs (`src/`, `*.py`)."),
            _param("exclude_tests", {"type": "boolean"}, "Leave out test code, specs and fixtures (1 or 0)."),
        ],
        "responses": _responses(_ok("Results as `kg search --json` gives them", {
            "query": STRING, "k": INTEGER, "filters": {"type": "object"}, "elapsed_ms": {"type": "number"},
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/SearchResult"}}},
            ["query", "k", "results"]), "503")}}


def _cypher() -> dict[str, Any]:
    return {"post": {
        "summary": "Run one read-only Cypher query (time limit, row cap and byte cap apply)",
        "requestBody": _body({
            "type": "object", "required": ["query"], "properties": {
                "query": {"type": "string", "minLength": 1, "maxLength": 20_000},
                "params": {"type": "object", "description": "Values for $parameters (integers within 64 bits)."},
                "max_rows": {"type": "integer", "minimum": 1,
                             "description": "A lower row cap (clamped to 1..KG_MAX_ROWS)."}}}),
        "responses": _responses(_ok("columns, rows, truncated_by and a notice naming the limit hit",
                                    CYPHER_ANSWER, ["columns", "rows", "truncated_by"]),
                                "408", "413", "415"),
        "description": "403: another site sent it, or the query does more than read (ReadOnlyViolation); "
                       "408: it ran past its time limit; 413: the body or the query text is too large."}}


def _feedback() -> dict[str, Any]:
    row_id = {"type": "integer", "minimum": 1, "maximum": 2 ** 63 - 1}
    events = [
        {"type": "object", "required": ["event", "query", "results"],
         "properties": {"event": {"const": "search"}, "query": {"type": "string", "minLength": 1, "maxLength": 500},
                        "results": {"type": "array", "items": STRING, "maxItems": 100}}},
        {"type": "object", "required": ["event", "search_id", "node_id"],
         "properties": {"event": {"const": "open"}, "search_id": row_id, "node_id": STRING,
                        "position": {"type": "integer", "minimum": 0}, "dwell_ms": {"type": "integer", "minimum": 0}}},
        {"type": "object", "required": ["event", "open_id", "dwell_ms"],
         "properties": {"event": {"const": "dwell"}, "open_id": row_id, "dwell_ms": {"type": "integer", "minimum": 0}}},
    ]
    return {"post": {
        "summary": "Record a search, an opened result, or how long it stayed open",
        "requestBody": _body({"oneOf": events}),
        "responses": _responses(_ok("search_id or open_id", {"search_id": INTEGER, "open_id": INTEGER}),
                                "413", "415")}}


def _exports() -> dict[str, Any]:
    return {
        "/api/export/triplets": {"get": {
            "summary": "Training triplets (anchor, positive, negative) mined from the graph",
            "parameters": [_param("format", {"enum": list(TRIPLET_FORMATS)}, "File format."),
                           _param("negatives", {"type": "integer", "minimum": 1, "maximum": 10},
                                  "Negatives per positive (clamped to 1..10)."),
                           _param("split", {"enum": ["train", "val", "test"]}, "Only one split."),
                           _param("text_only", {"type": "boolean"},
                                  "Only anchor, positive, negative (for a sentence-transformers trainer).")],
            "responses": _responses(_file(TRIPLET_FORMATS))}},
        "/api/export/graph": {"get": {
            "summary": "The whole graph",
            "parameters": [_param("format", {"enum": list(GRAPH_FORMATS)}, "File format.")],
            "responses": _responses(_file(GRAPH_FORMATS))}},
    }


def _paths() -> dict[str, Any]:
    return {
        "/api/search": _search(),
        "/api/node/{node_id}": {"get": {
            "summary": "A node, its rendered body and its relations", "parameters": [NODE_ID],
            "responses": _responses(_ok("The node", {"node": {"type": "object"}, "relations": {"type": "array"},
                                                     "body": {"type": "object"}}, ["node"]), "404")}},
        "/api/node/{node_id}/neighbours": {"get": {
            "summary": "The neighbourhood of a node, for a graph view",
            "parameters": [NODE_ID, _param("depth", {"type": "integer", "minimum": 1, "maximum": 2},
                                           "Hops (an integer; clamped to 1..2).")],
            "responses": _responses(_ok("center, nodes, edges", {"depth": INTEGER, **NODES_EDGES}, ["nodes"]),
                                    "404")}},
        "/api/cypher": _cypher(),
        "/api/feedback": _feedback(),
        "/api/graph": {"get": {
            "summary": "The graph view: an overview of notes and files (clustered by folder), or the local graph of a node",
            "parameters": [
                _param("root", STRING, "Only this root (overview)."),
                _param("kind", {"type": "array", "items": {"enum": list(GRAPH_KINDS)}}, "Notes and/or files (overview)."),
                _param("tag", {"type": "array", "items": STRING}, "Only notes with these tags (overview)."),
                _param("folder", STRING, "Only paths under this folder (overview)."),
                _param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_OVERVIEW},
                       f"The best connected this many (overview; clamped to 1..{MAX_OVERVIEW})."),
                _param("node", STRING, "A node id: its local graph instead of the overview."),
                _param("depth", {"type": "integer", "minimum": 1, "maximum": 3}, "Hops from the node (clamped to 1..3)."),
                _param("w", {"type": "integer", "minimum": 200, "maximum": 4000}, "Width to lay out for, px (clamped)."),
                _param("h", {"type": "integer", "minimum": 200, "maximum": 4000}, "Height to lay out for, px (clamped)."),
            ],
            "responses": _responses(_ok("nodes, edges, clusters", {
                "mode": {"enum": ["overview", "local"]}, **NODES_EDGES, "clusters": {"type": "array"},
                "total": INTEGER, "shown": INTEGER}, ["mode", "nodes", "edges"]), "404", "503")}},
        "/api/models/promote": {"post": {
            "summary": "Make a trained model the one search uses; the index is re-embedded with it before the answer",
            "requestBody": _body({"type": "object", "required": ["name"],
                                  "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 200}}}),
            "responses": _responses(_ok("The promoted model and the index sync", {
                "promoted": STRING, "index": {"type": "object"}}, ["promoted"]), "404", "413", "415", "500", "503")}},
        **_exports(),
        "/api/stats": {"get": {"summary": "Counts of nodes and edges by kind",
                               "responses": _responses(_ok("nodes, edges, totals", {
                                   "nodes": {"type": "object"}, "edges": {"type": "object"},
                                   "total_nodes": INTEGER, "total_edges": INTEGER,
                                   "changed_at": {"type": ["string", "null"],
                                                  "description": "When this server last changed the graph (ISO 8601)"}}))}},
    }


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document (built per call: it is small)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "kg", "version": "1", "description":
                 "A knowledge graph over an Obsidian vault and code. Bodies are application/json only; "
                 "errors are {ok: false, error, status}. With a token set, send `Authorization: Bearer TOKEN`. "
                 "Browsers may call it only from kg's own pages: a request from another site gets 403."},
        "paths": _paths(),
        "components": {
            "schemas": {
                "SearchResult": {"type": "object", "required": ["id", "kind", "score", "why"], "properties": {
                    "id": STRING, "kind": STRING, "root": STRING, "path": STRING, "name": STRING,
                    "qualname": STRING, "heading": STRING, "score": {"type": "number"}, "why": STRING,
                    "snippet": STRING, "matched": {"type": "array", "items": STRING}}},
                "Error": {"type": "object", "required": ["ok", "error", "status"], "properties": {
                    "ok": {"const": False}, "error": STRING, "status": {"type": "integer", "minimum": 400}}},
            },
            "responses": {"Error": {"description": "An error, in the one shape", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}}},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
