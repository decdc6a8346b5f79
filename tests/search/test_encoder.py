"""Loading encoders: the general model from its package, any sentence-transformers directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from embed.encoder import Encoder, SentenceTransformerEncoder, general_model_dir, load_encoder, model_version
from kg.errors import ModelError
from tests.support.encoders import tiny_encoder


@pytest.fixture(scope="session")
def minilm() -> Iterator[SentenceTransformerEncoder]:
    """all-MiniLM-L6-v2, loaded once per session, on one torch thread."""
    import torch

    os.environ["HF_HUB_OFFLINE"] = "1"
    torch.set_num_threads(1)
    encoder = load_encoder(None, device="cpu")
    assert isinstance(encoder, SentenceTransformerEncoder)
    yield encoder


@pytest.mark.slow
def test_general_model_loads_offline_with_a_stable_version(minilm: SentenceTransformerEncoder) -> None:
    assert isinstance(minilm, Encoder)
    assert (minilm.name, minilm.dim) == ("all-MiniLM-L6-v2", 384)
    assert minilm.version == model_version(general_model_dir()) + ".t128"
    assert minilm.model.max_seq_length == 128


@pytest.mark.slow
def test_vectors_are_unit_length_and_meaningful(minilm: SentenceTransformerEncoder) -> None:
    vectors = minilm.encode(["retry a failed request with exponential backoff",
                             "back off and try the call again later", "pancake recipe with flour"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    assert minilm.encode([]).shape == (0, 384)


def test_a_missing_model_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=str(tmp_path / "nope")):
        load_encoder(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="not a sentence-transformers model directory"):
        load_encoder(tmp_path / "empty")


def test_tiny_encoder_is_deterministic_and_counts_calls() -> None:
    a, b = tiny_encoder(), tiny_encoder()
    va, vb = a.encode(["getUserName", "user name"]), b.encode(["getUserName", "user name"])
    assert np.array_equal(va, vb) and a.calls == 1 and a.texts_encoded == 2
    assert float(va[0] @ va[1]) > 0.5
    assert isinstance(a, Encoder)


def test_a_trained_static_model_loads_as_a_search_encoder(tmp_path) -> None:
    from embed.scratch import build_static, train_tokenizer

    tokenizer = train_tokenizer(["retry with backoff", "graph vector note"] * 40, vocab_size=120, min_frequency=1)
    build_static(tokenizer, dim=16).save(str(tmp_path / "static"))
    encoder = load_encoder(tmp_path / "static")
    vectors = encoder.encode(["retry backoff", "vector note"])
    assert encoder.dim == 16 and vectors.shape == (2, 16)
    assert abs(float((vectors[0] ** 2).sum()) - 1.0) < 1e-4


def test_the_general_model_loads_by_its_name_as_the_readme_writes_it(minilm: SentenceTransformerEncoder) -> None:
    from embed.encoder import load_encoder

    by_name = load_encoder("all-MiniLM-L6-v2")
    assert by_name.name == minilm.name and by_name.version == minilm.version


def test_an_encoder_knows_its_cache_key_before_loading_and_loads_once(tmp_path) -> None:
    from embed.scratch import build_static, train_tokenizer

    tokenizer = train_tokenizer(["retry with backoff", "graph vector note"] * 40, vocab_size=120, min_frequency=1)
    build_static(tokenizer, dim=16).save(str(tmp_path / "static"))
    encoder = load_encoder(tmp_path / "static")
    assert isinstance(encoder, SentenceTransformerEncoder)
    assert encoder._model is None and "not loaded" in repr(encoder)  # the key needs no model
    assert encoder.version == model_version(tmp_path / "static") + ".t128"
    first = encoder.model
    encoder.encode(["retry"])
    assert encoder.model is first and encoder.dim == 16


def test_a_model_version_is_remembered_while_its_files_stay(tmp_path) -> None:
    import json

    from embed.scratch import build_static, train_tokenizer

    tokenizer = train_tokenizer(["retry with backoff", "graph vector note"] * 40, vocab_size=120, min_frequency=1)
    model = tmp_path / "static"
    build_static(tokenizer, dim=16).save(str(model))
    cache = tmp_path / "db" / "model_versions.json"
    version = model_version(model, cache)
    assert version == model_version(model)  # the cache changes nothing about the version
    data = json.loads(cache.read_text())
    data[f"sha1:{model}"]["version"] = "remembered"
    cache.write_text(json.dumps(data))
    assert model_version(model, cache) == "remembered"  # the weights were not read again
    changed = model / "modules.json"
    changed.write_text(changed.read_text() + "\n")  # a file changed: hashed again
    assert model_version(model, cache) == model_version(model) != version
    cache.write_text("{not json")  # a broken cache is only slower
    assert model_version(model, cache) == model_version(model)


def test_a_sync_that_only_deletes_never_loads_the_model(tmp_path) -> None:
    from embed.scratch import build_static, train_tokenizer
    from kg.model import Node, NodeKind
    from kg.store.ladybug import LadybugStore
    from search.index import SearchIndex

    tokenizer = train_tokenizer(["retry with backoff", "graph vector note"] * 40, vocab_size=120, min_frequency=1)
    build_static(tokenizer, dim=16).save(str(tmp_path / "static"))
    store = LadybugStore.open(tmp_path / "graph")
    store.migrate()
    notes = [Node(id=f"note:v/{i}.md", kind=NodeKind.NOTE, name=f"{i}", root="v", path=f"{i}.md",
                  text=f"retry note {i}") for i in range(3)]
    store.upsert_nodes(notes)
    index = SearchIndex.open(tmp_path / "search")
    index.sync(store, load_encoder(tmp_path / "static"))
    store.delete_nodes([(notes[0].id, NodeKind.NOTE)])
    fresh = load_encoder(tmp_path / "static")
    report = index.sync(store, fresh)
    assert (report.removed, report.embedded) == (1, 0)
    assert fresh._model is None  # everything it needed was cached: torch was never asked
    store.close()
    index.close()
