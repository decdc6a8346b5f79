"""The web fixtures (a hand-built graph, an app over it, its test client, a live server),
for the attacks on the web layer. Re-exported from tests/web/conftest.py, not copied.

Not the ``browser`` fixture: a second session of Playwright's sync API cannot start while
the one of tests/web is alive, so tests/security/test_web_browser.py runs its own in a thread.
"""

from __future__ import annotations

from tests.web.conftest import app, client, graph, live_server, settings

__all__ = ["app", "client", "graph", "live_server", "settings"]
