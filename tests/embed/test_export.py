"""Exported triplets load with `datasets` and train with sentence-transformers as they are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from embed.export import COLUMNS, export_triplets, read_triplets
from embed.triplets import Triplet, mine_from_graph
from kg.errors import ConfigError
from tests.embed.graphs import build_graph


@pytest.fixture(scope="module")
def triplets() -> list[Triplet]:
    nodes, edges = build_graph(notes_per_topic=4)
    return mine_from_graph(nodes, edges)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_round_trip_keeps_columns_in_order(triplets, tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"t.{fmt}"
    assert export_triplets(triplets, path) == len(triplets)
    assert read_triplets(path) == triplets
    datasets = pytest.importorskip("datasets")
    loaded = datasets.load_dataset("json" if fmt == "jsonl" else fmt, data_files=str(path), split="train")
    assert loaded.column_names == list(COLUMNS)
    assert loaded[0]["anchor"] == triplets[0].anchor


def test_text_only_and_unknown_format(triplets, tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    export_triplets(triplets[:3], path, text_only=True)
    assert list(json.loads(path.read_text().splitlines()[0])) == ["anchor", "positive", "negative"]
    with pytest.raises(ConfigError, match="--text-only"):
        read_triplets(path)
    with pytest.raises(ConfigError, match="--format"):
        export_triplets(triplets, tmp_path / "t.xml", format="xml")


def _trainer_step(data_files: Path, fmt: str, tmp_path: Path, select: bool) -> float:
    datasets = pytest.importorskip("datasets")
    pytest.importorskip("accelerate")
    from sentence_transformers import (
        SentenceTransformerTrainer, SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.base.sampler import BatchSamplers
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from embed.scratch import build_static, train_tokenizer

    dataset = datasets.load_dataset(fmt, data_files=str(data_files), split="train")
    if select:
        dataset = dataset.select_columns(["anchor", "positive", "negative"])
    model = build_static(train_tokenizer([*dataset["anchor"], *dataset["positive"]], vocab_size=300), dim=16)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path / "out"), max_steps=1, per_device_train_batch_size=4,
        batch_sampler=BatchSamplers.NO_DUPLICATES, report_to="none", save_strategy="no",
        use_cpu=True, disable_tqdm=True, logging_steps=1, learning_rate=0.05)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset,
                                         loss=MultipleNegativesRankingLoss(model))
    output = trainer.train()
    return float(output.training_loss)


def test_a_text_only_export_trains_with_sentence_transformers_unchanged(triplets, tmp_path: Path) -> None:
    path = tmp_path / "train.parquet"
    export_triplets([t for t in triplets if t.split == "train"], path, text_only=True)
    assert _trainer_step(path, "parquet", tmp_path, select=False) > 0


def test_a_full_export_trains_after_selecting_the_text_columns(triplets, tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    export_triplets([t for t in triplets if t.split == "train"], path)
    assert _trainer_step(path, "json", tmp_path, select=True) > 0
