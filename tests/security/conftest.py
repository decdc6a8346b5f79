"""The web fixtures (a hand-built graph, an app over it, its test client), for the attacks on
the web layer. Re-exported from tests/web/conftest.py, not copied."""

from __future__ import annotations

from tests.web.conftest import app, client, graph, settings

__all__ = ["app", "client", "graph", "settings"]
