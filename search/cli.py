"""Search commands: ``kg search``, ``kg eval``, ``kg index``, ``kg train`` (registered by kg/cli.py from COMMANDS).

The store, index, encoder and searcher come from the workspace the command is given.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from embed.cli import PAIRS_HELP
from kg.commands.common import ClientPath, Workspace
from kg.errors import ConfigError

log = logging.getLogger(__name__)


_CONFIGS = ("bm25", "vector", "rrf", "kg")
CPU_BUDGET_MINUTES = 15.0  # fine-tuning MiniLM on 2 CPU cores runs at ~3 triplets/s: ~2,700 triplets


@click.command()
@click.argument("query", required=False)
@click.option("-k", "k", type=click.IntRange(1, 1000), default=10, show_default=True, help="Most results.")
@click.option("--kind", "kinds", multiple=True,
              help="Keep these kinds: note, heading, block, file, class, function, code, vault (repeatable).")
@click.option("--root", "roots", multiple=True, help="Keep results from this root (repeatable).")
@click.option("--tag", "tags", multiple=True, help="Keep results tagged so, nested tags included (repeatable).")
@click.option("--path", "paths", multiple=True,
              help="Keep results under this folder or matching this glob, e.g. src/ or '*.py' (repeatable).")
@click.option("--exclude-tests", is_flag=True, help="Leave out test code, specs and fixtures.")
@click.option("--queries", "queries_file", type=ClientPath(exists=True, dir_okay=False, path_type=Path),
              help='Run every query of a JSONL file ({"id", "query"} per line); one output line per query.')
@click.option("--config", type=click.Choice(_CONFIGS), default=None,
              help="Pipeline configuration (default: kg; bm25, vector and rrf are the plain baselines).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {\"query\"|\"id\", \"results\": [...]}.")
@click.pass_obj
def search(ws: Workspace, query: str | None, k: int, kinds: tuple[str, ...], roots: tuple[str, ...],
           tags: tuple[str, ...], paths: tuple[str, ...], exclude_tests: bool, queries_file: Path | None,
           config: str | None, as_json: bool) -> None:
    """Hybrid search (BM25 + vectors + graph expansion); every result says why it is there."""
    if (query is None) == (queries_file is None):
        raise click.UsageError("give a QUERY or --queries FILE.jsonl (one of them)")
    from search.config import resolve_kinds

    resolve_kinds(kinds)  # fail on a bad --kind before loading anything
    searcher = ws.searcher(config)
    opts: dict[str, Any] = {"kinds": kinds or None, "roots": roots or None, "tags": tags or None,
                            "paths": paths or None, "exclude_tests": exclude_tests}
    folders = {} if as_json else _root_folders(ws)
    if queries_file is not None:
        for qid, text in _read_queries(queries_file):
            results = searcher.search(text, k, **opts)
            _emit({"id": qid, "results": [r.to_json() for r in results]}, text, results, as_json, folders)
        return
    text = query or ""
    results = searcher.search(text, k, **opts)
    _emit({"query": text, "results": [r.to_json() for r in results]}, text, results, as_json, folders)


def _root_folders(ws: Workspace) -> dict[str, Path]:
    """Root name → folder, for paths a terminal opens; none when the ingest state is busy
    (a writer holds it): the paths are then printed as the index has them."""
    import sqlite3

    try:
        return dict(ws.roots())
    except sqlite3.Error:
        return {}


def _read_queries(path: Path) -> Iterator[tuple[str, str]]:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            yield str(row.get("id", number)), str(row["query"])
        except (ValueError, KeyError, AttributeError) as exc:
            raise ConfigError(f"{path}:{number}: expected a JSON object with \"query\" ({exc})") from exc


def _emit(payload: dict[str, Any], query: str, results: list[Any], as_json: bool,
          folders: dict[str, Path]) -> None:
    from kg.commands.common import openable_path

    if as_json:
        click.echo(json.dumps(payload, ensure_ascii=False))
        return
    if "id" in payload:
        click.echo(f"# {payload['id']}: {query}")
    if not results:
        click.echo("no good match")
    for n, r in enumerate(results, 1):
        ref = r.id.partition(":")[2]  # what `kg show` takes back
        where = openable_path(folders.get(r.root), r.path)  # a terminal opens path:line
        line = f"{where}:{r.line}" if r.line else where
        click.echo(f"{n:>2}. {r.score:.3f}  {r.kind:<8} {ref}")
        click.echo(f"      {line} · {r.why}")
        if r.snippet:
            click.echo(f"      {r.snippet}")


@click.command("eval")
@click.argument("queries_file", metavar="QUERIES.jsonl", type=ClientPath(exists=True, dir_okay=False, path_type=Path))
@click.option("--compare", is_flag=True, help="Put the baselines (bm25, vector, rrf) beside kg, with paired "
              "bootstrap intervals against rrf.")
@click.option("--split", type=click.Choice(["all", "tune", "test"]), default="all", show_default=True,
              help="Score only the queries of one half (split by a hash of the query id).")
@click.option("--config", type=click.Choice(_CONFIGS), default=None, help="Evaluate one configuration.")
@click.option("-k", "k", type=click.IntRange(1, 100), default=10, show_default=True, help="Metric cut-off.")
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
@click.pass_obj
def eval_(ws: Workspace, queries_file: Path, compare: bool, split: str, config: str | None, k: int,
          as_json: bool) -> None:
    """Score search on labelled queries: nDCG@10 (graded), MRR@10, Recall@10, overall, by query
    kind and by node kind."""
    from search.eval import compare as compare_configs
    from search.eval import format_reports, load_queries

    queries = [q for q in load_queries(queries_file) if split == "all" or q.split == split]
    names = list(_CONFIGS) if compare else [config or "kg"]
    reports = compare_configs(ws.searcher(), queries, names=names, k=k)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in reports], indent=2))
        return
    for line in format_reports(reports):
        click.echo(line)
    missing = sorted({u for r in reports for u in r.unresolved})
    if missing:
        click.echo(f"{len(missing)} relevant item(s) not in the index: " + "; ".join(missing[:10]), err=True)


@click.command("index")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def index(ws: Workspace, as_json: bool) -> None:
    """Bring the search index up to date with the graph (embeds only new or changed texts)."""
    import sys

    summary = ws.sync_index(progress=sys.stderr.isatty())
    if as_json:
        click.echo(json.dumps(summary, indent=2, sort_keys=True))
        return
    click.echo(", ".join(f"{key} {summary[key]}" for key in
                         ("added", "changed", "removed", "unchanged", "embedded", "from_cache")))
    click.echo(f"encoder {summary['encoder']}, {summary['seconds']} s")


@click.command()
@click.option("--from-scratch", is_flag=True, help="Random weights: a BERT-style encoder over a corpus-trained tokenizer.")
@click.option("--static", is_flag=True, help="Random weights: a static embedding model (fast on a CPU).")
@click.option("--base", default=None, metavar="MODEL",
              help="Fine-tune this sentence-transformers directory (default: the general model).")
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
@click.option("--minutes", type=click.FloatRange(min=0), default=None,
              help=f"Time budget for training (default on a CPU: {CPU_BUDGET_MINUTES:g}; 0: none).")
@click.option("--batch-size", type=int, default=None, help="Triplets per step (default: 32 on a CPU, 128 on a GPU).")
@click.option("--lr", type=float, default=None, help="Learning rate (default depends on the model kind).")
@click.option("--negatives", type=int, default=1, show_default=True, help="Hard negatives per positive pair.")
@click.option("--pairs", default="", metavar="KINDS", help=PAIRS_HELP)
@click.option("--queries", "queries_file", type=ClientPath(exists=True, dir_okay=False, path_type=Path),
              help="Judge the model on these labelled queries (kg eval's format) instead of the graph's held-out ones.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--name", default=None, help="Registry name (default: kind, time and data fingerprint).")
@click.option("--promote-if-better", is_flag=True,
              help="Promote when search with it beats the current model on held-out queries (nDCG@10 interval above 0, "
                   "Recall@10 interval not below 0).")
@click.option("--no-feedback", is_flag=True, help="Ignore the search feedback log.")
@click.pass_obj
def train(ws: Workspace, from_scratch: bool, static: bool, base: str | None, layers: int, hidden: int,
          dim: int, vocab_size: int, max_seq_length: int, loss: str, device: str | None, epochs: int,
          max_steps: int | None, minutes: float | None, batch_size: int | None, lr: float | None, negatives: int, pairs: str,
          queries_file: Path | None, seed: int, name: str | None, promote_if_better: bool,
          no_feedback: bool) -> None:
    """Fine-tune an encoder on pairs mined from the graph, then judge it by searching with it.

    The judgement: held-out queries (--queries, else the graph's own test split) searched over
    the whole corpus through the full pipeline, with the current model and the new one side by
    side, paired. The model is registered either way; --promote-if-better makes search use it
    only when it is measurably better.
    """
    from embed.cli import mine, parse_pairs
    from embed.encoder import set_torch_threads
    from embed.scratch import DEFAULT_LR, ModelSpec
    from embed.train import TrainConfig, pick_device
    from embed.triplets import fingerprint
    from search.eval import load_queries

    if base is not None and (from_scratch or static):
        raise ConfigError("--base fine-tunes a model; it cannot be combined with --from-scratch or --static")
    kind = "static" if static else "scratch" if from_scratch else "finetune"
    spec = ModelSpec(kind=kind, layers=layers, hidden=hidden, dim=dim, vocab_size=vocab_size,
                     max_seq_length=max_seq_length, base=base or "")
    labelled = load_queries(queries_file) if queries_file else None  # fail on a bad file before training
    kinds = parse_pairs(pairs)
    settings = ws.settings
    set_torch_threads(settings.torch_threads)
    triplets = mine(ws, negatives=negatives, seed=seed, use_feedback=not no_feedback, pair_kinds=kinds)
    queries = _judging_queries(triplets, labelled, kinds)
    registry = ws.registry()
    data = fingerprint(triplets)
    name = name or registry.new_name(spec.kind, data)
    dev = pick_device(device or settings.device)
    on_cpu = not dev.startswith("cuda")
    budget = (CPU_BUDGET_MINUTES if on_cpu else 0.0) if minutes is None else minutes
    config = TrainConfig(loss=loss, batch_size=batch_size or (32 if on_cpu else 128), epochs=epochs,
                         max_steps=max_steps, max_seconds=budget * 60 or None, lr=lr or DEFAULT_LR[spec.kind],
                         seed=seed, device=dev, checkpoint_dir=registry.path / ".checkpoints" / name)
    record = _fit_and_register(registry, spec, triplets, config, name, data,
                               {"negatives": negatives, "pairs": kinds or "query-like"})
    source = f"{queries_file}" if labelled is not None else "held-out pairs of the graph's test split"
    judged, current_name = _judge(ws, dev, record, queries, source)
    if not promote_if_better:
        return
    if judged.better:
        ws.promote(record.name)
        click.echo(f"promoted {record.name}: {judged.describe()}; the search index is re-embedded with it")
    else:
        click.echo(f"not promoted: {judged.describe()} against {current_name}; it needs the nDCG interval "
                   f"above 0 and the recall interval not below 0, on at least {judged.MIN_QUERIES} queries")


def _judging_queries(triplets: Any, labelled: Any, kinds: list[str]) -> Any:
    """The labelled queries when given, else the graph's held-out query-like pairs (not
    headings or aliases: ``search.learn.JUDGING_PAIRS``)."""
    from search.learn import JUDGING_PAIRS, held_out_queries

    queries = labelled if labelled is not None else held_out_queries(triplets)
    if not queries:
        hint = (f"--pairs has none of {', '.join(JUDGING_PAIRS)} to hold out" if kinds
                else "the graph is too small: ingest more")
        raise ConfigError(f"no held-out queries to judge the model on ({hint}; or pass --queries FILE)")
    return queries


def _fit_and_register(registry: Any, spec: Any, triplets: Any, config: Any, name: str, data: str,
                      extra: dict[str, Any]) -> Any:
    """Train, save into the registry (with its lineage when fine-tuned), say how it went."""
    import sys

    from embed.encoder import lineage_of, load_encoder
    from embed.train import fit
    from search.index import encoder_key

    model, result = fit(spec, triplets, config, progress=sys.stderr.isatty())
    lineage: list[str] = []
    started_from = "random weights"
    if spec.kind == "finetune":  # the base as search would load it: the ranker's key, if it was learned with it
        base = load_encoder(spec.base or None)
        lineage = [encoder_key(base), *lineage_of(base.path)]
        started_from = spec.base or base.name
    record = registry.add(model, name=name, kind=spec.kind, fingerprint=data, metrics={}, curve=result.curve,
                          base=started_from, lineage=lineage,
                          config={"model": spec.as_dict(), "train": config.as_dict(), **extra,
                                  "triplets_per_s": result.triplets_per_s})
    click.echo(f"trained {record.name}: {result.steps} steps, {result.examples} triplets, "
               f"{result.seconds:.0f} s ({result.triplets_per_s:.1f} triplets/s on {result.device}"
               f"{' bf16' if result.bf16 else ''})")
    return record


def _judge(ws: Workspace, device: str, record: Any, queries: Any, source: str) -> tuple[Any, str]:
    """Search the queries with the current encoder and the new one, print and record the comparison."""
    import sys

    from embed.encoder import load_encoder
    from search.eval import format_reports
    from search.learn import compare_encoders, verdict

    current = ws.encoder()
    current_name = f"current ({current.name})"
    ws.sync_index(progress=sys.stderr.isatty())
    candidate = load_encoder(record.path, device=device)  # as search will load it
    reports = compare_encoders(ws.store(), ws.index(), {current_name: current, record.name: candidate}, queries,
                               progress=sys.stderr.isatty())
    click.echo(f"search with each model over the whole corpus ({len(queries)} queries: {source}):")
    for line in format_reports(reports, baseline=current_name):
        click.echo(line)
    judged = verdict(reports[1], reports[0])
    ws.registry().annotate(record.name, metrics=_pipeline_metrics(reports[1], judged),
                      baseline={"model": current_name, **_pipeline_metrics(reports[0], None)})
    click.echo(f"registered {record.name} in {record.path}")
    return judged, current_name


def _pipeline_metrics(report: Any, judged: Any) -> dict[str, Any]:
    o = report.overall
    out = {"ndcg@10": o["ndcg"], "mrr@10": o["mrr"], "recall@10": o["recall"], "queries": o["n"]}
    if judged is not None:
        out.update({"ndcg_gain": round(judged.gain, 4), "ndcg_gain_low": round(judged.low, 4),
                    "ndcg_gain_high": round(judged.high, 4), "recall_gain": round(judged.recall[0], 4),
                    "recall_gain_low": round(judged.recall[1], 4), "recall_gain_high": round(judged.recall[2], 4)})
    return out


COMMANDS = [search, eval_, index, train]
