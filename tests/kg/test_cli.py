"""The CLI contract of DESIGN.md: ingest, stats, cypher, show, through click's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.main import main


@pytest.fixture
def run(tmp_path: Path):
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(main, ["--db", str(tmp_path / "db"), *args], catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return invoke


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    root = tmp_path / "notes"
    root.mkdir()
    (root / "Home.md").write_text("---\naliases: [Start]\n---\n# Home\n\nGo to [[Other]] and [[Ghost]].\n",
                                  encoding="utf-8")
    (root / "Other.md").write_text("# Other\n\nBack to [[Start]]. #misc\n", encoding="utf-8")
    (root / "bad.md").write_text("---\n: [\n---\n# Bad\n", encoding="utf-8")
    return root


def test_ingest_prints_a_summary_and_stats_agree(run, vault: Path) -> None:
    code, out, err = run("ingest", str(vault), "--no-index")
    assert code == 0, err
    assert "files: added 3" in out
    assert "Unresolved 1" in out
    assert "notes/bad.md" in err  # the broken YAML is named
    code, out, _ = run("stats", "--json")
    counts = json.loads(out)
    assert counts["nodes"]["Note"] == 3 and counts["edges"]["LINKS_TO"] >= 3
    code, out, _ = run("ingest", str(vault), "--no-index", "--json")
    summary = json.loads(out)
    assert summary["files"] == {"unchanged": 3} and summary["written"] == {}


def test_cypher_with_params_json_and_csv(run, vault: Path) -> None:
    run("ingest", str(vault), "--no-index")
    code, out, _ = run("cypher", "MATCH (h:Heading {heading: $name})-[:LINKS_TO]->(m) RETURN m.id AS target ORDER BY target",
                       "--param", "name=Home", "--json")
    assert code == 0
    targets = [row["target"] for row in json.loads(out)]
    assert "note:notes/Other.md" in targets
    code, out, _ = run("cypher", "MATCH (n:Note) RETURN n.name AS name ORDER BY name", "--csv")
    assert out.splitlines()[:2] == ["name", "Home"]


def test_cypher_errors_are_one_line_and_exit_1(run, vault: Path) -> None:
    run("ingest", str(vault), "--no-index")
    code, out, err = run("cypher", "MATCH (n:Note RETURN n")
    assert code == 1 and err.startswith("Error:") and "Traceback" not in err
    code, _, err = run("cypher", "MATCH (n:Note) DETACH DELETE n")
    assert code == 1 and "read-only" in err
    code, out, _ = run("stats", "--json")
    assert json.loads(out)["nodes"]["Note"] == 3


def test_show_lists_edges_in_and_out(run, vault: Path) -> None:
    run("ingest", str(vault), "--no-index")
    code, out, _ = run("show", "note:notes/Other.md")
    assert code == 0
    assert "in (" in out and "heading:notes/Home.md#Home" in out
    code, _, err = run("show", "note:notes/Nope.md")
    assert code == 1 and "not in the graph" in err


def test_show_takes_an_id_as_search_prints_it_a_path_a_qualname_or_a_name(run, tmp_path: Path) -> None:
    code_root = tmp_path / "app"
    (code_root / "pkg").mkdir(parents=True)
    (code_root / "pkg" / "net.py").write_text(
        'def send(url):\n    """Send a request and retry with backoff."""\n    return url\n\n\n'
        "class Client:\n    def send(self, url):\n        return send(url)\n", encoding="utf-8")
    assert run("ingest", str(code_root), "--no-index")[0] == 0
    full = "def:app/pkg/net.py::send"
    for ref in (full, "app/pkg/net.py::send", "pkg/net.py::send", "Client.send"):
        code, out, err = run("show", ref)
        assert code == 0, (ref, err)
        assert out.splitlines()[0].endswith(full if ref != "Client.send" else "def:app/pkg/net.py::Client.send")
    code, out, _ = run("show", "pkg/net.py")
    assert code == 0 and out.startswith("File file:app/pkg/net.py")
    code, _, err = run("show", "send")  # the function and the method
    assert code == 1 and "names 2 nodes" in err and full in err and "Client.send" in err
    out = run("show", full)[1]
    assert out.count("Send a request and retry with backoff.") == 1
