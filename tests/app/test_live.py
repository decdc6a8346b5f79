"""kg as a live service: a real `kg serve --watch` process owns the database, CLI commands go
through it with the output they have when run directly, edits reach search by themselves,
and searches keep answering while a CLI ingest runs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.waiting import wait_for

FIXTURE_VAULT = Path(__file__).parents[1] / "fixtures" / "vault"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "KG_TORCH_THREADS": "1"}
QUERY = "retry with exponential backoff"


def kg(db: Path, *args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "app.main", "--db", str(db), *args], env=ENV, cwd=cwd,
                          capture_output=True, text=True, timeout=300)
    if check:
        assert done.returncode == 0, done.stderr + done.stdout
    return done


@dataclass
class Live:
    vault: Path
    db: Path
    url: str
    process: subprocess.Popen[str]
    direct: dict[str, str]  # command → its output before the server started

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url.rstrip("/") + path, timeout=30) as response:  # noqa: S310
            return json.loads(response.read())


DIRECT = {
    "search": ("search", QUERY, "-k", "5"),
    "search-json": ("search", QUERY, "-k", "5", "--json"),
    "stats": ("stats",),
    "cypher": ("cypher", "MATCH (n:Note) RETURN n.name AS name ORDER BY name LIMIT 5", "--json"),
    "show": ("show", "Retry and Backoff.md"),
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    base = tmp_path_factory.mktemp("live")
    vault, db = base / "vault", base / "db"
    shutil.copytree(FIXTURE_VAULT, vault)
    kg(db, "ingest", str(vault), "--name", "vault")
    direct = {name: kg(db, *args).stdout for name, args in DIRECT.items()}
    log = (base / "serve.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "app.main", "--db", str(db), "serve", "--port", "0", "--watch"],
                               env=ENV, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        info = wait_for(lambda: (db / "server.json").exists() and json.loads((db / "server.json").read_text()), 60)
        assert info, "the server file never appeared"
        yield Live(vault=vault, db=db, url=info["url"], process=process, direct=direct)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()
    assert not (db / "server.json").exists(), "a stopped server withdraws its file"


def test_commands_through_the_server_print_what_they_print_directly(live: Live) -> None:
    for name, args in DIRECT.items():
        through = kg(live.db, *args)
        assert through.stdout == live.direct[name], name
    assert "Retry and Backoff" in live.direct["search"]


def test_the_server_file_is_private_and_the_command_door_needs_its_token(live: Live) -> None:
    mode = stat.S_IMODE((live.db / "server.json").stat().st_mode)
    assert mode == 0o600
    body = json.dumps({"args": ["stats"], "cwd": "/"}).encode()
    for headers, status in (({}, 401), ({"Authorization": "Bearer wrong"}, 401),
                            ({"Authorization": "Bearer " + json.loads((live.db / "server.json").read_text())["token"],
                              "Origin": "http://evil.example"}, 403)):
        request = urllib.request.Request(live.url + "api/cli", data=body, method="POST",
                                         headers={"Content-Type": "application/json", **headers})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310
        refused.value.close()
        assert refused.value.code == status


def test_usage_errors_and_missing_nodes_keep_their_messages_and_exit_codes(live: Live) -> None:
    missing = kg(live.db, "show", "no such node anywhere", check=False)
    assert missing.returncode == 1 and "no such node anywhere" in missing.stderr
    usage = kg(live.db, "search", check=False)
    assert usage.returncode == 2 and "give a QUERY" in usage.stderr


def test_a_second_server_is_refused(live: Live) -> None:
    second = kg(live.db, "serve", "--port", "0", check=False)
    assert second.returncode == 1 and "already served by pid" in second.stderr


def test_an_edit_is_searchable_without_running_anything(live: Live) -> None:
    note = live.vault / "Quokka.md"
    note.write_text("# Quokka routing\n\nThe zanzibar quokka protocol picks a route.\n", encoding="utf-8")

    def found() -> bool:
        out = kg(live.db, "search", "zanzibar quokka", "-k", "3", "--json").stdout
        return any(r["path"] == "Quokka.md" for r in json.loads(out)["results"])

    assert wait_for(found, 30), "the new note never reached search results"
    assert live.get("/api/stats")["changed_at"]
    note.unlink()
    assert wait_for(lambda: not found(), 30), "the deleted note stayed in search"


def test_searches_keep_answering_while_a_cli_ingest_runs(live: Live, tmp_path: Path) -> None:
    errors: list[str] = []
    answered = 0
    stop = threading.Event()

    def search() -> None:
        nonlocal answered
        while not stop.is_set():
            try:
                live.get("/api/search?q=backoff&k=5")
                answered += 1
            except Exception as exc:  # any failure is what this test is about
                errors.append(repr(exc))

    clients = [threading.Thread(target=search) for _ in range(4)]
    for client in clients:
        client.start()
    try:
        extra = tmp_path / "extra"
        extra.mkdir()
        for i in range(30):
            (extra / f"Extra {i}.md").write_text(f"# Extra {i}\n\nSee [[Retry and Backoff]] and [[Extra {i + 1}]].\n",
                                                  encoding="utf-8")
        out = kg(live.db, "ingest", "extra", "--name", "extra", cwd=tmp_path).stdout  # a relative path
        assert "added 30" in out
    finally:
        stop.set()
        for client in clients:
            client.join()
    assert errors == [] and answered > 0
    page = live.get("/api/node/" + urllib.request.quote("note:extra/Extra 3.md", safe=""))
    assert page["node"]["name"] == "Extra 3"
    assert "note:extra/Extra 4.md" in json.dumps(page)  # its link, resolved by that ingest


def test_a_stale_server_file_is_removed_and_the_command_runs_here(tmp_path: Path) -> None:
    db = tmp_path / "db"
    kg(db, "ingest", str(FIXTURE_VAULT), "--name", "vault", "--no-index")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (db / "server.json").write_text(json.dumps({"url": "http://127.0.0.1:9/", "token": "t", "pid": int(dead.stdout),
                                                "db": str(db), "started": 0}), encoding="utf-8")
    out = kg(db, "stats").stdout
    assert "total nodes" in out and not (db / "server.json").exists()


def test_migrate_is_refused_while_a_server_owns_the_database(live: Live) -> None:
    refused = kg(live.db, "migrate", "--to", "neo4j", check=False)
    assert refused.returncode == 1 and "stop that server" in refused.stderr
