"""Learning from the graph: ``kg export-triplets``, ``kg train`` and ``kg models``."""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from kg.commands.common import echo_table, graph
from kg.errors import ConfigError
from kg.settings import Settings

log = logging.getLogger(__name__)

SPLIT_CHOICES = ("train", "val", "test")
MODEL_FOLDER = "models"
FEEDBACK_FILE = "feedback.sqlite"


def _progress() -> bool:
    return sys.stderr.isatty()


def _judgements(settings: Settings) -> list[Any]:
    """The search feedback log's judgements, when the log exists."""
    path = settings.db / FEEDBACK_FILE
    if not path.is_file():
        return []
    try:
        from kg.feedback import FeedbackLog
    except ModuleNotFoundError:
        return []
    feedback = FeedbackLog.open(path)
    try:
        return list(feedback.judgements())
    finally:
        feedback.close()


def _mine(settings: Settings, *, negatives: int, seed: int, use_feedback: bool) -> list[Any]:
    from embed.triplets import MiningStats, counts_by_kind, mine_triplets

    judgements = _judgements(settings) if use_feedback else []
    stats = MiningStats()
    with graph(settings, read_only=True) as store:
        triplets = mine_triplets(store, negatives=negatives, seed=seed, feedback=judgements,
                                 progress=_progress(), stats=stats)
    rows = [(kind, stats.pairs[kind], s["train"], s["val"], s["test"], stats.cross_split[kind])
            for kind, s in counts_by_kind(triplets).items()]
    echo_table(rows, ("edge kind", "pairs", "train", "val", "test", "cross-split"), echo=_err)
    if not triplets:
        raise ConfigError(f"no triplets could be mined from {settings.db} "
                          "(run `kg ingest` on a vault or repository first)")
    return triplets


def _err(line: str) -> None:
    click.echo(line, err=True)


@click.command("export-triplets")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The file to write.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet"]), default=None,
              help="File format (default: from the file name, else jsonl).")
@click.option("--negatives", type=int, default=1, show_default=True, help="Hard negatives per positive pair.")
@click.option("--split", type=click.Choice(SPLIT_CHOICES), default=None, help="Only this split (default: all).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the random fallback negatives.")
@click.option("--text-only", is_flag=True,
              help="Only anchor, positive, negative (what a sentence-transformers trainer takes unchanged).")
@click.option("--no-feedback", is_flag=True, help="Ignore the search feedback log.")
@click.pass_obj
def export_triplets(settings: Settings, output: Path, fmt: str | None, negatives: int,
                    split: str | None, seed: int, text_only: bool, no_feedback: bool) -> None:
    """Mine triplets from the graph and write them for training elsewhere."""
    from embed.export import export_triplets as write

    triplets = _mine(settings, negatives=negatives, seed=seed, use_feedback=not no_feedback)
    if split:
        triplets = [t for t in triplets if t.split == split]
    count = write(triplets, output, format=fmt, text_only=text_only)
    click.echo(f"wrote {count} triplets to {output}")


def _spec(from_scratch: bool, static: bool, base: str | None, layers: int, hidden: int, dim: int,
          vocab_size: int, max_seq_length: int) -> Any:
    from embed.scratch import ModelSpec

    if base is not None and (from_scratch or static):
        raise ConfigError("--base fine-tunes a model; it cannot be combined with --from-scratch or --static")
    kind = "static" if static else "scratch" if from_scratch else "finetune"
    return ModelSpec(kind=kind, layers=layers, hidden=hidden, dim=dim, vocab_size=vocab_size,
                     max_seq_length=max_seq_length, base=base or "")


def _held_out(triplets: Sequence[Any]) -> list[Any]:
    test = [t for t in triplets if t.split == "test"]
    return test or [t for t in triplets if t.split == "val"]


def _current(settings: Settings, registry: Any, device: str) -> tuple[str, Any]:
    """The encoder search uses now: $KG_MODEL, else the promoted model, else the general one."""
    from embed.encoder import encoder_for

    promoted = registry.promoted()
    name = Path(settings.model).name if settings.model else promoted.name if promoted else "all-MiniLM-L6-v2"
    return f"current ({name})", encoder_for(settings.with_(device=device))


@click.command()
@click.option("--from-scratch", is_flag=True, help="Random weights: a BERT-style encoder over a corpus-trained tokenizer.")
@click.option("--static", is_flag=True, help="Random weights: a static embedding model (fast on a CPU).")
@click.option("--base", default=None, metavar="MODEL",
              help="Fine-tune this sentence-transformers directory (the default: the general model).")
@click.option("--layers", type=int, default=2, show_default=True, help="--from-scratch: transformer layers.")
@click.option("--hidden", type=int, default=128, show_default=True, help="--from-scratch: hidden size.")
@click.option("--dim", type=int, default=256, show_default=True, help="--static: embedding size.")
@click.option("--vocab-size", type=int, default=8000, show_default=True, help="Tokenizer vocabulary (from scratch).")
@click.option("--max-seq-length", type=int, default=128, show_default=True, help="Tokens per text.")
@click.option("--loss", type=click.Choice(["mnrl", "triplet"]), default="mnrl", show_default=True,
              help="MultipleNegativesRankingLoss with the hard negatives, or TripletLoss (cosine).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default=None,
              help="Torch device (default: $KG_DEVICE, else cuda when visible, else cpu).")
@click.option("--epochs", type=int, default=1, show_default=True)
@click.option("--max-steps", type=int, default=None, help="Stop after this many steps (wins over --epochs).")
@click.option("--batch-size", type=int, default=None, help="Triplets per step (default: 32 on a CPU, 128 on a GPU).")
@click.option("--lr", type=float, default=None, help="Learning rate (default depends on the model kind).")
@click.option("--negatives", type=int, default=1, show_default=True, help="Hard negatives per positive pair.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--name", default=None, help="Registry name (default: kind, time and data fingerprint).")
@click.option("--promote-if-better", is_flag=True, help="Promote when held-out MRR@10 beats the current model's.")
@click.option("--no-feedback", is_flag=True, help="Ignore the search feedback log.")
@click.pass_obj
def train(settings: Settings, from_scratch: bool, static: bool, base: str | None, layers: int, hidden: int,
          dim: int, vocab_size: int, max_seq_length: int, loss: str, device: str | None, epochs: int,
          max_steps: int | None, batch_size: int | None, lr: float | None, negatives: int, seed: int,
          name: str | None, promote_if_better: bool, no_feedback: bool) -> None:
    """Train an encoder on triplets mined from the graph, evaluate it and register it."""
    from embed.registry import Registry
    from embed.scratch import DEFAULT_LR
    from embed.train import TrainConfig, pick_device
    from embed.triplets import fingerprint

    spec = _spec(from_scratch, static, base, layers, hidden, dim, vocab_size, max_seq_length)
    _threads(settings)
    triplets = _mine(settings, negatives=negatives, seed=seed, use_feedback=not no_feedback)
    registry = Registry(settings.db / MODEL_FOLDER)
    data = fingerprint(triplets)
    name = name or registry.new_name(spec.kind, data)
    dev = pick_device(device or settings.device)
    config = TrainConfig(loss=loss, batch_size=batch_size or (128 if dev.startswith("cuda") else 32),
                         epochs=epochs, max_steps=max_steps, lr=lr or DEFAULT_LR[spec.kind], seed=seed,
                         device=dev, checkpoint_dir=registry.path / ".checkpoints" / name)
    model, result = _fit(spec, triplets, config)
    results, baseline = _evaluate(settings, registry, model, name, _held_out(triplets), dev)
    click.echo(_table(results))
    record = registry.add(model, name=name, kind=spec.kind, fingerprint=data, metrics=results[name],
                          baseline=baseline, curve=result.curve, base=spec.base or spec.kind,
                          config={"model": spec.as_dict(), "train": config.as_dict(),
                                  "negatives": negatives, "triplets_per_s": result.triplets_per_s})
    click.echo(f"registered {record.name} ({result.steps} steps, {result.triplets_per_s:.0f} triplets/s "
               f"on {result.device}{' bf16' if result.bf16 else ''}) in {record.path}")
    if promote_if_better:
        _promote_if_better(registry, record, baseline)


def _threads(settings: Settings) -> None:
    if settings.torch_threads > 0:
        import torch

        torch.set_num_threads(settings.torch_threads)


def _fit(spec: Any, triplets: Sequence[Any], config: Any) -> tuple[Any, Any]:
    from embed.scratch import build_model
    from embed.train import train as run

    training = [t for t in triplets if t.split == "train"]
    texts = list(dict.fromkeys(x for t in training for x in (t.anchor, t.positive, t.negative)))
    with tempfile.TemporaryDirectory(prefix="kg-train-") as work:
        model = build_model(spec, texts, Path(work) / "init", seed=config.seed)
        result = run(model, training, config, progress=_progress())
    return model, result


def _evaluate(settings: Settings, registry: Any, model: Any, name: str, held: Sequence[Any],
              device: str) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    from embed.evaluate import ModelEncoder, compare

    if not held:
        raise ConfigError("no held-out triplets to evaluate on (the graph is too small: ingest more)")
    label, current = _current(settings, registry, device)
    results = compare({name: ModelEncoder(model, name), label: current}, held)
    return results, {"model": label, **results[label]}


def _table(results: dict[str, dict[str, float]]) -> str:
    from embed.evaluate import format_table

    return format_table(results)


def _promote_if_better(registry: Any, record: Any, baseline: dict[str, Any]) -> None:
    new, old = record.metrics.get("mrr@10", 0.0), baseline.get("mrr@10", 0.0)
    if new > old:
        registry.promote(record.name)
        click.echo(f"promoted {record.name}: MRR@10 {new:.3f} > {old:.3f} "
                   "(search re-embeds on its next sync)")
    else:
        click.echo(f"not promoted: MRR@10 {new:.3f} <= {old:.3f} of {baseline.get('model', 'the current model')}")


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def models(ctx: click.Context, as_json: bool) -> None:
    """List trained models (* marks the promoted one); `kg models promote NAME` picks one."""
    if ctx.invoked_subcommand is not None:
        return
    from embed.registry import Registry

    records = Registry(ctx.obj.db / MODEL_FOLDER).list()
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in records], indent=2, sort_keys=True))
        return
    if not records:
        click.echo("no trained models yet (run `kg train`)")
        return
    rows = [("*" if r.promoted else "", r.name, r.created, r.kind, _metric(r, "triplet_accuracy"),
             _metric(r, "mrr@10"), _metric(r, "ndcg@10")) for r in records]
    echo_table(rows, ("", "name", "created", "kind", "accuracy", "mrr@10", "ndcg@10"))


def _metric(record: Any, key: str) -> str:
    value = record.metrics.get(key)
    return "" if value is None else f"{value:.3f}"


@models.command("promote")
@click.argument("name")
@click.pass_obj
def promote(settings: Settings, name: str) -> None:
    """Make NAME the model search uses (it re-embeds on its next sync)."""
    from embed.registry import Registry

    record = Registry(settings.db / MODEL_FOLDER).promote(name)
    click.echo(f"promoted {record.name} ({record.path})")


COMMANDS = [export_triplets, train, models]
