"""`kg export-triplets`, `kg train` and `kg models` end to end on a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.main import main
from tests.embed.conftest import fill_toy_store



@pytest.fixture
def db(tmp_path: Path) -> Path:
    fill_toy_store(tmp_path / "db" / "graph", notes_per_topic=8)
    return tmp_path / "db"


@pytest.fixture
def current_model(tmp_path: Path) -> Path:
    """A tiny static model standing in for the general model as the current one."""
    from embed.scratch import build_static, train_tokenizer

    path = tmp_path / "current"
    build_static(train_tokenizer(["retry cache parser queue graph"] * 3, vocab_size=120), dim=8).save(str(path))
    return path


def _run(db: Path, *args: str, env: dict[str, str] | None = None):
    result = CliRunner().invoke(main, ["--db", str(db), *args], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_export_triplets_writes_the_split_asked_for(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "test.csv"
    result = _run(db, "export-triplets", "-o", str(out), "--split", "test", "--negatives", "2")
    assert "wrote" in result.output
    header, *rows = out.read_text().splitlines()
    assert header.startswith("anchor,positive,negative,anchor_id") and rows
    assert "LINKS_TO" in result.stderr and "SECTION" in result.stderr


def _train(db: Path, name: str, *extra: str, env: dict[str, str]):
    return _run(db, "train", "--static", "--dim", "32", "--vocab-size", "400", "--batch-size", "16",
                "--name", name, *extra, env=env)


def test_train_judges_the_model_by_searching_with_it_and_promotes_if_better(
        db: Path, current_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.embed.graphs import build_graph

    # The tiny model stands in for the general model (KG_MODEL would pin search to it, and a
    # promotion would then not count: that is refused, see test_models_promote_and_errors).
    monkeypatch.setattr("embed.encoder.general_model_dir", lambda: current_model.resolve())
    # The toy graph holds too few links, mentions and docstrings to judge by (20 at least), so
    # the user's own labelled queries do: each note's alias, as a user who knows it would type it.
    queries = tmp_path / "queries.jsonl"
    queries.write_text("".join(json.dumps({"id": n.id, "query": n.props["aliases"][0], "relevant": [n.id]}) + "\n"
                               for n in build_graph(8)[0] if n.props.get("aliases")))
    out = _train(db, "toy", "--epochs", "3", "--promote-if-better", "--queries", str(queries), env={}).output
    assert "search with each model over the whole corpus" in out and str(queries) in out
    assert "current (all-MiniLM-L6-v2)" in out and "toy" in out and "registered toy" in out
    assert "promoted toy: nDCG@10 +" in out
    listing = _run(db, "models").output
    assert "*  toy" in listing and "static" in listing
    records = json.loads(_run(db, "models", "--json").output)
    metrics = records[0]["metrics"]
    assert records[0]["name"] == "toy" and records[0]["promoted"]
    assert metrics["ndcg@10"] > records[0]["baseline"]["ndcg@10"] and metrics["ndcg_gain_low"] > 0
    curve = json.loads((db / "models" / "toy" / "curve.json").read_text())
    assert curve[-1]["loss"] < curve[0]["loss"]


def test_promote_if_better_refuses_a_model_that_searches_worse(db: Path, current_model: Path) -> None:
    env = {"KG_MODEL": str(current_model)}
    _train(db, "good", "--epochs", "3", env=env)
    _run(db, "models", "promote", "good")
    out = _train(db, "untrained", "--max-steps", "1", "--lr", "1e-9", "--promote-if-better", env={}).output
    assert "current (good)" in out and "not promoted: nDCG@10 -" in out
    assert "held-out pairs" in out and "query DOC" in out and "query SECTION" not in out  # not their own titles
    records = {r["name"]: r for r in json.loads(_run(db, "models", "--json").output)}
    assert records["good"]["promoted"] and not records["untrained"]["promoted"]
    assert records["untrained"]["metrics"]["ndcg_gain"] < 0


def test_train_judges_on_a_labelled_queries_file(db: Path, current_model: Path, tmp_path: Path) -> None:
    from kg.model import note_id

    queries = tmp_path / "q.jsonl"
    queries.write_text(json.dumps({"id": "a", "query": "lru eviction", "relevant": [note_id("vault", "cache/cache 1.md")]})
                       + "\n")
    out = _train(db, "judged", "--max-steps", "2", "--queries", str(queries), env={"KG_MODEL": str(current_model)}).output
    assert f"(1 queries: {queries})" in out
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    result = CliRunner().invoke(main, ["--db", str(db), "train", "--static", "--queries", str(bad)],
                                env={"KG_MODEL": str(current_model)})
    assert result.exit_code == 1 and "bad.jsonl:1" in result.output


def test_models_promote_and_errors(db: Path, current_model: Path) -> None:
    env = {"KG_MODEL": str(current_model)}
    _run(db, "train", "--from-scratch", "--layers", "1", "--hidden", "32", "--vocab-size", "300",
         "--max-steps", "3", "--name", "tiny-bert", env=env)
    assert "*" not in _run(db, "models").output.split("\n", 2)[2]
    assert "promoted tiny-bert" in _run(db, "models", "promote", "tiny-bert").output
    pinned = CliRunner().invoke(main, ["--db", str(db), "models", "promote", "tiny-bert"], env=env)
    assert pinned.exit_code == 1 and "KG_MODEL" in pinned.output  # search would not use the promoted model
    bad = CliRunner().invoke(main, ["--db", str(db), "models", "promote", "nope"])
    assert bad.exit_code == 1 and "no model 'nope'" in bad.output
    clash = CliRunner().invoke(main, ["--db", str(db), "train", "--static", "--base", "x"])
    assert clash.exit_code == 1 and "--base" in clash.output


def test_export_reads_the_feedback_log(db: Path, tmp_path: Path) -> None:
    from kg.feedback import FeedbackLog
    from kg.model import note_id

    shown = [note_id("vault", "queue/queue 3.md"), note_id("vault", "cache/cache 1.md")]
    log = FeedbackLog.open(db / "feedback.sqlite")
    log.record_open(log.record_search("lru eviction", shown), shown[1], 1)
    log.close()
    out = tmp_path / "all.jsonl"
    _run(db, "export-triplets", "-o", str(out))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    feedback = [r for r in rows if r["edge_kind"] == "FEEDBACK"]
    assert [(r["anchor"], r["positive_id"]) for r in feedback] == [("lru eviction", shown[1])]
    _run(db, "export-triplets", "-o", str(out), "--no-feedback")
    assert "FEEDBACK" not in out.read_text()
