"""The workspace as a server keeps it: one pipeline and one searcher across ingests, patched
by what each ingest changed, answering as a freshly built one would."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from app.workspace import Workspace
from kg.settings import Settings
from search.expand import LocalGraph
from search.index import SearchIndex
from tests.support.encoders import tiny_encoder

FIXTURE_VAULT = Path(__file__).parents[1] / "fixtures" / "vault"


def _adjacency(graph: LocalGraph) -> tuple[dict[str, list[Any]], dict[str, str], dict[str, set[str]]]:
    adj = {n: sorted((s.other, s.kind.value, s.out) for s in steps) for n, steps in graph.adj.items() if steps}
    return adj, dict(graph.parent), {n: set(t) for n, t in graph.tags.items() if t}


@pytest.fixture
def owner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    encoder = tiny_encoder()
    monkeypatch.setattr(Workspace, "encoder", lambda self: encoder)
    vault = tmp_path / "vault"
    shutil.copytree(FIXTURE_VAULT, vault)
    with Workspace(Settings(db=tmp_path / "db"), owner=True) as ws:
        ws.ingest([("vault", vault)])
        yield ws, vault


def test_edits_patch_the_searcher_and_it_matches_a_fresh_one(owner: Any) -> None:
    ws, vault = owner
    searcher = ws.searcher()
    searcher.search("backoff")
    (vault / "Quokka.md").write_text("# Quokka\n\nSee [[Retry and Backoff#Strategies]] and #animals/marsupial.\n",
                                     encoding="utf-8")
    home = vault / "Home.md"
    home.write_text(home.read_text(encoding="utf-8").replace("[[", "[[Quokka]] [[", 1), encoding="utf-8")
    (vault / "Glossary.md").unlink()
    report, synced = ws.ingest([("vault", vault)])
    assert report.resolution["notes_resolved"] < 10  # only what the edits can reach
    assert synced["unchanged"] > 0 and synced["added"] >= 1 and synced["removed"] >= 1
    assert ws.searcher() is searcher
    view = searcher.refresh()
    assert "note:vault/Quokka.md" in view.items and "note:vault/Glossary.md" not in view.items
    assert _adjacency(view.graph) == _adjacency(LocalGraph.build(ws.store(), view.items))
    assert view.items == ws.index().items()
    assert view.vectors is ws.index().vector_index()[0]  # shared with the index, not copied
    ids, matrix, _ = ws.index().vectors()
    on_disk = SearchIndex.open(ws.index().path).vectors()  # what another process reads
    assert dict(zip(ids, matrix.tolist())) == dict(zip(on_disk[0], on_disk[1].tolist()))
    assert searcher.search("quokka")[0].id.startswith(("note:vault/Quokka.md", "heading:vault/Quokka.md"))


def test_an_edit_rewrites_only_its_rows_and_search_sees_the_new_text(owner: Any) -> None:
    import numpy as np

    ws, vault = owner
    ws.searcher().search("backoff")
    before_ids, before, _ = ws.index().vectors()
    note = vault / "Glossary.md"
    note.write_text(note.read_text(encoding="utf-8") + "\nA wombat burrows here.\n", encoding="utf-8")
    ws.ingest([("vault", vault)])
    ids, after, _ = ws.index().vectors()
    assert ids == before_ids  # same nodes, same rows
    changed = {ids[r] for r in np.flatnonzero((before != after).any(axis=1))}
    assert changed and all(i.startswith(("note:vault/Glossary.md", "heading:vault/Glossary.md")) for i in changed)
    assert any("Glossary" in r.id for r in ws.searcher().search("wombat burrows"))


def test_searches_go_on_while_a_promotion_re_embeds_the_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    from search.index import SearchIndex
    from tests.web.graph_fixture import static_model, write_graph
    from web.services import workspace_searcher

    db = tmp_path / "db"
    write_graph(db)
    ws = Workspace(Settings(db=db), owner=True)
    try:
        ws.sync_index()  # with the general model
        before = [r.id for r in workspace_searcher(ws).search("retry", 3)]
        record = static_model(db, "tiny")
        embed = SearchIndex._embed

        def slow(self: Any, *args: Any, **kwargs: Any) -> Any:  # a re-embedding that takes a while
            time.sleep(1.5)
            return embed(self, *args, **kwargs)

        monkeypatch.setattr(SearchIndex, "_embed", slow)
        done: dict[str, Any] = {}
        promoting = threading.Thread(target=lambda: done.update(summary=ws.promote("tiny")[1]))
        promoting.start()
        answers, errors = 0, []
        time.sleep(0.2)
        while promoting.is_alive():
            try:
                searcher = workspace_searcher(ws)
                if searcher.encoder.path != record.path.resolve():  # not promoted yet: the current model
                    assert [r.id for r in searcher.search("retry", 3)] == before
                    answers += 1
            except Exception as exc:  # noqa: BLE001 - every failure is the finding
                errors.append(repr(exc))
            time.sleep(0.1)
        promoting.join()
        assert errors == [] and answers >= 3
        assert done["summary"]["embedded"] > 0 and ws.registry().promoted() == record.path
        assert workspace_searcher(ws).encoder.path == record.path.resolve()  # the next search uses it
        assert workspace_searcher(ws).search("retry", 3)
    finally:
        ws.close()


def test_a_searching_process_leaves_numpy_one_blas_thread() -> None:
    from threadpoolctl import threadpool_info

    from app.workspace import share_cores_with_torch

    share_cores_with_torch()  # what the composition root does when it builds a searcher
    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas and all(pool["num_threads"] == 1 for pool in blas)


def test_the_roots_are_read_while_an_ingest_holds_the_state_for_writing_and_the_watcher_outlives_errors(
        owner: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3
    import threading

    from app.watch import Watcher

    ws, vault = owner
    writer = sqlite3.connect(ws.layout.ingest_state, timeout=1)
    writer.execute("BEGIN IMMEDIATE")  # as a long ingest does
    writer.execute("UPDATE meta SET value = value WHERE key = 'parser_version'")
    try:
        assert ws.roots() == {"vault": vault.resolve()}  # no waiting on the writer, no error
    finally:
        writer.rollback()
        writer.close()
    calls = []

    def roots() -> dict[str, Path]:
        calls.append(1)
        if len(calls) == 1:
            raise sqlite3.OperationalError("database is locked")
        watcher._stop.set()
        return {}

    watcher = Watcher(ws)
    monkeypatch.setattr(ws, "roots", roots)
    monkeypatch.setattr("app.watch.ROOTS_CHECK_MS", 10)
    thread = threading.Thread(target=watcher._run)
    thread.start()
    thread.join(timeout=10)
    assert len(calls) == 2 and "database is locked" in (watcher.last_error or "")


def _edit(note: Path, words: str) -> None:
    note.write_text(note.read_text(encoding="utf-8") + f"\n{words} appear here.\n", encoding="utf-8")


def _found(ws: Workspace, word: str, path: str) -> bool:
    """Whether the index's full-text table holds ``word`` in a node of ``path`` (not whether
    some search would show it: the hashing encoder's vectors rank the note anyway)."""
    from search.tokenize import fts_query

    return any(path in node_id for node_id, _ in ws.index().bm25(fts_query([word]), 10))


def _as_fresh(ws: Workspace, encoder: Any, folder: Path) -> bool:
    """Whether the index holds what one built afresh from the store holds: the same items
    and the same vector for each."""
    fresh = SearchIndex.open(folder)
    fresh.sync(ws.store(), encoder)
    ids, matrix, _ = ws.index().vectors()
    fresh_ids, fresh_matrix, _ = fresh.vectors()
    vectors = dict(zip(ids, matrix.tolist()))
    fresh.close()
    return ws.index().items() == SearchIndex.open(folder).items() and \
        vectors == dict(zip(fresh_ids, fresh_matrix.tolist()))


@pytest.fixture
def ingested(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Settings, Path, Any]:
    """A vault ingested by one short-lived workspace (a CLI process's): its settings, the vault
    and the encoder every workspace of the test uses."""
    encoder = tiny_encoder()
    monkeypatch.setattr(Workspace, "encoder", lambda self: encoder)
    vault = tmp_path / "vault"
    shutil.copytree(FIXTURE_VAULT, vault)
    settings = Settings(db=tmp_path / "db")
    with Workspace(settings) as ws:
        ws.ingest([("vault", vault)])
    return settings, vault, encoder


def test_a_later_process_syncs_only_what_an_ingest_touched_unless_the_index_lags(
        ingested: tuple[Settings, Path, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings, vault, encoder = ingested
    _edit(vault / "Glossary.md", "Wombats")
    with Workspace(settings) as ws:
        store = ws.store(write=True)
        read_all = []
        every_node = store.iter_nodes
        monkeypatch.setattr(store, "iter_nodes", lambda *a, **k: read_all.append(1) or every_node(*a, **k))
        ws.ingest([("vault", vault)])
        assert not read_all  # the index matched the graph before: only the touched nodes were read
        assert _found(ws, "wombats", "Glossary.md")
    # An ingest that leaves the index behind, then one that does not: the second reads every
    # node, so the first one's edit is searchable too.
    _edit(vault / "Glossary.md", "Numbats")
    with Workspace(settings) as ws:
        ws.ingest([("vault", vault)], index=False)
    _edit(vault / "Home.md", "Quolls")
    with Workspace(settings) as ws:
        ws.ingest([("vault", vault)])
        assert _found(ws, "numbats", "Glossary.md") and _found(ws, "quolls", "Home.md")
        assert _as_fresh(ws, encoder, tmp_path / "fresh")


def test_a_sync_that_dies_half_way_leaves_the_next_one_reading_every_node(
        ingested: tuple[Settings, Path, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings, vault, encoder = ingested
    _edit(vault / "Glossary.md", "Bilbies")
    with Workspace(settings) as ws, monkeypatch.context() as broken:
        broken.setattr(encoder, "encode", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("killed")))
        with pytest.raises(RuntimeError, match="killed"):
            ws.ingest([("vault", vault)])
    _edit(vault / "Home.md", "Potoroos")
    with Workspace(settings) as ws:
        ws.ingest([("vault", vault)])
        assert _found(ws, "bilbies", "Glossary.md") and _found(ws, "potoroos", "Home.md")
        assert _as_fresh(ws, encoder, tmp_path / "fresh")  # the died sync's vectors were made too
