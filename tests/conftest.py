"""Shared fixtures: every test gets its own store under tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.settings import Settings
from tests.kg.conftest import COMMAND_TIMEOUT_MS, ArcadeServer, arcadedb_home

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--neo4j-uri", default="", help="Run the tests marked neo4j against this real Neo4j "
                     "server (user from $NEO4J_USER, password from $NEO4J_PASSWORD; its graph is wiped).")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--neo4j-uri"):
        return
    skip = pytest.mark.skip(reason="needs a real Neo4j server: pytest --neo4j-uri bolt://HOST:7687")
    for item in items:
        if item.get_closest_marker("neo4j") is not None:
            item.add_marker(skip)


# One real Bolt server (ArcadeDB from PyPI) for the whole session, shared by tests/kg and
# tests/security (defined here so that pytest starts it once).
@pytest.fixture(scope="session")
def arcadedb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArcadeServer]:
    """One ArcadeDB server for the session; yields it (``bolt_uri``, ``user``, ``password``)."""
    if arcadedb_home() is None:
        pytest.skip("arcadedb-embedded is not installed: the Neo4j store is not tested")
    server = ArcadeServer(tmp_path_factory.mktemp("arcadedb"), command_timeout_ms=COMMAND_TIMEOUT_MS)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def neo4j_settings(arcadedb_server: ArcadeServer, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a fresh database on the session's server (dropped afterwards)."""
    name = arcadedb_server.new_database()
    try:
        yield arcadedb_server.settings(name, db=tmp_path / "kg")
    finally:
        arcadedb_server.drop_database(name)
