"""Discovery: ignore rules, vendored trees, limits, symlink loops, unreadable files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ingest.discover import discover


def _write(root: Path, rel: str, text: str = "x") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_classifies_notes_code_and_attachments(tmp_path: Path) -> None:
    _write(tmp_path, "a.md")
    _write(tmp_path, "src/app.py")
    _write(tmp_path, "web/x.tsx")
    _write(tmp_path, "img/p.png")
    found = {f.path: f.kind for f in discover(tmp_path, max_bytes=1000).files}
    assert found == {"a.md": "note", "src/app.py": "code", "web/x.tsx": "code", "img/p.png": "attachment"}


def test_gitignore_kgignore_and_obsidian_excluded(tmp_path: Path) -> None:
    _write(tmp_path, ".gitignore", "secret.md\n*.log\n")
    _write(tmp_path, "sub/.gitignore", "local.md\n")
    _write(tmp_path, ".kgignore", "drafts/\n")
    _write(tmp_path, ".obsidian/app.json", json.dumps({"userIgnoreFilters": ["Archive/"]}))
    for rel in ("keep.md", "secret.md", "x.log", "sub/local.md", "sub/ok.md", "drafts/d.md", "Archive/old.md"):
        _write(tmp_path, rel)
    result = discover(tmp_path, max_bytes=1000)
    assert sorted(f.path for f in result.files) == ["keep.md", "sub/ok.md"]
    reasons = dict(result.skipped)
    assert reasons["secret.md"] == "ignored by .gitignore"
    assert reasons["sub/local.md"] == "ignored by .gitignore"
    assert reasons["drafts"] == "ignored by .kgignore"
    assert reasons["Archive"] == "ignored by Obsidian excluded files"


def test_vendored_trees_and_large_files_are_skipped_with_reasons(tmp_path: Path) -> None:
    _write(tmp_path, "node_modules/lib/index.js")
    _write(tmp_path, "target/debug/x.rs")
    _write(tmp_path, "big.py", "x = 1\n" * 100)
    _write(tmp_path, "small.py")
    result = discover(tmp_path, max_bytes=50)
    assert [f.path for f in result.files] == ["small.py"]
    reasons = dict(result.skipped)
    assert reasons["node_modules"] == "vendored or generated folder"
    assert reasons["target"] == "vendored or generated folder"
    assert reasons["big.py"].startswith("too large")


def test_symlink_loop_is_reported_not_followed_forever(tmp_path: Path) -> None:
    _write(tmp_path, "a/note.md")
    os.symlink(tmp_path / "a", tmp_path / "a" / "loop")
    result = discover(tmp_path, max_bytes=1000)
    assert [f.path for f in result.files] == ["a/note.md"]
    assert ("a/loop", "symlink loop") in result.skipped


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads everything; permissions cannot be tested")
def test_unreadable_folder_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, "locked/n.md")
    (tmp_path / "locked").chmod(0)
    try:
        result = discover(tmp_path, max_bytes=1000)
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert any(p == "locked" and r.startswith("unreadable") for p, r in result.skipped)
