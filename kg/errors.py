"""The one exception hierarchy of kg.

::

    KgError                      anything kg reports to a user as one line
    ├── ConfigError              a setting or option has a bad value
    ├── StoreError               the graph store failed
    │   ├── StoreUnavailable     cannot reach / open the store (URI, credentials, lock)
    │   └── QueryError           a Cypher query was rejected or failed
    │       ├── ReadOnlyViolation  the console refused a statement that does more than read the graph
    │       ├── QueryTimeout       the query ran past its time limit
    │       └── QueryTooLarge      the request itself is too large
    ├── NodeNotFound             no node has the given id
    ├── IngestError              a file or root could not be ingested
    ├── ModelError               an encoder or model directory is missing or broken
    └── SearchError              the search index is missing or inconsistent

The CLI turns these into one line and exit code 1 (2 for usage); the web layer into
``{"ok": false, "error": ..., "status": ...}``.
"""

from __future__ import annotations


class KgError(Exception):
    """Base class: a problem kg can explain to a user in one line."""

    status = 500  # HTTP status the web layer uses


class ConfigError(KgError):
    status = 400


class StoreError(KgError):
    status = 500


class StoreUnavailable(StoreError):
    status = 503


class QueryError(StoreError):
    status = 400


class ReadOnlyViolation(QueryError):
    status = 403


class QueryTimeout(QueryError):
    status = 408


class QueryTooLarge(QueryError):
    status = 413


class NodeNotFound(KgError):
    status = 404

    def __init__(self, node_id: str) -> None:
        super().__init__(f"Node {node_id!r} is not in the graph (try `kg search` or `kg stats`)")
        self.node_id = node_id


class IngestError(KgError):
    status = 400


class ModelError(KgError):
    status = 500


class ModelNotFound(ModelError):
    """No registered model has the name given (or the name is not a model name)."""

    status = 404


class SearchError(KgError):
    status = 500
