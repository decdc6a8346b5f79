"""Learning from the graph: ``kg export-triplets`` and ``kg models``.

``kg train`` lives in ``search.cli``: it judges a model by searching with it.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from kg.commands.common import ClientPath, Workspace, echo_table
from kg.errors import ConfigError

log = logging.getLogger(__name__)

SPLIT_CHOICES = ("train", "val", "test")
PAIRS_HELP = ("Comma-separated positive kinds to mine (default: the query-like SECTION, DOC, ALIAS, "
              "LINKS_TO, MENTIONS, TEST, FEEDBACK; also DEFINITION, CALLS, CONTAINS).")


def _progress() -> bool:
    return sys.stderr.isatty()


def parse_pairs(text: str) -> list[str]:
    """``--pairs``: comma-separated kinds, any case ([] for the default)."""
    return [k.strip().upper() for k in text.split(",") if k.strip()]


def mine(ws: Workspace, *, negatives: int, seed: int, use_feedback: bool,
         pair_kinds: Sequence[str] = ()) -> list[Any]:
    """Mine the database's triplets (``pair_kinds``: default the query-like ones), printing
    a table of what was found on stderr.

    Raises:
        ConfigError: nothing could be mined, or an unknown pair kind.
    """
    from embed.triplets import QUERY_PAIRS, MiningStats, counts_by_kind, mine_triplets

    judgements = ws.judgements() if use_feedback else []
    stats = MiningStats()
    triplets = mine_triplets(ws.store(), negatives=negatives, seed=seed, feedback=judgements,
                             pair_kinds=pair_kinds or QUERY_PAIRS, progress=_progress(), stats=stats)
    rows = [(kind, stats.pairs[kind], s["train"], s["val"], s["test"], stats.cross_split[kind])
            for kind, s in counts_by_kind(triplets).items()]
    echo_table(rows, ("edge kind", "pairs", "train", "val", "test", "cross-split"), echo=_err)
    if not triplets:
        raise ConfigError(f"no triplets could be mined from {ws.settings.db} "
                          "(run `kg ingest` on a vault or repository first)")
    return triplets


def _err(line: str) -> None:
    click.echo(line, err=True)


@click.command("export-triplets")
@click.option("-o", "--output", type=ClientPath(path_type=Path, dir_okay=False), required=True,
              help="The file to write.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet"]), default=None,
              help="File format (default: from the file name, else jsonl).")
@click.option("--negatives", type=int, default=1, show_default=True, help="Hard negatives per positive pair.")
@click.option("--split", type=click.Choice(SPLIT_CHOICES), default=None, help="Only this split (default: all).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the random fallback negatives.")
@click.option("--text-only", is_flag=True,
              help="Only anchor, positive, negative (what a sentence-transformers trainer takes unchanged).")
@click.option("--no-feedback", is_flag=True, help="Ignore the search feedback log.")
@click.option("--pairs", default="", metavar="KINDS", help=PAIRS_HELP)
@click.pass_obj
def export_triplets(ws: Workspace, output: Path, fmt: str | None, negatives: int,
                    split: str | None, seed: int, text_only: bool, no_feedback: bool, pairs: str) -> None:
    """Mine triplets from the graph and write them for training elsewhere."""
    from embed.export import export_triplets as write

    triplets = mine(ws, negatives=negatives, seed=seed, use_feedback=not no_feedback,
                    pair_kinds=parse_pairs(pairs))
    if split:
        triplets = [t for t in triplets if t.split == split]
    count = write(triplets, output, format=fmt, text_only=text_only)
    click.echo(f"wrote {count} triplets to {output}")


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def models(ctx: click.Context, as_json: bool) -> None:
    """List trained models (* marks the promoted one) with how search did with each on held-out
    queries; `kg models promote NAME` picks one."""
    if ctx.invoked_subcommand is not None:
        return
    records = ctx.obj.registry().list()
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in records], indent=2, sort_keys=True))
        return
    if not records:
        click.echo("no trained models yet (run `kg train`)")
        return
    rows = [("*" if r.promoted else "", r.name, r.created, r.kind,
             *((_metric(r, "ndcg@10"), _metric(r, "ndcg_gain", "+.3f"), _metric(r, "mrr@10"))
               if "ndcg_gain" in r.metrics else ("", "", ""))) for r in records]  # older records: triplet metrics
    echo_table(rows, ("", "name", "created", "kind", "search nDCG@10", "vs model before", "MRR@10"))


def _metric(record: Any, key: str, spec: str = ".3f") -> str:
    value = record.metrics.get(key)
    return "" if not isinstance(value, (int, float)) else format(value, spec)


@models.command("promote")
@click.argument("name")
@click.pass_obj
def promote(ws: Workspace, name: str) -> None:
    """Make NAME the model search uses, and re-embed the search index with it."""
    record, summary = ws.promote(name)
    click.echo(f"promoted {record.name} ({record.path}); search index re-embedded: "
               f"{summary['embedded']} embedded, {summary['from_cache']} from cache")


COMMANDS = [export_triplets, models]
