"""Encoding on numpy gives sentence-transformers' own vectors, for each kind of model kg runs
(the general model, a BERT trained from scratch, a static model), and the encoder uses it for
small jobs without importing torch's stack."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from embed.encoder import SMALL_JOB_CHARS, SentenceTransformerEncoder, general_model_dir, load_encoder
from embed.numpy_model import BertModel, StaticModel, numpy_model

TEXTS = ["", "  ", "retry logic with exponential backoff", "  padded with spaces  ",
         "ünïcödé — emoji 🎉 and 中文", "def f(a, b):\n    return a + b\n" * 40, "word " * 400,
         "# Heading\n\nA paragraph with [[a link]] and `code`."]


def _reference(path: Path, texts: list[str]) -> np.ndarray:
    """What the encoder gives through sentence-transformers (a job too large for numpy)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    encoder = SentenceTransformerEncoder(path, device="cpu")
    encoder.model  # noqa: B018 (loaded: every job goes through it)
    return encoder.encode(texts)


def _scratch(tmp_path: Path, kind: str) -> Path:
    from embed.scratch import ModelSpec, build_model

    corpus = [t for t in TEXTS if t.strip()] * 5 + ["more words for the tokenizer to learn"] * 5
    model = build_model(ModelSpec(kind=kind, layers=2, hidden=64, dim=32, vocab_size=200), corpus, tmp_path / "work")
    model.save(str(tmp_path / kind))
    return tmp_path / kind


@pytest.mark.slow
def test_the_general_model_on_numpy_gives_its_own_vectors() -> None:
    model = numpy_model(general_model_dir(), 128)
    assert isinstance(model, BertModel)
    assert np.abs(model.encode(TEXTS) - _reference(general_model_dir(), TEXTS)).max() < 1e-5


@pytest.mark.parametrize("kind", ["scratch", "static"])
def test_models_kg_trains_run_on_numpy_with_the_same_vectors(tmp_path: Path, kind: str) -> None:
    path = _scratch(tmp_path, kind)
    model = numpy_model(path, 128)
    assert isinstance(model, BertModel if kind == "scratch" else StaticModel)
    assert np.abs(model.encode(TEXTS) - _reference(path, TEXTS)).max() < 1e-5


def test_a_model_numpy_does_not_run_goes_through_sentence_transformers(tmp_path: Path) -> None:
    import json
    import shutil

    path = _scratch(tmp_path, "scratch")
    modules = (path / "modules.json").read_text()
    (path / "modules.json").write_text(modules.replace("Pooling", "SomethingElse"))
    assert numpy_model(path, 128) is None
    (path / "modules.json").write_text("{broken")
    assert numpy_model(path, 128) is None
    (path / "modules.json").write_text(modules)
    (path / "tokenizer.json").rename(path / "tokenizer.json.away")
    assert numpy_model(path, 128) is None  # no fast tokenizer: not ours to read
    (path / "tokenizer.json.away").rename(path / "tokenizer.json")
    # Where sentence-transformers would encode otherwise than numpy: a default prompt, and a
    # tokenizer_config.json that contradicts tokenizer.json (transformers follows the config).
    other = tmp_path / "general"
    shutil.copytree(general_model_dir(), other)
    assert isinstance(numpy_model(other, 128), BertModel)
    config = json.loads((other / "tokenizer_config.json").read_text())
    (other / "tokenizer_config.json").write_text(json.dumps({**config, "do_lower_case": False}))
    assert numpy_model(other, 128) is None
    (other / "tokenizer_config.json").write_text(json.dumps(config))
    st = json.loads((other / "config_sentence_transformers.json").read_text())
    (other / "config_sentence_transformers.json").write_text(
        json.dumps({**st, "prompts": {"query": "query: "}, "default_prompt_name": "query"}))
    assert numpy_model(other, 128) is None


def test_a_small_job_loads_no_torch_model_and_a_large_one_does(tmp_path: Path) -> None:
    encoder = load_encoder(_scratch(tmp_path, "static"))
    assert isinstance(encoder, SentenceTransformerEncoder)
    small = encoder.encode(TEXTS[:3])
    assert encoder._model is None and small.shape == (3, encoder.dim) and encoder._model is None
    large = encoder.encode(TEXTS[:3] * (SMALL_JOB_CHARS // 20))
    assert encoder._model is not None and np.abs(large[:3] - small).max() < 1e-5
