"""Neo4j-only behaviour, against a real Bolt server (ArcadeDB from PyPI)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import neo4j
import pytest
from click.testing import CliRunner

from app.main import main
from kg.errors import StoreUnavailable
from kg.model import Edge, EdgeKind, Node, NodeKind
from kg.settings import Settings
from kg.store import open_store
from kg.store.cypher_dialects import ARCADEDB, NEO4J, detect
from kg.store.neo4j import Neo4jStore

from .conftest import ArcadeServer, free_port


def test_dialect_is_detected_from_the_server_agent() -> None:
    assert detect("Neo4j/5.26.0 compatible (ArcadeDB 26.10.2)") is ARCADEDB
    assert detect("Neo4j/5.24.1") is NEO4J
    # Text indexes are Neo4j-only: ArcadeDB skips them, and both share the id constraints.
    assert any("TEXT INDEX" in s for s in NEO4J.schema(3)) and ARCADEDB.schema(3) == ()
    assert NEO4J.schema(1) == ARCADEDB.schema(1)


def test_wrong_credentials_say_so_in_one_line(arcadedb_server: ArcadeServer) -> None:
    settings = arcadedb_server.settings("kg").with_(neo4j_password="not-the-password")
    with pytest.raises(StoreUnavailable) as info:
        Neo4jStore.connect(settings)
    message = str(info.value)
    assert "wrong credentials for user 'root'" in message and arcadedb_server.bolt_uri in message
    assert "\n" not in message


def test_unreachable_server_says_so_in_one_line() -> None:
    uri = f"bolt://127.0.0.1:{free_port()}"
    with pytest.raises(StoreUnavailable) as info:
        Neo4jStore.connect(Settings(backend="neo4j", neo4j_uri=uri, neo4j_password="x" * 8))
    assert str(info.value).startswith(f"cannot reach {uri}: connection refused")
    assert "\n" not in str(info.value)


def test_unknown_database_is_named(arcadedb_server: ArcadeServer) -> None:
    with pytest.raises(StoreUnavailable, match="database 'no_such_db' does not exist"):
        Neo4jStore.connect(arcadedb_server.settings("no_such_db"))


def test_migrations_are_numbered_recorded_and_idempotent(neo4j_settings: Settings) -> None:
    store = Neo4jStore.connect(neo4j_settings)
    try:
        assert store.dialect.name == "arcadedb"
        applied = store.migrate()
        assert applied == sorted(applied) and applied[0] == 1
        assert store.migrate() == []
        with neo4j.GraphDatabase.driver(neo4j_settings.neo4j_uri, auth=(
                neo4j_settings.neo4j_user, neo4j_settings.neo4j_password)) as driver:
            records, _, _ = driver.execute_query("MATCH (m:KgMigration) RETURN m.number AS n ORDER BY n",
                                                 database_=neo4j_settings.neo4j_database)
        assert [r["n"] for r in records] == applied
        # Migration bookkeeping never shows up as graph content.
        assert store.counts().as_dict()["total_nodes"] == 0
    finally:
        store.close()


def _count(uri: str, database: str) -> int:
    with neo4j.GraphDatabase.driver(uri, auth=("root", "kg-test-password"), connection_timeout=2) as driver:
        records, _, _ = driver.execute_query("MATCH (n:Note) RETURN count(n) AS c", database_=database)
    return int(records[0]["c"])


def test_server_killed_mid_ingest_then_rerun_completes(tmp_path: Path) -> None:
    server = ArcadeServer(tmp_path / "arcadedb").start()
    try:
        batch = 250
        nodes = [Node(id=f"note:v/n{i:05d}.md", kind=NodeKind.NOTE, name=f"n{i}", text="body " * 20)
                 for i in range(10_000)]
        store = Neo4jStore.connect(server.settings("kg", batch_size=batch))
        store.migrate()
        errors: list[Exception] = []

        def ingest() -> None:
            try:
                store.upsert_nodes(nodes)
            except StoreUnavailable as exc:
                errors.append(exc)

        writer = threading.Thread(target=ingest)
        writer.start()
        deadline = time.monotonic() + 120
        while _count(server.bolt_uri, "kg") < 2 * batch and time.monotonic() < deadline:
            time.sleep(0.05)
        server.kill()
        writer.join(timeout=120)
        store.close()
        assert errors, "the ingest finished before the server was killed: make it longer"
        message = str(errors[0])
        assert f"lost the connection to {server.bolt_uri}" in message and "re-run" in message

        server.start()
        committed = _count(server.bolt_uri, "kg")
        assert committed % batch == 0, "a batch is one transaction: whole batches or nothing"
        again = Neo4jStore.connect(server.settings("kg", batch_size=2_000))
        try:
            assert set(again.get_nodes([n.id for n in nodes[:committed]])) == {n.id for n in nodes[:committed]}
            again.upsert_nodes(nodes)
            assert again.counts().nodes["Note"] == len(nodes)
        finally:
            again.close()
    finally:
        server.stop()


def _sample_graph(count: int = 150) -> tuple[list[Node], list[Edge]]:
    notes = [Node(id=f"note:v/n{i}.md", kind=NodeKind.NOTE, name=f"n{i}", root="v", path=f"n{i}.md",
                  text=f"Note {i}", props={"aliases": [f"N{i}"]} if i % 3 else {}) for i in range(count)]
    heads = [Node(id=f"heading:v/n{i}.md#H", kind=NodeKind.HEADING, name="H", heading="H",
                  start_line=i, end_line=None if i % 2 else i + 3) for i in range(count)]
    edges = [Edge(n.id, EdgeKind.CONTAINS, h.id, NodeKind.NOTE, NodeKind.HEADING) for n, h in zip(notes, heads)]
    edges += [Edge(notes[i].id, EdgeKind.LINKS_TO, notes[(i * 7 + 1) % count].id, NodeKind.NOTE, NodeKind.NOTE,
                   alias=f"a{i}" if i % 2 else "", line=i if i % 4 else None) for i in range(count)]
    return notes + heads, edges


def test_migrate_round_trip_ladybug_neo4j_ladybug(neo4j_settings: Settings, tmp_path: Path) -> None:
    nodes, edges = _sample_graph()
    first, back = tmp_path / "first", tmp_path / "back"
    source = open_store(Settings(db=first))
    source.upsert_nodes(nodes)
    source.upsert_edges(edges)
    expected = source.counts().as_dict()
    source.close()
    env = {"NEO4J_URI": neo4j_settings.neo4j_uri, "NEO4J_USER": neo4j_settings.neo4j_user,
           "NEO4J_PASSWORD": neo4j_settings.neo4j_password, "NEO4J_DATABASE": neo4j_settings.neo4j_database,
           "KG_BACKEND": ""}
    runner = CliRunner()

    out = runner.invoke(main, ["--db", str(first), "migrate", "--to", "neo4j", "--batch-size", "64"], env=env)
    assert out.exit_code == 0, out.output
    assert "counts match" in out.output
    again = runner.invoke(main, ["--db", str(first), "migrate", "--to", "neo4j"], env=env)
    assert again.exit_code == 1 and "--replace" in again.output

    out = runner.invoke(main, ["--db", str(back), "--backend", "neo4j", "migrate", "--to", "ladybug"], env=env)
    assert out.exit_code == 0, out.output
    result = open_store(Settings(db=back))
    try:
        assert result.counts().as_dict() == expected
        assert sorted(result.iter_nodes(), key=lambda n: n.id) == sorted(nodes, key=lambda n: n.id)
        assert sorted(result.iter_edges(), key=lambda e: e.key) == sorted(edges, key=lambda e: e.key)
    finally:
        result.close()
