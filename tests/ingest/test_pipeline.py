"""The incremental pipeline against the real embedded store."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.pipeline import IngestOptions, Pipeline
from kg.store.ladybug import LadybugStore

ROOT = Path(__file__).resolve().parents[2]


def _write(root: Path, rel: str, text: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    root = tmp_path / "vault"
    _write(root, "a.md", "# A\n\nSee [[b]] and [[b#Part two]] and [[missing note]].\n")
    _write(root, "b.md", "# B\n\n## Part two\n\nText with #topic/sub.\n")
    _write(root, "code/retry.py", "def retry_with_backoff(fn):\n    return fn()\n")
    _write(root, "c.md", "# C\n\nUse `retry_with_backoff` for flaky calls.\n")
    return root


@pytest.fixture
def db(tmp_path: Path):
    store = LadybugStore.open(tmp_path / "db" / "graph")
    store.migrate()
    pipeline = Pipeline(store, tmp_path / "db" / "ingest.sqlite", IngestOptions(batch_size=7))
    yield store, pipeline
    pipeline.close()
    store.close()


def _targets(store: LadybugStore, src: str, kind: str = "LINKS_TO") -> set[str]:
    rows = store.query(f"MATCH (a {{id: $id}})-[e:{kind}]->(b) RETURN b.id", {"id": src}).rows
    return {r[0] for r in rows}


def test_ingest_builds_the_graph_and_a_second_run_writes_nothing(vault: Path, db) -> None:
    store, pipeline = db
    first = pipeline.ingest([("v", vault)])
    assert first.files["added"] == 4
    assert _targets(store, "heading:v/a.md#A") >= {"note:v/b.md", "heading:v/b.md#B#Part two"}
    assert any(t.startswith("unresolved:") for t in _targets(store, "heading:v/a.md#A"))
    assert _targets(store, "heading:v/c.md#C", "MENTIONS") == {"def:v/code/retry.py::retry_with_backoff"}
    counts = store.counts().as_dict()
    second = pipeline.ingest([("v", vault)])
    assert second.files["unchanged"] == 4 and not second.files["added"]
    assert sum(second.written.values()) == 0
    assert store.counts().as_dict() == counts


def test_changed_file_retargets_links_and_deleted_file_becomes_unresolved(vault: Path, db) -> None:
    store, pipeline = db
    pipeline.ingest([("v", vault)])
    (vault / "b.md").write_text("# B\n\n## Renamed\n\nText.\n", encoding="utf-8")
    report = pipeline.ingest([("v", vault)])
    assert report.files["changed"] == 1
    targets = _targets(store, "heading:v/a.md#A")
    assert "heading:v/b.md#B#Part two" not in targets and "note:v/b.md" in targets
    assert store.get_node("heading:v/b.md#B#Part two") is None
    (vault / "b.md").unlink()
    report = pipeline.ingest([("v", vault)])
    assert report.files["removed"] == 1
    targets = _targets(store, "heading:v/a.md#A")
    assert "note:v/b.md" not in targets
    assert "unresolved:v/b" in targets


def test_renamed_function_leaves_no_stale_calls(tmp_path: Path, db) -> None:
    store, pipeline = db
    root = tmp_path / "repo"
    _write(root, "lib.py", "def old_name():\n    return 1\n")
    _write(root, "main.py", "from lib import old_name\n\ndef run():\n    return old_name()\n")
    pipeline.ingest([("r", root)])
    assert "def:r/lib.py::old_name" in _targets(store, "def:r/main.py::run", "CALLS")
    _write(root, "lib.py", "def new_name():\n    return 1\n")
    pipeline.ingest([("r", root)])
    calls = _targets(store, "def:r/main.py::run", "CALLS")
    assert "def:r/lib.py::old_name" not in calls
    assert store.get_node("def:r/lib.py::old_name") is None


def test_bad_files_are_reported_and_the_rest_is_ingested(vault: Path, db) -> None:
    store, pipeline = db
    _write(vault, "broken.md", "---\ntags: [a, b\ntitle: x: y:\n---\n# Broken\n\nStill linked to [[a]].\n")
    _write(vault, "latin1.md", "# Caf\xe9\n\nSee [[a]].\n".encode("latin-1"))
    _write(vault, "binary.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00binary")
    _write(vault, "empty.md", "")
    _write(vault, "huge.md", "x" * 5000)
    pipeline.options.max_file_bytes = 4000
    report = pipeline.ingest([("v", vault)])
    warnings = "\n".join(report.warnings)
    assert "v/broken.md" in warnings and "YAML" in warnings
    assert "v/latin1.md: invalid UTF-8" in warnings
    skipped = dict(report.skipped)
    assert skipped["v/binary.md"] == "binary content"
    assert skipped["v/huge.md"].startswith("too large")
    assert store.get_node("note:v/empty.md") is not None
    assert "note:v/a.md" in _targets(store, "heading:v/broken.md#Broken")
    assert store.get_node("note:v/latin1.md") is not None


def test_kill_9_during_ingest_then_rerun_matches_a_clean_run(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from bench.gen_vault import generate

    vault = tmp_path / "gen"
    generate(vault, notes=150, links=1500)
    env = {**os.environ, "KG_BATCH_SIZE": "100"}
    cmd = [sys.executable, "-m", "app.main", "--db", str(tmp_path / "killed"), "ingest", str(vault), "--no-index"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = tmp_path / "killed" / "ingest.sqlite"
    deadline, caught_writing = time.time() + 120, False
    while time.time() < deadline and proc.poll() is None:
        if state.exists() and _is_dirty(state):
            caught_writing = True
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert caught_writing and proc.returncode == -signal.SIGKILL, "the ingest was not killed mid-write"
    rerun = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    subprocess.run([*cmd[:4], str(tmp_path / "clean"), *cmd[5:]], cwd=ROOT, check=True, capture_output=True)
    stats = [subprocess.run([*cmd[:4], str(tmp_path / d), "stats", "--json"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout for d in ("killed", "clean")]
    assert stats[0] == stats[1]


def test_a_run_that_dies_after_its_scan_is_finished_by_the_next(vault: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The scan keeps the new files before the graph is made from them: the next run, with
    nothing new on disk, must still make the graph (and resolve the links the edit reaches)."""
    store = LadybugStore.open(tmp_path / "db" / "graph")
    store.migrate()
    state = tmp_path / "db" / "ingest.sqlite"
    first = Pipeline(store, state)
    first.ingest([("v", vault)])
    first.close()
    _write(vault, "a.md", "Now see [[c]] instead.\n")
    _write(vault, "b.md", "# Renamed\n\nNo Part two here.\n")
    dying = Pipeline(store, state)
    with monkeypatch.context() as patch:
        patch.setattr(Pipeline, "_resolve", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
        with pytest.raises(KeyboardInterrupt):
            dying.ingest([("v", vault)])
    dying.close()
    again = Pipeline(store, state)
    report = again.ingest([("v", vault)])
    again.close()
    assert report.resolution["notes_resolved"] >= 2
    assert _targets(store, "note:v/a.md") == {"note:v/c.md"}
    fresh_store = LadybugStore.open(tmp_path / "fresh" / "graph")
    fresh_store.migrate()
    fresh = Pipeline(fresh_store, tmp_path / "fresh" / "ingest.sqlite")
    fresh.ingest([("v", vault)])
    fresh.close()
    try:
        assert _graph_rows(store) == _graph_rows(fresh_store)
    finally:
        fresh_store.close()
        store.close()


def _is_dirty(state: Path) -> bool:
    try:
        with sqlite3.connect(str(state), timeout=0.1) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'dirty'").fetchone()
    except sqlite3.Error:
        return False
    return bool(row and row[0] == "1")


def test_a_changed_link_alias_updates_the_stored_edge(tmp_path: Path, db) -> None:
    store, pipeline = db
    root = tmp_path / "v2"
    _write(root, "a.md", "See [[b|first words]].\n")
    _write(root, "b.md", "# B\n")
    pipeline.ingest([("v", root)])

    def alias() -> str:
        return store.query("MATCH (a:Note {id: 'note:v/a.md'})-[e:LINKS_TO]->(b) RETURN e.alias").rows[0][0]

    assert alias() == "first words"
    _write(root, "a.md", "See [[b|second words]].\n")
    report = pipeline.ingest([("v", root)])
    assert alias() == "second words"
    assert report.written["edges_written"] >= 1


def _bad_files(root: Path) -> None:
    _write(root, "yaml.md", "---\ntags: [a, b\n---\n# Y\n")
    _write(root, "date.md", "---\ndue: 2024-02-30\n---\n# D\n")
    _write(root, "latin1.md", "# Caf\xe9\n".encode("latin-1"))
    _write(root, "binary.md", b"\x89PNG\r\n\x1a\n\x00\x00binary")
    _write(root, "broken.py", "def f(:\n    return 1\n")
    _write(root, "bundle.js", "var a=1;" * 400)
    _write(root, "huge.md", "x" * 5000)


def _problems(report) -> tuple[list[str], list[tuple[str, str]]]:
    return sorted(w for w in report.warnings), sorted(report.skipped)


def test_bad_files_are_reported_again_on_every_run_without_parsing(tmp_path: Path, db) -> None:
    store, pipeline = db
    root = tmp_path / "bad"
    _write(root, "ok.md", "# Ok\n")
    _bad_files(root)
    pipeline.options.max_file_bytes = 4000
    first = pipeline.ingest([("b", root)])
    warnings, skipped = _problems(first)
    assert [w.split(":")[0] for w in warnings] == ["b/broken.py", "b/date.md", "b/latin1.md", "b/yaml.md"]
    assert "b/date.md: broken YAML frontmatter: day is out of range for month" in warnings
    assert dict(skipped) == {"b/binary.md": "binary content", "b/bundle.js": "minified bundle",
                             "b/huge.md": "too large (5,000 bytes > 4,000)"}
    stages: list[str] = []
    pipeline.progress = lambda stage, done, total: stages.append(stage)
    second = pipeline.ingest([("b", root)])
    assert _problems(second) == (warnings, skipped)
    assert second.files == {"unchanged": 5}  # the 5 files taken, none parsed again
    assert set(stages) == {"scan b"} and not second.written  # nothing resolved or written


def test_warnings_are_dropped_when_the_file_is_fixed_or_removed(tmp_path: Path, db) -> None:
    store, pipeline = db
    root = tmp_path / "bad"
    _bad_files(root)
    pipeline.options.max_file_bytes = 4000
    pipeline.ingest([("b", root)])
    _write(root, "yaml.md", "---\ntags: [a, b]\n---\n# Y\n")
    _write(root, "date.md", "---\ndue: 2024-02-28\n---\n# D\n")
    _write(root, "binary.md", "# Not binary any more\n")
    _write(root, "broken.py", "def f():\n    return 1\n")
    (root / "latin1.md").unlink()
    (root / "bundle.js").unlink()
    (root / "huge.md").unlink()
    for _ in range(2):  # the run that sees the fix, and the one after
        report = pipeline.ingest([("b", root)])
        assert _problems(report) == ([], [])
    assert store.get_node("note:b/binary.md") is not None
    assert store.get_node("note:b/date.md").props["due"] == "2024-02-28"


def test_a_file_that_turns_bad_leaves_the_graph_or_keeps_its_previous_version(tmp_path: Path, db,
                                                                               monkeypatch) -> None:
    store, pipeline = db
    root = tmp_path / "r"
    _write(root, "a.md", "# A\n\nfirst version\n")
    _write(root, "b.md", "# B\n")
    _write(root, "c.md", "# C\n")
    pipeline.ingest([("r", root)])
    import ingest.obsidian

    parse_note = ingest.obsidian.parse_note

    def crash_on_c(root_name: str, path: str, text: str, **kwargs: object):
        if path == "c.md":
            raise RuntimeError("parser bug")
        return parse_note(root_name, path, text, **kwargs)

    monkeypatch.setattr(ingest.obsidian, "parse_note", crash_on_c)
    _write(root, "a.md", b"# A\x00 now binary")
    _write(root, "c.md", "# C\n\nsecond version\n")
    for _ in range(2):
        report = pipeline.ingest([("r", root)])
        assert dict(report.skipped) == {"r/a.md": "binary content"}
        assert report.files["failed"] == 1
        assert any(w.startswith("r/c.md: cannot parse (RuntimeError: parser bug)") for w in report.warnings)
    assert store.get_node("note:r/a.md") is None  # skipped: its old text is not served
    assert store.get_node("note:r/c.md") is not None  # failed: the previous version stays
    monkeypatch.setattr(ingest.obsidian, "parse_note", parse_note)
    _write(root, "c.md", "# C\n\nthird version\n")
    report = pipeline.ingest([("r", root)])
    assert report.files["failed"] == 0 and not report.warnings
    assert "third version" in store.get_node("heading:r/c.md#C").text


def test_warnings_survive_an_upgrade_of_the_state(tmp_path: Path, db) -> None:
    store, pipeline = db
    root = tmp_path / "v"
    _write(root, "yaml.md", "---\ntags: [a, b\n---\n# Y\n")
    pipeline.ingest([("v", root)])
    pipeline.close()
    with sqlite3.connect(str(tmp_path / "db" / "ingest.sqlite")) as conn:  # as before migration 1
        conn.execute("DROP TABLE file_warnings")
        conn.execute("DROP TABLE problems")
        conn.execute("PRAGMA user_version = 0")
    upgraded = Pipeline(store, tmp_path / "db" / "ingest.sqlite")
    try:
        report = upgraded.ingest([("v", root)])
    finally:
        upgraded.close()
    assert report.files == {"unchanged": 1}
    assert [w.split(": ")[0] for w in report.warnings] == ["v/yaml.md"]


def test_a_bad_ignore_file_or_file_name_does_not_stop_the_ingest(tmp_path: Path, db) -> None:
    store, pipeline = db
    root = tmp_path / "v"
    _write(root, ".gitignore", "!\n*.log\n")
    _write(root, "a.md", "# A\n")
    _write(root, "x.log", "log")
    (root / "b\udcff.md").write_text("# B\n", encoding="utf-8")
    report = pipeline.ingest([("v", root)])
    assert report.files == {"added": 1}
    assert report.warnings == ["v/.gitignore: line 1: '!' is not a valid pattern; the line is ignored"]
    skipped = dict(report.skipped)
    assert skipped["v/x.log"] == "ignored by .gitignore"
    assert skipped["v/b\\xff.md"] == "the name is not valid UTF-8 (rename it to ingest it)"


def test_a_new_parser_version_parses_unchanged_files_again(vault: Path, tmp_path: Path, monkeypatch) -> None:
    store = LadybugStore.open(tmp_path / "pv" / "graph")
    store.migrate()

    def run() -> dict[str, int]:
        pipeline = Pipeline(store, tmp_path / "pv" / "ingest.sqlite")
        try:
            return dict(pipeline.ingest([("v", vault)]).files)
        finally:
            pipeline.close()

    try:
        assert run()["added"] == 4
        assert run().get("changed", 0) == 0
        monkeypatch.setattr("ingest.pipeline.parser_version", lambda: "a-fixed-parser")
        files = run()
        assert files["changed"] == 4 and files.get("unchanged", 0) == 0
        assert run().get("changed", 0) == 0  # once per version
        assert store.get_node("note:v/a.md") is not None  # the graph is kept meanwhile
    finally:
        store.close()


def _graph_rows(store: LadybugStore) -> tuple[set, set]:
    nodes = {(n.id, n.kind.value, n.hash) for n in store.iter_nodes()}
    edges = {(e.key, e.ambiguous, e.resolved, e.how, e.subpath, e.confidence, str(sorted(e.props.items())))
             for e in store.iter_edges()}
    return nodes, edges


EDITS = [
    ("b.md", "# B\n\n## Part three\n\nThe heading a.md links to is gone.\n"),  # subpath now missing
    ("sub/b.md", "# Another b\n\nA namesake in a folder.\n"),  # [[b]] must still pick the shorter path
    ("missing note.md", "# Found\n\nThe unresolved link now resolves.\n"),
    ("d.md", "---\naliases: [Delta]\n---\n# D\n\nSee [[Delta]] and ![[pic.png]] and [up](sub/b.md).\n"),
    ("e.md", "# E\n\nLinks to [[Delta]] (an alias) and [[c]].\n"),
    ("pic.png", b"\x89PNG fake image bytes"),
    ("d.md", "---\naliases: [Echo]\n---\n# D\n\nThe alias changed: [[Delta]] no longer resolves.\n"),
    ("b.md", None),  # deleted: [[b]] now goes to sub/b.md
    ("missing note.md", None),
    ("docs/guide/intro.md", "# Intro\n\n[Up](..) and [here](sub/.)\n"),  # a folder's note, relative
    ("docs.md", "# Docs\n\nWhat `..` from docs/guide/ names.\n"),
    ("docs/guide/sub.md", "# Sub\n"),
    ("code/retry.py", "def retry_with_backoff(fn, tries=3):\n    return helper(fn)\n\n\ndef helper(fn):\n    return fn()\n"),
    ("c.md", "# C\n\nUse `retry_with_backoff`, which calls `helper`.\n"),  # mentions of a changed file
    ("code/retry.py", None),  # the mentions go
]


@pytest.mark.parametrize("one_process", [True, False], ids=["long-lived", "a-process-per-ingest"])
def test_an_ingest_resolves_only_what_changed_and_matches_a_full_ingest(vault: Path, tmp_path: Path,
                                                                         one_process: bool) -> None:
    """A server's pipeline keeps what it resolved in memory; a CLI process finds it in the
    ingest state. Either way an edit resolves only the notes it can reach."""
    live_store = LadybugStore.open(tmp_path / "live" / "graph")
    live_store.migrate()
    live = Pipeline(live_store, tmp_path / "live" / "ingest.sqlite")
    try:
        live.ingest([("v", vault)])
        for step, (rel, text) in enumerate(EDITS):
            if text is None:
                (vault / rel).unlink()
            else:
                _write(vault, rel, text)
            if not one_process:
                live.close()
                live = Pipeline(live_store, tmp_path / "live" / "ingest.sqlite")
            report = live.ingest([("v", vault)])
            notes = sum(1 for p in vault.rglob("*.md"))
            assert report.resolution["notes_resolved"] < notes, (step, "every note was resolved again")
            fresh_store = LadybugStore.open(tmp_path / f"fresh{step}" / "graph")
            fresh_store.migrate()
            fresh = Pipeline(fresh_store, tmp_path / f"fresh{step}" / "ingest.sqlite")
            try:
                full = fresh.ingest([("v", vault)])
                assert _graph_rows(live_store) == _graph_rows(fresh_store), (step, rel)
                assert dict(report.resolution) | {"notes_resolved": 0} == dict(full.resolution) | {"notes_resolved": 0}
            finally:
                fresh.close()
                fresh_store.close()
    finally:
        live.close()
        live_store.close()


def test_a_note_edit_reuses_the_code_resolution_and_a_code_edit_redoes_what_it_reaches(
        vault: Path, tmp_path: Path) -> None:
    store = LadybugStore.open(tmp_path / "live" / "graph")
    store.migrate()
    live = Pipeline(store, tmp_path / "live" / "ingest.sqlite")
    _write(vault, "code/app.ts", "import { x } from '@lib/x';\nexport function f() { return x(); }\n")
    _write(vault, "code/other.py", "def unrelated():\n    return 1\n")
    _write(vault, "code/user.py", "from retry import retry_with_backoff\n\n\ndef go():\n    retry_with_backoff(go)\n")
    _write(vault, ".kgignore", "*.json\n")  # ignored or not, a config file code resolution reads counts
    resolved = lambda: live._resolutions.resolved_files  # noqa: E731
    try:
        live.ingest([("v", vault)])
        assert resolved() == 4
        _write(vault, "a.md", "# A\n\nNow it names `retry_with_backoff`.\n")
        live.ingest([("v", vault)])
        assert resolved() == 0
        assert _targets(store, "heading:v/a.md#A", "MENTIONS") == {"def:v/code/retry.py::retry_with_backoff"}
        _write(vault, "tsconfig.json", '{"compilerOptions": {"paths": {"@lib/*": ["code/lib/*"]}}}')
        _write(vault, "b.md", "# B\n\nEdited with it.\n")  # an ingest runs (the ignored file alone starts none)
        live.ingest([("v", vault)])
        assert resolved() == 4  # a file resolution read has changed: all of it again
        _write(vault, "code/retry.py", "def retry_with_backoff(fn):\n    return fn()\n\n\ndef again():\n    pass\n")
        live.ingest([("v", vault)])
        assert resolved() == 2  # retry.py and user.py, which names what it defines
    finally:
        live.close()
        store.close()


CODE_FIXTURES = ROOT / "tests" / "fixtures" / "code"
_DEFINED = re.compile(r"\b(?:def|func|fn|function|class|struct|interface|void|int|public|static)\s+(?:\(\w+ \*?\w+\)\s+)?([A-Za-z_]\w*)\s*[(:<{]")


def test_code_edits_in_a_long_lived_pipeline_match_a_full_ingest(tmp_path: Path) -> None:
    """Renamed and added definitions, changed bases, deleted and copied files, in every
    language: the calls are resolved again only where a change reaches, and the graph is the
    one a fresh ingest makes."""
    import random

    tree = tmp_path / "code"
    shutil.copytree(CODE_FIXTURES, tree)
    rng = random.Random(7)
    store = LadybugStore.open(tmp_path / "live" / "graph")
    store.migrate()
    live = Pipeline(store, tmp_path / "live" / "ingest.sqlite")
    partial = 0
    try:
        live.ingest([("c", tree)])
        for step in range(14):
            files = sorted(p for p in tree.rglob("*") if p.is_file() and p.suffix not in (".mod", ".json"))
            path = rng.choice(files)
            text = path.read_text(encoding="utf-8")
            names = _DEFINED.findall(text)
            action = ("rename", "copy", "base", "delete")[step % 4]
            if action == "rename" and names:
                name = rng.choice(names)
                path.write_text(re.sub(rf"\b{name}\b", name + "Again", text, count=1), encoding="utf-8")
            elif action == "copy":
                path.with_name("copy_" + path.name).write_text(text, encoding="utf-8")
            elif action == "base":
                path.write_text(re.sub(r"class (\w+)\(", r"class \1(Base, ", text, count=1)
                                .replace("extends ", "extends Base", 1), encoding="utf-8")
            else:
                path.unlink()
            live.ingest([("c", tree)])
            partial += 0 < live._resolutions.resolved_files < len(files)
            fresh_store = LadybugStore.open(tmp_path / f"fresh{step}" / "graph")
            fresh_store.migrate()
            fresh = Pipeline(fresh_store, tmp_path / f"fresh{step}" / "ingest.sqlite")
            try:
                fresh.ingest([("c", tree)])
                assert _graph_rows(store) == _graph_rows(fresh_store), (step, action, path)
            finally:
                fresh.close()
                fresh_store.close()
        assert partial >= 5  # most edits resolved only the files they reach
    finally:
        live.close()
        store.close()

