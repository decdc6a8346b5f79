"""Fixtures for the embed tests: real stores under tmp_path, one thread for torch."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.store.ladybug import LadybugStore
from tests.embed.graphs import build_graph

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


def fill_toy_store(path: Path, notes_per_topic: int = 6) -> None:
    """Write the hand-built topical graph into a new LadybugStore at ``path``."""
    store = LadybugStore.open(path)
    try:
        store.migrate()
        nodes, edges = build_graph(notes_per_topic)
        store.upsert_nodes(nodes)
        store.upsert_edges(edges)
    finally:
        store.close()


@pytest.fixture
def toy_store(tmp_path: Path) -> Iterator[LadybugStore]:
    """A real embedded store holding the toy graph."""
    fill_toy_store(tmp_path / "graph")
    store = LadybugStore.open(tmp_path / "graph")
    yield store
    store.close()


@pytest.fixture
def ingested_store(tmp_path: Path, fixtures_dir: Path) -> Iterator[LadybugStore]:
    """A real store filled by ingesting the fixture vault and code with the ingest pipeline."""
    try:
        from ingest.pipeline import Pipeline
    except ImportError as exc:  # pragma: no cover - only before the pipeline lands
        pytest.skip(f"ingest pipeline unavailable: {exc}")
    store = LadybugStore.open(tmp_path / "graph")
    store.migrate()
    roots = [(name, fixtures_dir / name) for name in ("vault", "code") if (fixtures_dir / name).is_dir()]
    pipeline = Pipeline(store, tmp_path / "state.sqlite")
    try:
        pipeline.ingest(roots)
    except ModuleNotFoundError as exc:  # pragma: no cover - only while ingest is being built
        if not (exc.name or "").startswith("ingest."):
            raise
        pytest.skip(f"ingest pipeline incomplete: {exc}")
    finally:
        pipeline.close()
    yield store
    store.close()
