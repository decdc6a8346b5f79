"""The OpenAPI 3.1 document of the JSON API (served at ``/api/openapi.json``)."""

from __future__ import annotations

from typing import Any

from kg.model import NodeKind
from web.http import MAX_K


def _param(name: str, where: str, schema: dict[str, Any], description: str,
           required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "schema": schema, "description": description}


def _ok(description: str, schema: dict[str, Any] | None = None,
        content_type: str = "application/json") -> dict[str, Any]:
    return {"description": description, "content": {content_type: {"schema": schema or {"type": "object"}}}}


ERROR = {"$ref": "#/components/responses/Error"}
NODE_ID = _param("node_id", "path", {"type": "string"},
                 "A node id such as note:vault/Ideas.md (URL-encode '#' as %23).", True)


def _search_path(kinds: list[str]) -> dict[str, Any]:
    return {"get": {
        "summary": "Hybrid search (BM25 + vectors + graph expansion)",
        "parameters": [
            _param("q", "query", {"type": "string", "maxLength": 500}, "The query.", True),
            _param("k", "query", {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 10},
                   f"How many results (clamped to 1..{MAX_K})."),
            _param("kind", "query", {"type": "array", "items": {"enum": kinds}}, "Only these node kinds."),
            _param("root", "query", {"type": "array", "items": {"type": "string"}}, "Only these roots."),
            _param("tag", "query", {"type": "array", "items": {"type": "string"}}, "Only nodes with these tags."),
        ],
        "responses": {"200": _ok("Results as `kg search --json` gives them", {
            "type": "object", "properties": {
                "ok": {"const": True}, "query": {"type": "string"}, "k": {"type": "integer"},
                "results": {"type": "array", "items": {"$ref": "#/components/schemas/SearchResult"}}}}),
            "400": ERROR}}}


def _paths() -> dict[str, Any]:
    kinds = [k.value for k in NodeKind]
    return {
        "/api/search": _search_path(kinds),
        "/api/node/{node_id}": {"get": {
            "summary": "A node, its rendered body and its relations", "parameters": [NODE_ID],
            "responses": {"200": _ok("The node"), "404": ERROR}}},
        "/api/node/{node_id}/neighbours": {"get": {
            "summary": "The neighbourhood of a node, for a graph view",
            "parameters": [NODE_ID, _param("depth", "query", {"type": "integer", "minimum": 1, "maximum": 2},
                                           "Hops (clamped to 1..2).")],
            "responses": {"200": _ok("center, nodes, edges"), "404": ERROR}}},
        "/api/cypher": {"post": {
            "summary": "Run one read-only Cypher query (time limit and row cap apply)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["query"], "properties": {
                    "query": {"type": "string"}, "params": {"type": "object"},
                    "max_rows": {"type": "integer", "minimum": 1}}}}}},
            "responses": {"200": _ok("columns, rows, truncated, notice, graph"), "400": ERROR,
                          "403": {"description": "The query tried to write (read-only console)"},
                          "408": {"description": "The query ran past its time limit"},
                          "413": ERROR, "415": ERROR}}},
        "/api/feedback": {"post": {
            "summary": "Record a search, an opened result, or how long it stayed open",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"oneOf": [
                {"type": "object", "required": ["event", "query", "results"],
                 "properties": {"event": {"const": "search"}, "query": {"type": "string"},
                                "results": {"type": "array", "items": {"type": "string"}}}},
                {"type": "object", "required": ["event", "search_id", "node_id", "position"],
                 "properties": {"event": {"const": "open"}, "search_id": {"type": "integer"},
                                "node_id": {"type": "string"}, "position": {"type": "integer"}}},
                {"type": "object", "required": ["event", "open_id", "dwell_ms"],
                 "properties": {"event": {"const": "dwell"}, "open_id": {"type": "integer"},
                                "dwell_ms": {"type": "integer"}}}]}}}},
            "responses": {"200": _ok("search_id or open_id"), "400": ERROR, "403": ERROR, "415": ERROR}}},
        "/api/export/triplets": {"get": {
            "summary": "Training triplets (anchor, positive, negative) mined from the graph",
            "parameters": [_param("format", "query", {"enum": ["jsonl", "csv", "parquet"]}, "File format."),
                           _param("negatives", "query", {"type": "integer", "minimum": 1, "maximum": 10},
                                  "Negatives per positive."),
                           _param("split", "query", {"enum": ["train", "val", "test"]}, "Only one split."),
                           _param("text_only", "query", {"type": "boolean"},
                                  "Only anchor, positive, negative (for a sentence-transformers trainer).")],
            "responses": {"200": {"description": "A file download"}, "400": ERROR}}},
        "/api/export/graph": {"get": {
            "summary": "The whole graph",
            "parameters": [_param("format", "query", {"enum": ["jsonl", "graphml"]}, "File format.")],
            "responses": {"200": {"description": "A file download"}, "400": ERROR}}},
        "/api/stats": {"get": {"summary": "Counts of nodes and edges by kind",
                               "responses": {"200": _ok("nodes, edges, totals")}}},
    }


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document (built per call: it is small)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "kg", "version": "1", "description":
                 "A knowledge graph over an Obsidian vault and code. Bodies are application/json only; "
                 "errors are {ok: false, error, status}. With a token set, send `Authorization: Bearer TOKEN`."},
        "paths": _paths(),
        "components": {
            "schemas": {
                "SearchResult": {"type": "object", "required": ["id", "kind", "score", "why"], "properties": {
                    "id": {"type": "string"}, "kind": {"type": "string"}, "root": {"type": "string"},
                    "path": {"type": "string"}, "name": {"type": "string"}, "qualname": {"type": "string"},
                    "heading": {"type": "string"}, "score": {"type": "number"}, "why": {"type": "string"},
                    "snippet": {"type": "string"}, "matched": {"type": "array", "items": {"type": "string"}}}},
                "Error": {"type": "object", "required": ["ok", "error", "status"], "properties": {
                    "ok": {"const": False}, "error": {"type": "string"}, "status": {"type": "integer"}}},
            },
            "responses": {"Error": {"description": "An error", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}}},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
