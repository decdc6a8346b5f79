"""kg search / kg eval / kg index through click's CliRunner, on a real store and index."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.main import main
from kg.store.ladybug import LadybugStore
from search.index import SearchIndex
from tests.search.conftest import sample_edges, sample_nodes
from tests.support.encoders import tiny_encoder


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A database folder with a graph and a synced index; the CLI gets the tiny encoder."""
    db = tmp_path / "db"
    store = LadybugStore.open(db / "graph")
    store.migrate()
    store.upsert_nodes(sample_nodes())
    store.upsert_edges(sample_edges())
    index = SearchIndex.open(db / "search")
    index.sync(store, tiny_encoder())
    index.close()
    store.close()
    monkeypatch.setattr("app.workspace.Workspace.encoder", lambda self: tiny_encoder())
    monkeypatch.delenv("KG_DB", raising=False)
    yield db


def _run(db: Path, *args: str) -> object:
    return CliRunner().invoke(main, ["--db", str(db), *args], catch_exceptions=False)


def test_search_prints_results_with_reasons(db: Path) -> None:
    result = _run(db, "search", "getUserName")
    assert result.exit_code == 0, result.output
    assert "utils/users.py::UserStore.getUserName" in result.output
    assert "matched: getUserName" in result.output
    first = result.output.splitlines()[0].split()[-1]  # the id as `kg show` takes it back
    shown = _run(db, "show", first)
    assert shown.exit_code == 0 and "UserStore.getUserName" in shown.output.splitlines()[0]
    assert "utils/users.py:" in result.output.splitlines()[1]  # path:line, for a terminal to open


def test_search_json_and_filters(db: Path) -> None:
    result = _run(db, "search", "jitter", "--json", "--kind", "note", "-k", "1")
    data = json.loads(result.output)
    assert data["query"] == "jitter" and len(data["results"]) == 1
    assert data["results"][0]["kind"] == "Note" and data["results"][0]["why"]


def test_search_many_queries_prints_one_json_line_each(db: Path, tmp_path: Path) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": "a", "query": "pancakes"}\n{"id": "b", "query": "getUserName"}\n')
    result = _run(db, "search", "--queries", str(queries), "--json")
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["id"] for line in lines] == ["a", "b"]
    assert lines[1]["results"][0]["qualname"] == "UserStore.getUserName"


def test_eval_compare_prints_a_table(db: Path, tmp_path: Path) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": "a", "query": "user name", "relevant": ["utils/users.py::UserStore.getUserName"]}\n')
    result = _run(db, "eval", str(queries), "--compare")
    assert result.exit_code == 0, result.output
    assert "kg" in result.output and "MRR@10" in result.output


def test_index_reports_nothing_to_embed_when_up_to_date(db: Path) -> None:
    result = _run(db, "index", "--json")
    assert json.loads(result.output)["embedded"] == 0


def test_usage_errors_are_one_line(db: Path) -> None:
    assert _run(db, "search").exit_code == 2
    bad = _run(db, "search", "x", "--kind", "module")
    assert bad.exit_code == 1 and "unknown kind 'module'" in bad.output


def test_search_prints_a_path_a_terminal_opens_from_where_it_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    monkeypatch.setattr("app.workspace.Workspace.encoder", lambda self: tiny_encoder())
    repo = tmp_path / "work" / "shop"
    shutil.copytree(Path(__file__).parents[1] / "fixtures" / "code" / "python", repo)
    db = tmp_path / "db"
    assert _run(db, "ingest", str(repo)).exit_code == 0
    for cwd, expected in ((tmp_path / "work", "shop/src/shop/utils.py:5"),  # under the working folder: relative
                          (tmp_path / "db", f"{repo.as_posix()}/src/shop/utils.py:5")):  # elsewhere: absolute
        monkeypatch.chdir(cwd)
        lines = _run(db, "search", "retry", "-k", "1").output.splitlines()
        assert "shop/src/shop/utils.py::retry" in lines[0] and lines[1].split()[0] == expected
