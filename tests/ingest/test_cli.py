"""The `kg ingest` summary names every skipped and bad file (text: the first 20, --json: all)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.main import main


@pytest.fixture
def kg(tmp_path: Path):
    runner = CliRunner()

    def invoke(*args: str) -> tuple[str, str]:
        result = runner.invoke(main, ["--db", str(tmp_path / "db"), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout, result.stderr

    return invoke


def _vault(root: Path, bad: str, count: int) -> Path:
    root.mkdir()
    (root / "Home.md").write_text("# Home\n\nFine.\n", encoding="utf-8")
    for i in range(count):
        path = root / f"bad{i:02d}.md"
        if bad == "binary":
            path.write_bytes(b"\x00\x01binary")
        else:
            path.write_text("---\ntitle: [unclosed\n---\n# Bad\n", encoding="utf-8")
    return root


@pytest.mark.parametrize("bad, stream", [("binary", "stdout"), ("yaml", "stderr")])
def test_text_summary_names_the_first_20_and_json_names_all(kg, tmp_path: Path, bad: str, stream: str) -> None:
    vault = _vault(tmp_path / "v", bad, 25)
    for _ in range(2):  # the run that parses them, and the one that does not
        out, err = kg("ingest", str(vault), "--no-index")
        text = out if stream == "stdout" else err
        named = [f"v/bad{i:02d}.md" for i in range(25) if f"  v/bad{i:02d}.md: " in text]
        assert named == [f"v/bad{i:02d}.md" for i in range(20)]
        assert "  … and 5 more (--json lists all)" in text
    summary = json.loads(kg("ingest", str(vault), "--no-index", "--json")[0])
    if bad == "binary":
        assert summary["skipped"] == 25
        assert [s["path"] for s in summary["skipped_files"]] == [f"v/bad{i:02d}.md" for i in range(25)]
        assert {s["reason"] for s in summary["skipped_files"]} == {"binary content"}
    else:
        assert summary["warnings"] == 25
        assert [w.split(": ")[0] for w in summary["warning_messages"]] == [f"v/bad{i:02d}.md" for i in range(25)]
        assert all("broken YAML frontmatter" in w for w in summary["warning_messages"])


def test_verbose_skips_names_them_all(kg, tmp_path: Path) -> None:
    vault = _vault(tmp_path / "v", "binary", 25)
    out, _ = kg("ingest", str(vault), "--no-index", "--verbose-skips")
    assert all(f"  v/bad{i:02d}.md: binary content" in out for i in range(25))
    assert "more (--json lists all)" not in out


def test_bad_files_are_listed_before_files_left_out_by_ignore_rules(kg, tmp_path: Path) -> None:
    vault = _vault(tmp_path / "v", "binary", 1)
    (vault / ".kgignore").write_text("drafts*\n", encoding="utf-8")
    for i in range(25):
        (vault / f"drafts{i:02d}.md").write_text("# Draft\n", encoding="utf-8")
    out, _ = kg("ingest", str(vault), "--no-index")
    listed = [line for line in out.splitlines() if line.startswith("  v/")]
    assert listed[0] == "  v/bad00.md: binary content" and len(listed) == 20
    assert "  … and 6 more (--json lists all)" in out
