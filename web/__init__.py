"""The web UI and JSON API: ``create_app(settings)`` is the one place that wires them.

Blueprints: ``web.ui`` (search, node pages, models, exports), ``web.api`` (the JSON API
under ``/api``, described at ``/api/openapi.json``) and ``web.console`` (the Cypher
console). Every HTML page has a JSON twin (``?format=json``); every error has one JSON
shape and one HTML page (``web.http``); ``web.security`` guards access.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.exceptions import HTTPException

from kg.errors import KgError
from kg.feedback import FeedbackLog
from kg.settings import Settings
from kg.store.base import GraphStore

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20  # 1 MiB: the largest request body (a long Cypher query with parameters)


def create_app(settings: Settings, *, workspace: Any = None, store: GraphStore | None = None, searcher: Any = None,
               feedback: FeedbackLog | None = None, registry: Any = None,
               roots: Mapping[str, Path] | None = None,
               searcher_factory: Callable[[Any], Any] | None = None) -> Flask:
    """Build the Flask app over a graph.

    Args:
        settings: host, token, limits and the database folder.
        workspace: the composition root's ``app.workspace.Workspace``: what is not passed in
            below is asked of it on first use (and it stays its owner's to close).
        store: the graph.
        searcher: a ``search.engine.Searcher``.
        feedback: the feedback log.
        registry: the model registry.
        roots: root name → folder of ingested roots.
        searcher_factory: builds the searcher lazily instead of the workspace.

    Raises:
        ConfigError: the settings bind beyond loopback without a token.
    """
    from web import api, console, http, security, ui
    from web.services import Services

    security.check_bind(settings)
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY_BYTES, JSON_SORT_KEYS=False)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["kg"] = Services(settings, workspace=workspace, store_=store, searcher_=searcher, feedback_=feedback,
                                    registry_=registry, roots_=roots, searcher_factory=searcher_factory)
    security.install(app, settings)
    app.register_error_handler(KgError, http.handle_kg_error)
    app.register_error_handler(HTTPException, http.handle_http_error)
    app.register_error_handler(Exception, http.handle_unexpected)
    app.register_blueprint(ui.bp)
    app.register_blueprint(console.bp)
    app.register_blueprint(api.bp, url_prefix="/api")
    app.jinja_env.globals.update(node_url=http.node_url, json_twin_url=http.json_twin_url, open_links=http.open_links,
                                 url_with=http.url_with, max_k=http.MAX_K)
    app.jinja_env.filters["node_url"] = http.node_url
    app.context_processor(lambda: {"graph_changed": http.graph_changed()})
    return app

