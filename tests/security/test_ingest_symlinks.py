"""A symlink inside a root must not pull files from outside it into the graph (and the web page).

Real files under tmp_path, the real embedded store, and `kg ingest` through click's runner.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.pipeline import IngestOptions, Pipeline
from app.main import main
from kg.store.ladybug import LadybugStore

SECRET = "sk-live-do-not-ingest-4242"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    """A vault with links to a secret file and a secret folder beside it, and one inside link."""
    outside = tmp_path / "outside"
    _write(outside / "secret.md", f"# Secret\n\nkey: {SECRET}\n")
    _write(outside / "private" / "keys.py", f'API_KEY = "{SECRET}"\n\ndef leak():\n    return API_KEY\n')
    vault = tmp_path / "vault"
    _write(vault / "Home.md", "# Home\n\nSee [[Alias]] and [[secret]].\n")
    _write(vault / "real" / "Target.md", "# Target\n\nInside text.\n")
    os.symlink(outside / "secret.md", vault / "secret.md")
    os.symlink(outside / "private", vault / "private")
    os.symlink(Path("real") / "Target.md", vault / "Alias.md")  # relative, stays inside
    os.symlink(vault / "real", vault / "mirror")  # a second path to a folder that is walked anyway
    _write(vault / "node_modules" / "pkg" / "Guide.md", "# Guide\n\nVendored but linked.\n")
    os.symlink(Path("node_modules") / "pkg", vault / "guide")  # a folder link inside the root
    return vault


def _ingest(tmp_path: Path, vault: Path, *, follow: bool = False):
    store = LadybugStore.open(tmp_path / "db" / "graph")
    store.migrate()
    pipeline = Pipeline(store, tmp_path / "db" / "ingest.sqlite", IngestOptions(follow_symlinks=follow))
    try:
        report = pipeline.ingest([("v", vault)])
        texts = "\n".join(f"{n.id}\n{n.text}\n{json.dumps(n.props)}" for n in store.iter_nodes())
    finally:
        pipeline.close()
        store.close()
    return report, texts


def test_symlinks_to_outside_are_skipped_with_their_target(tmp_path: Path, layout: Path) -> None:
    report, texts = _ingest(tmp_path, layout)
    skipped = dict(report.skipped)
    outside = (tmp_path / "outside").resolve()
    assert skipped["v/secret.md"] == f"symlink to outside the root: {outside / 'secret.md'}"
    assert skipped["v/private"] == f"symlink to outside the root: {outside / 'private'}"
    assert SECRET not in texts
    assert "note:v/secret.md" not in texts and "file:v/private/keys.py" not in texts
    assert report.as_dict()["skipped_by_reason"]["symlink to outside the root"] == 2


def test_symlinks_inside_the_root_keep_working(tmp_path: Path, layout: Path) -> None:
    report, texts = _ingest(tmp_path, layout)
    assert "note:v/Alias.md" in texts and "note:v/real/Target.md" in texts
    assert "note:v/guide/Guide.md" in texts and "Vendored but linked." in texts
    skipped = dict(report.skipped)
    assert "v/Alias.md" not in skipped and "v/guide" not in skipped
    assert skipped["v/mirror"] == "same folder as real"  # ingested once, under its own path


def test_a_file_that_becomes_an_outside_link_leaves_the_graph(tmp_path: Path, layout: Path) -> None:
    _ingest(tmp_path, layout)
    os.unlink(layout / "Alias.md")
    os.symlink(tmp_path / "outside" / "secret.md", layout / "Alias.md")
    report, texts = _ingest(tmp_path, layout)
    assert report.files["removed"] == 1
    assert SECRET not in texts and "note:v/Alias.md" not in texts


def test_follow_symlinks_option_ingests_them(tmp_path: Path, layout: Path) -> None:
    report, texts = _ingest(tmp_path, layout, follow=True)
    assert SECRET in texts
    assert "note:v/secret.md" in texts and "def:v/private/keys.py::leak" in texts
    assert not any(reason.startswith("symlink to outside") for _, reason in report.skipped)


def test_kg_ingest_follow_symlinks_flag(tmp_path: Path, layout: Path) -> None:
    runner = CliRunner()
    db = tmp_path / "clidb"

    def kg(*args: str) -> str:
        result = runner.invoke(main, ["--db", str(db), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    summary = json.loads(kg("ingest", str(layout), "--name", "v", "--no-index", "--json"))
    reasons = {item["path"]: item["reason"] for item in summary["skipped_files"]}
    assert reasons["v/secret.md"].startswith("symlink to outside the root: ")
    assert reasons["v/private"].startswith("symlink to outside the root: ")
    assert "symlink to outside the root" in kg("ingest", str(layout), "--name", "v", "--no-index")
    summary = json.loads(kg("ingest", str(layout), "--name", "v", "--no-index", "--json", "--follow-symlinks"))
    assert summary["files"]["added"] == 2  # secret.md and private/keys.py
    assert "symlink to outside the root" not in summary["skipped_by_reason"]
    assert SECRET in kg("show", "note:v/secret.md")


def test_kg_follow_symlinks_setting_from_the_environment(tmp_path: Path, layout: Path) -> None:
    result = CliRunner().invoke(main, ["--db", str(tmp_path / "envdb"), "ingest", str(layout), "--name", "v",
                                       "--no-index", "--json"], env={"KG_FOLLOW_SYMLINKS": "1"},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "symlink to outside the root" not in json.loads(result.stdout)["skipped_by_reason"]
