"""Every console attack of the security issue, against the real embedded store, the CLI and a
real ``kg serve`` process: each is refused, and the graph and the files are unchanged.

The Bolt path has its own module (test_console_bolt.py); the web checks that come before a
query runs (cross-site requests, malformed bodies) are in test_web_attacks.py.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from app.main import main
from kg.errors import QueryError, QueryTimeout, ReadOnlyViolation
from kg.model import Node, NodeKind, note_id
from kg.store.ladybug import LadybugStore

SECRET = "s3cr3t-marker-7f1c"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A graph of 20 notes, a secret file, a file that must not change, an evil extension."""
    base = tmp_path_factory.mktemp("attack")
    db = base / "db"
    store = LadybugStore.open(db / "graph")
    store.migrate()
    store.upsert_nodes([Node(id=note_id("v", f"n{i}.md"), kind=NodeKind.NOTE, name=f"n{i}", root="v",
                             path=f"n{i}.md") for i in range(20)])
    store.close()
    (base / "secret.csv").write_text(f"user,password\nroot,{SECRET}\n", encoding="utf-8")
    (base / "keep.csv").write_text("original\n", encoding="utf-8")
    dump = base / "dump"  # a database export that would bind, so the planner decides
    dump.mkdir()
    (dump / "schema.cypher").write_text("CREATE NODE TABLE Evil(id STRING PRIMARY KEY);\n", encoding="utf-8")
    (dump / "copy.cypher").write_text("", encoding="utf-8")
    marker = base / "constructor-ran"
    extension = _evil_extension(base, marker)
    hits: list[str] = []
    server = _recording_http_server(hits)
    yield {"base": base, "db": db, "marker": marker, "extension": extension, "hits": hits,
           "http": f"http://127.0.0.1:{server.server_address[1]}/"}
    server.shutdown()
    server.server_close()


def _evil_extension(base: Path, marker: Path) -> Path | None:
    """A shared library whose constructor writes ``marker`` the moment it is loaded."""
    if shutil.which("cc") is None:
        return None
    source = base / "evil.c"
    source.write_text('#include <stdio.h>\n__attribute__((constructor)) static void ran(void) {\n'
                      f'  FILE *f = fopen("{marker}", "w"); if (f) {{ fputs("pwned", f); fclose(f); }}\n}}\n')
    library = base / "evil.lbug_extension"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    return library


def _recording_http_server(hits: list[str]) -> http.server.HTTPServer:
    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def attacks(w: dict[str, Any]) -> list[tuple[str, str]]:
    base = w["base"]
    return [
        ("file read", f"LOAD FROM '{base}/secret.csv' (header=true) RETURN *"),
        ("file read /etc/passwd", "LOAD FROM '/etc/passwd' (file_format='csv', header=false, delim=':') "
                                  "RETURN * LIMIT 3"),
        ("file write", f"COPY (RETURN 'x' AS x) TO '{base}/keep.csv' (header=false)"),
        ("parquet create", f"COPY (RETURN 'x' AS x) TO '{base}/new.parquet'"),
        ("export database", f"EXPORT DATABASE '{base}/export'"),
        ("import database", f"IMPORT DATABASE '{base}/dump'"),
        ("copy from", f"COPY Note FROM '{base}/secret.csv'"),
        ("load extension", f"LOAD EXTENSION '{w['extension'] or base / 'missing.lbug_extension'}'"),
        ("install", f"INSTALL httpfs FROM '{w['http']}'"),
        ("attach", f"ATTACH '{base}/other' AS other (dbtype lbug)"),
        ("setting timeout", "CALL timeout=0"),
        ("setting threads", "CALL threads=1"),
        ("setting file_search_path", "CALL file_search_path='/etc'"),
        ("setting home_directory", "CALL home_directory='/tmp'"),
        ("setting spill_to_disk", "CALL spill_to_disk=false"),
        ("setting checkpoint_threshold", "CALL checkpoint_threshold=1"),
        ("checkpoint", "CHECKPOINT"),
        ("begin", "BEGIN TRANSACTION"),
        ("commit", "COMMIT"),
        ("rollback", "ROLLBACK"),
        ("create", "CREATE (:Note {id: 'evil'})"),
        ("set", "MATCH (n:Note) SET n.name = 'pwned'"),
        ("delete", "MATCH (n:Note) DETACH DELETE n"),
        ("ddl", "CREATE NODE TABLE Evil(id STRING PRIMARY KEY)"),
        ("macro", "CREATE MACRO evil(x) AS x + 1"),
    ]


ATTACK_NAMES = [name for name, _ in attacks({"base": Path("/x"), "extension": None, "http": ""})]


def _unchanged(w: dict[str, Any]) -> None:
    base = w["base"]
    assert (base / "keep.csv").read_text(encoding="utf-8") == "original\n"
    assert not (base / "new.parquet").exists() and not (base / "export").exists()
    assert not (base / "other").exists()
    tables = {row[0] for row in _read(w, "CALL show_tables() RETURN name")}
    assert "Evil" not in tables
    assert not w["marker"].exists(), "the extension's constructor ran"
    assert w["hits"] == [], "the database fetched from the network"
    rows = _read(w, "MATCH (n:Note) RETURN n.name ORDER BY n.name")
    assert len(rows) == 20 and ["pwned"] not in rows


def _read(w: dict[str, Any], query: str) -> list[list[Any]]:
    store = LadybugStore.open(w["db"] / "graph", read_only=True)
    try:
        return store.query(query).rows
    finally:
        store.close()


def _attack(w: dict[str, Any], name: str) -> str:
    return dict(attacks(w))[name]


# LadybugDB's binder refuses EXPORT DATABASE of kg's schema before any plan exists (a rel
# table with several endpoint pairs); that is a refusal by the database, kept as its message.
BINDER_REFUSES = {"export database": "not supported"}


def _refusal(name: str) -> str:
    return BINDER_REFUSES.get(name, "only reads the graph")


@pytest.mark.parametrize("name", ATTACK_NAMES)
def test_store_refuses(world: dict[str, Any], name: str) -> None:
    store = LadybugStore.open(world["db"] / "graph")
    expected = QueryError if name in BINDER_REFUSES else ReadOnlyViolation
    try:
        with pytest.raises(expected, match=_refusal(name)) as refused:
            store.query(_attack(world, name))
        assert SECRET not in str(refused.value)
    finally:
        store.close()
    _unchanged(world)


@pytest.mark.parametrize("name", ATTACK_NAMES)
def test_cli_refuses(world: dict[str, Any], name: str) -> None:
    result = CliRunner().invoke(main, ["--db", str(world["db"]), "cypher", _attack(world, name)])
    assert result.exit_code == 1
    assert _refusal(name) in result.stderr and SECRET not in result.output
    _unchanged(world)


def test_checkpoint_attempt_leaves_the_store_writable(world: dict[str, Any]) -> None:
    store = LadybugStore.open(world["db"] / "graph")
    try:
        with pytest.raises(ReadOnlyViolation):
            store.query("CHECKPOINT")
        extra = Node(id=note_id("v", "extra.md"), kind=NodeKind.NOTE, name="extra", root="v", path="extra.md")
        store.upsert_nodes([extra])
        assert store.get_node(extra.id) is not None
        store.delete_nodes([(extra.id, NodeKind.NOTE)])
    finally:
        store.close()


def test_runaway_query_stops_within_twice_its_limit(world: dict[str, Any]) -> None:
    store = LadybugStore.open(world["db"] / "graph", read_only=True)
    started = time.monotonic()
    try:
        with pytest.raises(QueryTimeout, match="time limit of 2000 ms"):
            store.query("UNWIND range(1, 400000000) AS x RETURN sum(x)", timeout_ms=2000)
    finally:
        store.close()
    # Killed at 1.5x the limit + 0.3 s from when the child has opened the database (well within twice
    # the limit); the child's own start-up (0.2-0.4 s, more on a loaded machine) comes on top.
    assert time.monotonic() - started < 2 * 2.0 + 1.5


def test_answers_are_capped_in_bytes(world: dict[str, Any]) -> None:
    store = LadybugStore.open(world["db"] / "graph", read_only=True)
    try:
        result = store.query("UNWIND range(1, 1000) AS x RETURN x, range(1, 10000)", max_bytes=1_000_000)
        complete = store.query("MATCH (n:Note) RETURN n.name", max_bytes=1_000_000)
    finally:
        store.close()
    assert result.truncated_by == "bytes" and 0 < len(result.rows) < 1000
    assert len(json.dumps(result.rows, separators=(",", ":"))) <= 1_000_000
    assert complete.truncated_by == "" and len(complete.rows) == 20


def test_reading_queries_still_work(world: dict[str, Any]) -> None:
    store = LadybugStore.open(world["db"] / "graph", read_only=True)
    try:
        for query in ["MATCH (n:Note) RETURN n.name ORDER BY n.name DESC LIMIT 3",
                      "MATCH (n:Note) WITH n.root AS r, count(*) AS c RETURN r, c",
                      "MATCH (a:Note) OPTIONAL MATCH (a)-[e]->(b) RETURN a.id, count(b)",
                      "MATCH p = (a:Note)-[*1..2]->(b) RETURN p LIMIT 1",
                      "CALL show_tables() RETURN name",
                      "UNWIND [1, 2] AS x RETURN x UNION ALL RETURN 3 AS x"]:
            store.query(query)
    finally:
        store.close()


# -- the real server ----------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(world: dict[str, Any]) -> Iterator[Callable[[str], tuple[int, dict[str, Any]]]]:
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KG_QUERY_TIMEOUT_MS": "2000"}
    proc = subprocess.Popen([str(Path(sys.executable).with_name("kg")), "--db", str(world["db"]), "serve", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"

    def post(query: str) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(f"{url}/api/cypher", data=json.dumps({"query": query}).encode(),
                                         headers={"Content-Type": "application/json", "Origin": url,
                                                  "Sec-Fetch-Site": "same-origin"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, json.loads(exc.read())

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/openapi.json", timeout=2).close()
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"kg serve exited: {proc.stderr.read().decode() if proc.stderr else ''}")
            time.sleep(0.3)
    try:
        yield post
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stderr:
            proc.stderr.close()


@pytest.mark.parametrize("name", ATTACK_NAMES)
def test_server_refuses(world: dict[str, Any], server: Callable[[str], tuple[int, dict[str, Any]]],
                        name: str) -> None:
    status, body = server(_attack(world, name))
    assert status == (400 if name in BINDER_REFUSES else 403)
    assert body["ok"] is False and _refusal(name) in body["error"]
    assert SECRET not in json.dumps(body)
    _unchanged(world)


def test_server_stops_a_runaway_query_and_keeps_answering(
        world: dict[str, Any], server: Callable[[str], tuple[int, dict[str, Any]]]) -> None:
    status, body = server("UNWIND range(1, 400000000) AS x RETURN sum(x)")
    assert status == 408 and "time limit" in body["error"]
    status, body = server("MATCH (n:Note) RETURN count(n) AS c")
    assert status == 200 and body["rows"] == [[20]]
