"""Train a sentence-transformers model on mined triplets with a small torch loop.

The loop needs neither ``datasets`` nor ``accelerate`` (a GPU machine may lack them): it
batches triplets itself, with no text twice in a batch (the in-batch negatives of
MultipleNegativesRankingLoss would otherwise include the positive), runs the model's
forward pass, and computes the loss with sentence-transformers' own loss modules.

Reproducible for a seed on a given device: the batch order and the initial weights
depend only on it. On CUDA it uses bf16 autocast where the card supports it.
"""

from __future__ import annotations

import logging
import random
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from embed.triplets import Triplet
from kg.errors import ConfigError

log = logging.getLogger(__name__)

LOSSES = ("mnrl", "triplet")


@dataclass
class TrainConfig:
    """How to train. ``max_steps`` (when set) wins over ``epochs``."""

    loss: str = "mnrl"
    batch_size: int = 32
    epochs: int = 1
    max_steps: int | None = None
    max_seconds: float | None = None  # a time budget: the step count is cut to fit it after the first steps
    lr: float = 5e-5
    warmup: float = 0.1
    weight_decay: float = 0.01
    seed: int = 0
    device: str = ""
    bf16: bool | None = None  # None: on when the device is CUDA and supports it
    triplet_margin: float = 0.5
    checkpoint_dir: Path | None = None
    checkpoint_every: int = 0  # steps; 0: only at the end
    keep_checkpoints: int = 2

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["checkpoint_dir"] = str(self.checkpoint_dir) if self.checkpoint_dir else None
        return data


@dataclass
class TrainResult:
    """What a run did: the loss per step, and how fast."""

    curve: list[dict[str, float]] = field(default_factory=list)
    steps: int = 0
    examples: int = 0
    seconds: float = 0.0
    device: str = "cpu"
    bf16: bool = False

    @property
    def triplets_per_s(self) -> float:
        return self.examples / self.seconds if self.seconds else 0.0


def pick_device(requested: str = "") -> str:
    """``requested`` if given, else ``cuda`` when a GPU is visible, else ``cpu``.

    Raises:
        ConfigError: CUDA was asked for but is not available.
    """
    if requested:
        if requested.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError("--device cuda: no CUDA device is visible (use --device cpu)")
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def batches(triplets: Sequence[Triplet], batch_size: int, rng: random.Random) -> Iterator[list[Triplet]]:
    """Shuffled batches in which no text appears twice (like BatchSamplers.NO_DUPLICATES).

    A triplet that clashes with the batch being filled waits for a later one; the last,
    smaller batch is kept when it has at least two triplets.
    """
    order = list(range(len(triplets)))
    rng.shuffle(order)
    remaining = dict.fromkeys(order)
    while remaining:
        texts: set[str] = set()
        batch: list[int] = []
        for i in remaining:
            t = triplets[i]
            row = {t.anchor, t.positive, t.negative}
            if len(row) < 3 or texts & row:
                continue
            texts |= row
            batch.append(i)
            if len(batch) == batch_size:
                break
        if not batch:
            return  # only triplets with repeated texts are left
        for i in batch:
            del remaining[i]
        if len(batch) == batch_size or len(batch) >= 2:
            yield [triplets[i] for i in batch]


def make_loss(model: Any, config: TrainConfig) -> torch.nn.Module:
    """The sentence-transformers loss module named by ``config.loss``.

    Raises:
        ConfigError: an unknown loss name.
    """
    from sentence_transformers.sentence_transformer import losses

    if config.loss == "mnrl":
        return losses.MultipleNegativesRankingLoss(model)
    if config.loss == "triplet":
        return losses.TripletLoss(model, distance_metric=losses.TripletDistanceMetric.COSINE,
                                  triplet_margin=config.triplet_margin)
    raise ConfigError(f"--loss must be one of {', '.join(LOSSES)}, not {config.loss!r}")


def train(model: Any, triplets: Sequence[Triplet], config: TrainConfig, *, progress: bool = False,
          on_step: Callable[[int, float], None] | None = None) -> TrainResult:
    """Train ``model`` (a SentenceTransformer) in place on ``triplets``.

    Args:
        model: The model; it is moved to the configured device.
        triplets: Training triplets (only ``split == "train"`` ones should be passed).
        config: Loss, batch size, steps, learning rate, seed, device, checkpoints.
        progress: Show a progress bar on stderr.
        on_step: Called as ``on_step(step, loss)`` after each optimiser step.

    Returns:
        The loss curve, steps, examples seen and wall time.

    Raises:
        ConfigError: no triplets, or a bad loss name or device.
    """
    if len(triplets) < 2:
        raise ConfigError(f"need at least 2 training triplets, got {len(triplets)} "
                          "(ingest more notes or code, or lower --negatives' split fractions)")
    seed_everything(config.seed)
    device = pick_device(config.device)
    use_bf16 = _bf16(config, device)
    model.to(device)
    model.train()
    loss_fn = make_loss(model, config)
    per_epoch = max(1, -(-len(triplets) // config.batch_size))
    total = config.max_steps or per_epoch * config.epochs
    plan = {"total": total}
    optimizer, scheduler = _optimizer(model, config, plan)
    result = TrainResult(device=device, bf16=use_bf16)
    bar = tqdm(total=total, desc="training", unit="step", disable=not progress)
    start = time.perf_counter()
    epoch = 0
    while result.steps < plan["total"]:
        for batch in batches(triplets, config.batch_size, random.Random(config.seed * 1000 + epoch)):
            loss = _step(model, loss_fn, batch, device, use_bf16)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            _record(result, len(batch), epoch, loss, bar, on_step)
            if result.steps == 1:
                after_first = time.perf_counter()  # the first step pays for warm-up: not timed
            if config.max_seconds and result.steps > 1:
                _keep_to_budget(plan, total, config.max_seconds, start, after_first, result.steps, bar)
            _maybe_checkpoint(model, config, result.steps, final=result.steps == plan["total"])
            if result.steps >= plan["total"]:
                break
        epoch += 1
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    result.seconds = time.perf_counter() - start
    bar.close()
    model.eval()
    log.info("trained %d steps, %d triplets in %.1fs (%.0f triplets/s) on %s%s", result.steps,
             result.examples, result.seconds, result.triplets_per_s, device, " bf16" if use_bf16 else "")
    return result


def _record(result: TrainResult, examples: int, epoch: int, loss: float, bar: Any,
            on_step: Callable[[int, float], None] | None) -> None:
    """Count one optimiser step in the result, the bar and the caller's hook."""
    result.steps += 1
    result.examples += examples
    result.curve.append({"step": result.steps, "epoch": epoch, "loss": loss})
    bar.update(1)
    bar.set_postfix(loss=f"{loss:.4f}")
    if on_step is not None:
        on_step(result.steps, loss)


def fit(spec: Any, triplets: Sequence[Triplet], config: TrainConfig, *,
        progress: bool = False) -> tuple[Any, TrainResult]:
    """Build the model ``spec`` (an ``embed.scratch.ModelSpec``) and train it on the
    ``train``-split triplets; a tokenizer built from scratch learns from their texts."""
    import tempfile

    from embed.scratch import build_model

    training = [t for t in triplets if t.split == "train"]
    texts = list(dict.fromkeys(x for t in training for x in (t.anchor, t.positive, t.negative)))
    with tempfile.TemporaryDirectory(prefix="kg-train-") as work:
        model = build_model(spec, texts, Path(work) / "init", seed=config.seed)
        result = train(model, training, config, progress=progress)
    return model, result


def _bf16(config: TrainConfig, device: str) -> bool:
    if not device.startswith("cuda"):
        return False
    if config.bf16 is None:
        return bool(torch.cuda.is_bf16_supported())
    return config.bf16


BUDGET_PROBE_STEPS = 3  # steps timed (after the first) before a time budget first fixes the step count


def _probing(timed: int) -> bool:
    """Whether the step count is fitted to the budget after ``timed`` timed steps: after 3,
    then after 4x as many each time (12, 48, ...), since the first steps may still be warming
    up (on a GPU they ran at a tenth of the later speed)."""
    probe = BUDGET_PROBE_STEPS
    while probe < timed:
        probe *= 4
    return timed == probe


def _fit_budget(plan: dict[str, int], wanted: int, budget: float, spent: float, per_step: float, steps: int,
                bar: Any) -> None:
    """Fit the planned steps (at most ``wanted``) to what the time budget allows at the speed
    of the steps timed so far (the learning-rate schedule follows the new total)."""
    fits = min(wanted, steps + max(0, int((budget - spent) / max(per_step, 1e-9))))
    if fits != plan["total"]:
        log.info("time budget %.0f s: %d of %d steps fit (%.2f s/step)", budget, fits, wanted, per_step)
        plan["total"] = fits
        bar.total = fits
        bar.refresh()


def _keep_to_budget(plan: dict[str, int], wanted: int, budget: float, start: float, after_first: float,
                    steps: int, bar: Any) -> None:
    """Refit the planned steps at each probe (``_probing``); between probes, stop as soon as one
    more step at the speed so far would pass the budget (steps can slow down after the last
    probe: the budget is an upper bound, not an estimate)."""
    now = time.perf_counter()
    per_step = (now - after_first) / (steps - 1)
    if _probing(steps - 1):
        _fit_budget(plan, wanted, budget, now - start, per_step, steps, bar)
    elif steps > BUDGET_PROBE_STEPS + 1 and now - start + per_step > budget and plan["total"] > steps:
        log.info("time budget %.0f s spent after %d steps (%.2f s/step)", budget, steps, per_step)
        plan["total"] = steps
        bar.total = steps
        bar.refresh()


def _optimizer(model: Any, config: TrainConfig, plan: dict[str, int]) -> tuple[Any, Any]:
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (no_decay if param.ndim < 2 or "norm" in name.lower() else decay).append(param)
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=config.lr)

    def factor(step: int) -> float:
        total = plan["total"]
        warmup = int(config.warmup * total)
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total - step) / max(1, total - warmup))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _step(model: Any, loss_fn: torch.nn.Module, batch: list[Triplet], device: str,
          use_bf16: bool) -> float:
    columns = ([t.anchor for t in batch], [t.positive for t in batch], [t.negative for t in batch])
    features = [_to(model.preprocess(list(c)), device) for c in columns]
    with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=use_bf16):
        loss = loss_fn(features, None)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    return float(loss.detach())


def _to(features: dict[str, Any], device: str) -> dict[str, Any]:
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v
            for k, v in features.items()}


def _maybe_checkpoint(model: Any, config: TrainConfig, step: int, *, final: bool) -> None:
    if config.checkpoint_dir is None:
        return
    if not final and not (config.checkpoint_every and step % config.checkpoint_every == 0):
        return
    path = config.checkpoint_dir / f"step-{step:07d}"
    model.save(str(path))
    old = sorted(config.checkpoint_dir.glob("step-*"))[:-max(1, config.keep_checkpoints)]
    for stale in old:
        shutil.rmtree(stale, ignore_errors=True)
    log.debug("checkpoint %s", path)
