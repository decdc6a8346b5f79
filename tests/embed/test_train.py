"""Training for real, but tiny: the loss falls and held-out metrics move."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from embed.evaluate import ModelEncoder, evaluate
from embed.scratch import ModelSpec, build_bert, build_model, build_static, train_tokenizer
from embed.train import TrainConfig, batches, train
from embed.triplets import Triplet, mine_from_graph
from kg.errors import ConfigError
from tests.embed.graphs import build_graph


@pytest.fixture(scope="module")
def data() -> tuple[list[Triplet], list[Triplet]]:
    nodes, edges = build_graph(notes_per_topic=10)
    triplets = mine_from_graph(nodes, edges, negatives=2)
    return [t for t in triplets if t.split == "train"], [t for t in triplets if t.split != "train"]


@pytest.fixture(scope="module")
def tokenizer(data):
    training, _ = data
    return train_tokenizer([x for t in training for x in (t.anchor, t.positive)], vocab_size=400)


def _mean(values: list[dict[str, float]]) -> float:
    return sum(v["loss"] for v in values) / len(values)


def test_batches_never_repeat_a_text(data) -> None:
    training, _ = data
    seen = 0
    for batch in batches(training, 16, random.Random(0)):
        texts = [x for t in batch for x in (t.anchor, t.positive, t.negative)]
        assert len(texts) == len(set(texts))
        assert 2 <= len(batch) <= 16
        seen += len(batch)
    assert seen > 0.9 * len(training)


def test_static_model_learns_from_scratch(data, tokenizer) -> None:
    training, held = data
    model = build_static(tokenizer, dim=32)
    before = evaluate(ModelEncoder(model), held)
    result = train(model, training, TrainConfig(batch_size=16, epochs=3, lr=0.05))
    after = evaluate(ModelEncoder(model), held)
    assert _mean(result.curve[-10:]) < 0.5 * _mean(result.curve[:5])
    assert after["triplet_accuracy"] > before["triplet_accuracy"] + 0.15
    assert after["mrr@10"] > before["mrr@10"]
    assert result.examples > len(training) * 2 and result.triplets_per_s > 0


def test_tiny_bert_learns_from_scratch(data, tokenizer, tmp_path: Path) -> None:
    training, held = data
    model = build_bert(tokenizer, tmp_path / "init", layers=1, hidden=32, max_seq_length=64)
    before = evaluate(ModelEncoder(model), held)
    result = train(model, training, TrainConfig(batch_size=16, max_steps=60, lr=1e-3),
                   )
    after = evaluate(ModelEncoder(model), held)
    assert _mean(result.curve[-10:]) < 0.6 * _mean(result.curve[:5])
    assert after["triplet_accuracy"] > before["triplet_accuracy"]
    assert result.steps == 60


def test_training_is_reproducible_and_checkpoints(data, tokenizer, tmp_path: Path) -> None:
    training, _ = data
    curves = []
    for run in range(2):
        model = build_static(tokenizer, dim=16, seed=3)
        config = TrainConfig(batch_size=8, max_steps=7, lr=0.05, seed=3, checkpoint_dir=tmp_path / f"ck{run}",
                             checkpoint_every=3, keep_checkpoints=2)
        curves.append([c["loss"] for c in train(model, training, config).curve])
    assert curves[0] == curves[1]
    assert sorted(p.name for p in (tmp_path / "ck0").iterdir()) == ["step-0000006", "step-0000007"]


def test_triplet_loss_trains(data, tokenizer) -> None:
    training, held = data
    model = build_static(tokenizer, dim=32)
    result = train(model, training, TrainConfig(loss="triplet", batch_size=16, epochs=2, lr=0.05))
    assert _mean(result.curve[-10:]) < _mean(result.curve[:5])
    assert evaluate(ModelEncoder(model), held)["triplet_accuracy"] > 0.6


def test_build_model_by_spec(data, tmp_path: Path) -> None:
    training, _ = data
    texts = [t.anchor for t in training]
    static = build_model(ModelSpec(kind="static", dim=8, vocab_size=200), texts, tmp_path)
    assert static.encode(["retry backoff"]).shape == (1, 8)
    with pytest.raises(ConfigError):
        build_model(ModelSpec(kind="bert"), texts, tmp_path)


def test_bad_training_input_is_a_config_error(data, tokenizer) -> None:
    training, _ = data
    model = build_static(tokenizer, dim=8)
    with pytest.raises(ConfigError, match="--loss"):
        train(model, training, TrainConfig(loss="cosine", max_steps=1))
    with pytest.raises(ConfigError, match="at least 2"):
        train(model, training[:1], TrainConfig(max_steps=1))
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="cuda"):
            train(model, training, TrainConfig(device="cuda", max_steps=1))


@pytest.fixture(scope="session")
def general_model():
    from embed.scratch import load_base

    return load_base()


def test_fine_tuning_the_general_model_takes_a_step(data, general_model) -> None:
    training, _ = data
    before = general_model.encode(["retry backoff jitter"])
    result = train(general_model, training[:4], TrainConfig(batch_size=2, max_steps=2, lr=1e-4))
    assert result.steps == 2 and all(c["loss"] == c["loss"] for c in result.curve)  # finite
    assert not (general_model.encode(["retry backoff jitter"]) == before).all()


def test_a_time_budget_cuts_the_steps_to_what_fits(data, tokenizer) -> None:
    training, _ = data
    model = build_static(tokenizer, dim=32)
    config = TrainConfig(batch_size=16, epochs=50, lr=0.05, max_seconds=1e-6)
    result = train(model, training, config)
    assert result.steps == 4  # the first step and the three that timed the speed, not 50 epochs' worth


def test_a_time_budget_is_fitted_again_once_warm_up_is_over(data, tokenizer) -> None:
    import time

    training, _ = data
    model = build_static(tokenizer, dim=32)
    config = TrainConfig(batch_size=16, epochs=200, lr=0.05, max_seconds=3.0)

    def warming_up(step: int, loss: float) -> None:  # the first timed steps are slow, as on a GPU
        if 2 <= step <= 4:
            time.sleep(0.2)

    result = train(model, training, config, on_step=warming_up)
    # At the warm-up's speed 16 steps would fit; timed again at steps 13 and 49, many more do.
    assert result.steps > 16


def test_a_time_budget_stops_training_when_steps_slow_down_after_the_last_fit(data, tokenizer) -> None:
    import time

    training, _ = data
    model = build_static(tokenizer, dim=32)
    config = TrainConfig(batch_size=16, epochs=200, lr=0.05, max_seconds=1.0)

    def slowing_down(step: int, loss: float) -> None:  # fast while the speed is timed, slow afterwards
        if step > 13:
            time.sleep(0.1)

    result = train(model, training, config, on_step=slowing_down)
    # Fitted at step 13 to the fast speed, the plan holds far more steps than a second allows;
    # the next fit (step 49) would come after 3.6 s. Training stops within a step of the budget.
    assert result.seconds < 1.5 and 13 < result.steps < 49
