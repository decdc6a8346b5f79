"""Shared fixtures: every test gets its own store under tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

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
