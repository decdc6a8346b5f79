"""Benchmark: triplet mining and encoder training on this machine's CPU.

    python bench/bench_train.py [--notes 5000] [--repo PATH] [--json FILE]

1. Mining: a generated vault (``bench/gen_vault.py``) and a real repository (default: the
   ``click`` package from the virtual environment) are ingested with the ingest pipeline
   into embedded stores; triplets are mined from each, timed, and counted per edge kind
   and per anchor node kind.
2. Training: on the union of both, a few steps of each model kind — from scratch
   (BERT 2 layers/128 and 4 layers/256), static, and fine-tuning all-MiniLM-L6-v2 — timed
   as training triplets/s.
3. Evaluation: held-out triplet accuracy, MRR@10 and nDCG@10 of each trained model and of
   the general model, on the same held-out triplets.

Timings depend on what else shares the CPU; compare numbers from one run only.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from embed.evaluate import ModelEncoder, evaluate, format_table  # noqa: E402
from embed.scratch import ModelSpec, build_model  # noqa: E402
from embed.train import TrainConfig, train  # noqa: E402
from embed.triplets import Triplet, counts_by_kind, mine_from_graph  # noqa: E402
from kg.store.ladybug import LadybugStore  # noqa: E402

log = logging.getLogger("bench_train")

MODELS = [  # name, spec, steps, batch size, learning rate
    ("static-256", ModelSpec(kind="static", dim=256), 300, 32, 0.05),
    ("scratch-2x128", ModelSpec(kind="scratch", layers=2, hidden=128), 40, 32, 5e-4),
    ("scratch-4x256", ModelSpec(kind="scratch", layers=4, hidden=256), 15, 32, 5e-4),
    ("finetune-MiniLM", ModelSpec(kind="finetune"), 6, 16, 3e-5),
]


def ingest(root_name: str, directory: Path, workdir: Path) -> LadybugStore:
    """A fresh store holding one ingested root."""
    from ingest.pipeline import Pipeline

    store = LadybugStore.open(workdir / f"{root_name}-graph")
    store.migrate()
    pipeline = Pipeline(store, workdir / f"{root_name}-state.sqlite")
    try:
        started = time.perf_counter()
        report = pipeline.ingest([(root_name, directory)])
        log.info("ingested %s in %.1fs: %s", root_name, time.perf_counter() - started, dict(report.nodes))
    finally:
        pipeline.close()
    return store


def mine(label: str, store: LadybugStore) -> tuple[list[Triplet], dict[str, Any]]:
    """Mine one store, timing the read and the mining separately."""
    started = time.perf_counter()
    nodes = {n.id: n for n in store.iter_nodes()}
    edges = list(store.iter_edges())
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    triplets = mine_from_graph(nodes.values(), edges)
    mine_s = time.perf_counter() - started
    by_node_kind = Counter(nodes[t.anchor_id].kind.value if t.anchor_id in nodes else "Query" for t in triplets)
    return triplets, {
        "graph": label, "nodes": len(nodes), "edges": len(edges), "triplets": len(triplets),
        "read_s": round(read_s, 2), "mine_s": round(mine_s, 2),
        "triplets_per_s": round(len(triplets) / mine_s, 1) if mine_s else 0.0,
        "by_edge_kind": {k: sum(v.values()) for k, v in counts_by_kind(triplets).items()},
        "by_anchor_node_kind": dict(by_node_kind),
    }


def general_encoder() -> ModelEncoder:
    from embed.scratch import load_base

    return ModelEncoder(load_base(), "all-MiniLM-L6-v2 (general)")


def train_all(training: list[Triplet], held: list[Triplet], workdir: Path,
              only: set[str] | None) -> tuple[dict[str, dict[str, float]], list[dict[str, Any]]]:
    results = {"all-MiniLM-L6-v2 (general)": evaluate(general_encoder(), held)}
    speed = []
    texts = list(dict.fromkeys(x for t in training for x in (t.anchor, t.positive, t.negative)))
    for name, spec, steps, batch, lr in MODELS:
        if only and name not in only:
            continue
        model = build_model(spec, texts, workdir / name, seed=0)
        result = train(model, training, TrainConfig(batch_size=batch, max_steps=steps, lr=lr, device="cpu"))
        curve = result.curve
        speed.append({"model": name, "steps": result.steps, "batch_size": batch,
                      "seconds": round(result.seconds, 1), "triplets_per_s": round(result.triplets_per_s, 1),
                      "first_loss": round(curve[0]["loss"], 3),
                      "last_loss_mean5": round(sum(c["loss"] for c in curve[-5:]) / min(5, len(curve)), 3)})
        results[name] = evaluate(ModelEncoder(model, name), held)
        log.info("%s: %s / %s", name, speed[-1], results[name])
    return results, speed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notes", type=int, default=5000)
    parser.add_argument("--links", type=int, default=None, help="default: 10 per note")
    parser.add_argument("--repo", type=Path, default=None, help="default: the click package")
    parser.add_argument("--held-out", type=int, default=600, help="cap on held-out triplets evaluated")
    parser.add_argument("--models", default="", help="comma-separated subset of " + ",".join(m[0] for m in MODELS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import click
    import torch

    torch.set_num_threads(args.threads)
    repo = args.repo or Path(click.__file__).parent
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        work = Path(tmp)
        from bench.gen_vault import generate

        generate(work / "vault", notes=args.notes, links=args.links or 10 * args.notes, seed=0)
        vault_triplets, vault_info = mine("generated vault", ingest("vault", work / "vault", work))
        repo_triplets, repo_info = mine(f"repository {repo.name}", ingest(repo.name, repo, work))
        triplets = vault_triplets + repo_triplets
        training = [t for t in triplets if t.split == "train"]
        held = [t for t in triplets if t.split == "test"]
        held = random.Random(0).sample(held, min(len(held), args.held_out))
        only = {m for m in args.models.split(",") if m} or None
        results, speed = train_all(training, held, work, only)
    report = {"mining": [vault_info, repo_info], "training": speed, "held_out": results,
              "threads": args.threads}
    print(json.dumps(report, indent=2))
    print(format_table(results))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
