"""Web fixtures: one hand-built graph per session, a fresh app (and feedback log) per test,
and a real server on a free port for the browser tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.workspace import Workspace
from kg.settings import Settings
from tests.web import graph_fixture

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


@dataclass
class Graph:
    """The session's graph: its folder, store, roots and searcher."""

    base: Path
    db: Path
    store: Any
    roots: dict[str, Path]
    searcher: Any


def _searcher(store: Any, db: Path) -> Any:
    from search.engine import Searcher
    from search.index import SearchIndex
    from tests.support.encoders import tiny_encoder

    encoder = tiny_encoder()
    index = SearchIndex.open(db / "search")
    index.sync(store, encoder)
    return Searcher(store, index, encoder)


@pytest.fixture(scope="session")
def graph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Graph]:
    from kg.store.ladybug import LadybugStore

    base = tmp_path_factory.mktemp("webgraph")
    roots = graph_fixture.write_files(base)
    db = base / "db"
    store = LadybugStore.open(db / "graph")
    store.migrate()
    store.upsert_nodes(graph_fixture.nodes())
    store.upsert_edges(graph_fixture.edges())
    yield Graph(base=base, db=db, store=store, roots=roots, searcher=_searcher(store, db))
    store.close()


@pytest.fixture
def settings(graph: Graph, tmp_path: Path) -> Settings:
    db = tmp_path / "db"
    db.mkdir()
    return Settings(db=db, query_timeout_ms=5_000, max_rows=50)


@pytest.fixture
def app(graph: Graph, settings: Settings) -> Any:
    from web import create_app

    app = create_app(settings, workspace=Workspace(settings), store=graph.store, searcher=graph.searcher, roots=graph.roots)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@contextmanager
def serving(app: Any, host: str = "127.0.0.1") -> Iterator[str]:
    """A WSGI app on ``host`` and a free port, in a thread: yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server(host, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    """The app on 127.0.0.1 and a free port, in a thread: yields its base URL."""
    with serving(app) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium to run the browser tests")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    """A fresh browser page; fails the test on any console error (CSP violations included)."""
    context = browser.new_context(base_url=live_server, accept_downloads=True,
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    yield page
    context.close()


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path

