"""The search index: incremental sync, the embedding cache, BM25 over code-aware tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kg.errors import SearchError
from kg.model import NodeKind, def_id, note_id
from kg.store.ladybug import LadybugStore
from search.index import SearchIndex
from search.units import embed_text
from search.tokenize import fts_query, query_terms
from tests.search.conftest import sample_nodes
from tests.support.encoders import HashingEncoder, tiny_encoder

SEARCHABLE = 11  # sample_nodes() minus the tag


def test_first_sync_embeds_every_searchable_node(tmp_path: Path, store: LadybugStore,
                                                  encoder: HashingEncoder) -> None:
    index = SearchIndex.open(tmp_path / "search")
    report = index.sync(store, encoder)
    assert (report.added, report.embedded, len(index)) == (SEARCHABLE, SEARCHABLE, SEARCHABLE)
    ids, matrix, key = index.vectors()
    assert matrix.shape == (SEARCHABLE, encoder.dim) and key == "tiny-hashing@1"
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0)
    assert not any(i.startswith("tag:") for i in ids)


def test_resync_embeds_only_what_changed(index: SearchIndex, store: LadybugStore,
                                         encoder: HashingEncoder) -> None:
    encoder.calls = encoder.texts_encoded = 0
    assert index.sync(store, encoder).embedded == 0 and encoder.texts_encoded == 0
    jitter = next(n for n in sample_nodes() if n.id == note_id("vault", "Jitter.md"))
    jitter.text = "Jitter\nAdd random noise to retry delays."
    jitter.hash = ""
    jitter.__post_init__()  # a new text is a new hash
    store.upsert_nodes([jitter])
    store.delete_nodes([(note_id("vault", "Cooking.md"), NodeKind.NOTE)])
    encoder.seen.clear()
    report = index.sync(store, encoder)
    assert (report.changed, report.removed, report.embedded) == (1, 1, 1)
    assert encoder.seen == [embed_text(jitter)]
    ids, matrix, _ = index.vectors()
    assert note_id("vault", "Cooking.md") not in ids and len(ids) == matrix.shape[0] == SEARCHABLE - 1
    row = ids.index(jitter.id)
    assert np.allclose(matrix[row], encoder.encode([embed_text(jitter)])[0])


def test_switching_encoders_embeds_once_and_switching_back_is_free(
        index: SearchIndex, store: LadybugStore, encoder: HashingEncoder) -> None:
    other = tiny_encoder(32, name="other", version="2")
    first = index.sync(store, other)
    assert first.embedded == SEARCHABLE and index.vectors()[1].shape[1] == 32
    assert index.sync(store, other).embedded == 0
    back = tiny_encoder()
    report = index.sync(store, back)
    assert (report.embedded, report.from_cache, back.texts_encoded) == (0, SEARCHABLE, 0)
    assert index.vectors()[2] == "tiny-hashing@1"


def test_lost_vector_files_are_rebuilt_from_the_cache(index: SearchIndex, store: LadybugStore) -> None:
    (matrix_file,) = index.path.glob("vectors*.npy")
    matrix_file.unlink()
    again = SearchIndex.open(index.path)  # as the next process finds it
    with pytest.raises(SearchError, match="missing"):
        again.vectors()
    fresh = tiny_encoder()
    report = again.sync(store, fresh)
    assert report.from_cache == SEARCHABLE and fresh.texts_encoded == 0
    assert again.vectors()[1].shape[0] == SEARCHABLE
    assert SearchIndex.open(index.path).vectors()[0] == again.vectors()[0]


def test_an_edit_writes_its_rows_in_place_and_another_process_sees_them(
        index: SearchIndex, store: LadybugStore, encoder: HashingEncoder) -> None:
    (file,) = index.path.glob("vectors*.npy")
    before = file.stat().st_ino
    reader = SearchIndex.open(index.path)  # another process, searching
    old_ids, old_matrix, _ = reader.vectors()
    jitter = next(n for n in sample_nodes() if n.id == note_id("vault", "Jitter.md"))
    jitter.text, jitter.hash = "Jitter\nAdd random noise to retry delays.", ""
    jitter.__post_init__()
    store.upsert_nodes([jitter])
    report = index.sync(store, encoder, only=[jitter.id])
    assert (report.changed, report.embedded, report.kept) == (1, 1, SEARCHABLE - 1)
    assert file.stat().st_ino == before  # the matrix file was written in place, not replaced
    ids, matrix, _ = reader.vectors()  # the reader notices the new generation and reads again
    assert ids == old_ids
    changed = [ids[r] for r in np.flatnonzero((matrix != old_matrix).any(axis=1))]
    assert changed == [jitter.id]
    assert np.allclose(matrix[ids.index(jitter.id)], encoder.encode([embed_text(jitter)])[0])


def _vectors_by_id(index: SearchIndex) -> dict[str, list[float]]:
    ids, matrix, _ = index.vectors()
    return dict(zip(ids, np.round(matrix, 6).tolist()))


@pytest.mark.parametrize("added", [1, 300])  # within the spare rows, and past them
def test_a_process_that_has_not_read_the_index_syncs_an_ingest_without_reading_it(
        index: SearchIndex, store: LadybugStore, encoder: HashingEncoder, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, added: int) -> None:
    from search.vector_files import StoredVectors

    (file,) = index.path.glob("vectors*.npy")
    jitter = next(n for n in sample_nodes() if n.id == note_id("vault", "Jitter.md"))
    jitter.text, jitter.hash = "Jitter\nAdd random noise to retry delays.", ""
    jitter.__post_init__()
    new = []
    for k in range(added):
        note = next(n for n in sample_nodes() if n.id == note_id("vault", "Cooking.md"))
        note.id, note.path, note.text, note.hash = note_id("vault", f"New {k}.md"), f"New {k}.md", f"New note {k}", ""
        note.__post_init__()
        new.append(note)
    store.upsert_nodes([jitter, *new])
    cooking = note_id("vault", "Cooking.md")
    store.delete_nodes([(cooking, NodeKind.NOTE)])
    loads = []
    every = StoredVectors.load
    monkeypatch.setattr(StoredVectors, "load", classmethod(lambda cls, *a: loads.append(1) or every(*a)))
    later = SearchIndex.open(index.path)  # another process: a CLI ingest
    report = later.sync(store, encoder, only=[jitter.id, cooking, *(n.id for n in new)])
    assert (report.changed, report.added, report.removed, report.embedded) == (1, added, 1, 1 + added)
    assert (not loads and file.exists()) if added == 1 else (loads and not file.exists())  # in place / grown
    fresh = SearchIndex.open(tmp_path / "fresh")
    fresh.sync(store, encoder)
    assert _vectors_by_id(SearchIndex.open(index.path)) == _vectors_by_id(fresh)
    assert later.items() == fresh.items()


def test_sync_changes_the_generation_only_when_something_changed(
        index: SearchIndex, store: LadybugStore, encoder: HashingEncoder) -> None:
    before = index.generation
    index.sync(store, encoder)
    assert index.generation == before
    store.delete_nodes([(note_id("vault", "Jitter.md"), NodeKind.NOTE)])
    index.sync(store, encoder, progress=True)
    assert index.generation == before + 1


def test_bm25_meets_identifiers_from_plain_words(index: SearchIndex) -> None:
    getter = def_id("app", "utils/users.py", "UserStore.getUserName")
    for query in ("user name", "get_user_name", "getUserName"):
        hits = index.bm25(fts_query(query_terms(query)), 5)
        assert hits[0][0] == getter, query


def test_bm25_filters_by_kind_and_root(index: SearchIndex) -> None:
    everything = index.bm25(fts_query(["jitter"]), 10)
    notes = index.bm25(fts_query(["jitter"]), 10, kinds=["Note"])
    assert len(notes) < len(everything) and notes[0][0] == note_id("vault", "Jitter.md")
    assert all(h[0].startswith("note:") for h in notes)
    assert index.bm25(fts_query(["jitter"]), 10, roots=["nowhere"]) == []


def test_an_index_of_the_first_layout_is_read_and_converted_on_the_next_sync(
        index: SearchIndex, store: LadybugStore, encoder: HashingEncoder) -> None:
    import json
    import sqlite3

    ids, matrix, key = index.vectors()
    hashes = dict(sqlite3.connect(index.path / "index.sqlite").execute("SELECT id, text_hash FROM items"))
    np.save(index.path / "vectors.npy", matrix[::-1])  # the first layout: one row per id, a JSON row map
    (index.path / "vectors.json").write_text(json.dumps({"encoder": key, "ids": ids[::-1],
                                                          "text_hashes": [hashes[i] for i in ids[::-1]]}))
    with sqlite3.connect(index.path / "index.sqlite") as conn:
        conn.execute("DELETE FROM vectors")
    old = SearchIndex.open(index.path)
    again_ids, again, again_key = old.vectors()
    assert again_key == key and dict(zip(again_ids, again.tolist())) == dict(zip(ids, matrix.tolist()))
    assert old.sync(store, encoder).embedded == 0
    assert not (index.path / "vectors.json").exists() and not (index.path / "vectors.npy").exists()
    assert dict(zip(*SearchIndex.open(index.path).vectors()[:2])).keys() == set(ids)


def test_a_reader_that_loses_the_race_with_a_whole_rewrite_reads_again(
        index: SearchIndex, store: LadybugStore, encoder: HashingEncoder, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process rewrites the matrix into a new file between the reader's row map and its
    load of the file: the reader finds the old file gone and reads the new map and file."""
    ids, matrix, _ = index.vectors()
    writer = SearchIndex.open(index.path)
    real_load = np.load
    raced = []

    def load(path: Any, *args: Any, **kwargs: Any) -> Any:
        if not raced:  # the reader has its (old) row map; now the writer replaces the file
            raced.append(1)
            writer.sync(store, tiny_encoder(48, name="other", version="1"))  # another encoder: a new file
            writer.sync(store, encoder)  # and back: the old file is gone
        return real_load(path, *args, **kwargs)

    reader = SearchIndex.open(index.path)
    monkeypatch.setattr(np, "load", load)
    got_ids, got, _ = reader.vectors()
    assert raced and dict(zip(got_ids, got.tolist())) == dict(zip(ids, matrix.tolist()))
