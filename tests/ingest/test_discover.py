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


def test_a_second_path_to_a_folder_is_not_a_loop(tmp_path: Path) -> None:
    _write(tmp_path, "real/note.md")
    os.symlink(tmp_path / "real", tmp_path / "a-link")  # sorts first, yet the real path wins
    result = discover(tmp_path, max_bytes=1000)
    assert [f.path for f in result.files] == ["real/note.md"]
    assert ("a-link", "same folder as real") in result.skipped


def test_names_that_are_not_utf8_are_skipped_and_printable(tmp_path: Path) -> None:
    _write(tmp_path, "ok.md")
    _write(tmp_path, "bad\udcfe.md")
    _write(tmp_path, "dir\udcff/inner.md")
    result = discover(tmp_path, max_bytes=1000)
    assert [f.path for f in result.files] == ["ok.md"]
    reason = "the name is not valid UTF-8 (rename it to ingest it)"
    assert ("bad\\xfe.md", reason) in result.skipped and ("dir\\xff", reason) in result.skipped


def test_a_bad_ignore_line_is_a_warning_and_the_other_lines_still_apply(tmp_path: Path) -> None:
    _write(tmp_path, "sub/.gitignore", "*.log\n!\n\\\n")
    _write(tmp_path, "sub/x.log")
    _write(tmp_path, "sub/n.md")
    result = discover(tmp_path, max_bytes=1000)
    assert [f.path for f in result.files] == ["sub/n.md"]
    assert result.warnings == [("sub/.gitignore", "line 2: '!' is not a valid pattern; the line is ignored"),
                               ("sub/.gitignore", "line 3: '\\\\' is not a valid pattern; the line is ignored")]


def test_ignore_files_that_lead_outside_are_not_read(tmp_path: Path) -> None:
    outside = _write(tmp_path, "outside/rules", "*.md\n")
    root = tmp_path / "root"
    _write(root, "n.md")
    os.symlink(outside, root / ".kgignore")
    result = discover(root, max_bytes=1000)
    assert [f.path for f in result.files] == ["n.md"]
    assert (".kgignore", f"symlink to outside the root: {outside.resolve()}") in result.skipped
    assert [f.path for f in discover(root, max_bytes=1000, follow_symlinks=True).files] == []
