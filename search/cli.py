"""Search commands: ``kg search``, ``kg eval``, ``kg index`` (registered by kg/cli.py from COMMANDS).

The encoder comes from ``embed.encoder.encoder_for(settings)``, as in kg/cli.py and web.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from embed.encoder import encoder_for
from kg.commands.common import graph
from kg.errors import ConfigError, SearchError
from kg.settings import Settings

log = logging.getLogger(__name__)


def search_index(settings: Settings) -> Any:
    """The search index folder of the database: ``<db>/search``."""
    from search.index import SearchIndex

    return SearchIndex.open(settings.db / "search")

_CONFIGS = ("bm25", "vector", "rrf", "kg")


@contextmanager
def _searcher(settings: Settings, config: str | None) -> Iterator[Any]:
    """Open graph, index and encoder once for a command, and build a Searcher over them."""
    from search.engine import SearchConfig, Searcher

    with graph(settings, read_only=True) as store:
        index = search_index(settings)
        try:
            if len(index) == 0:
                raise SearchError(f"the search index at {index.path} is empty; run `kg ingest PATH` "
                                  "or `kg index` first")
            encoder = encoder_for(settings)
            cfg = SearchConfig.preset(config) if config else None
            yield Searcher(store, index, encoder, cfg)
        finally:
            index.close()


@click.command()
@click.argument("query", required=False)
@click.option("-k", "k", type=click.IntRange(1, 1000), default=10, show_default=True, help="Most results.")
@click.option("--kind", "kinds", multiple=True,
              help="Keep these kinds: note, heading, block, file, class, function, code, vault (repeatable).")
@click.option("--root", "roots", multiple=True, help="Keep results from this root (repeatable).")
@click.option("--tag", "tags", multiple=True, help="Keep results tagged so, nested tags included (repeatable).")
@click.option("--queries", "queries_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='Run every query of a JSONL file ({"id", "query"} per line); one output line per query.')
@click.option("--config", type=click.Choice(_CONFIGS), default=None,
              help="Pipeline configuration (default: kg; bm25, vector and rrf are the plain baselines).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {\"query\"|\"id\", \"results\": [...]}.")
@click.pass_obj
def search(settings: Settings, query: str | None, k: int, kinds: tuple[str, ...], roots: tuple[str, ...],
           tags: tuple[str, ...], queries_file: Path | None, config: str | None, as_json: bool) -> None:
    """Hybrid search (BM25 + vectors + graph expansion); every result says why it is there."""
    if (query is None) == (queries_file is None):
        raise click.UsageError("give a QUERY or --queries FILE.jsonl (one of them)")
    from search.engine import resolve_kinds

    resolve_kinds(kinds)  # fail on a bad --kind before loading anything
    with _searcher(settings, config) as searcher:
        opts: dict[str, Any] = {"kinds": kinds or None, "roots": roots or None, "tags": tags or None}
        if queries_file is not None:
            for qid, text in _read_queries(queries_file):
                results = searcher.search(text, k, **opts)
                _emit({"id": qid, "results": [r.to_json() for r in results]}, text, results, as_json)
            return
        text = query or ""
        results = searcher.search(text, k, **opts)
        _emit({"query": text, "results": [r.to_json() for r in results]}, text, results, as_json)


def _read_queries(path: Path) -> Iterator[tuple[str, str]]:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            yield str(row.get("id", number)), str(row["query"])
        except (ValueError, KeyError, AttributeError) as exc:
            raise ConfigError(f"{path}:{number}: expected a JSON object with \"query\" ({exc})") from exc


def _emit(payload: dict[str, Any], query: str, results: list[Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(payload, ensure_ascii=False))
        return
    if "id" in payload:
        click.echo(f"# {payload['id']}: {query}")
    if not results:
        click.echo("no good match")
    for n, r in enumerate(results, 1):
        where = r.path + (f"::{r.qualname}" if r.qualname else f"#{r.heading}" if r.heading else "")
        click.echo(f"{n:>2}. {r.score:.3f}  {r.kind:<8} {r.root}/{where}")
        click.echo(f"      {r.why}")
        if r.snippet:
            click.echo(f"      {r.snippet}")


@click.command("eval")
@click.argument("queries_file", metavar="QUERIES.jsonl", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--compare", is_flag=True, help="Put the baselines (bm25, vector, rrf) beside kg, with paired "
              "bootstrap intervals against rrf.")
@click.option("--split", type=click.Choice(["all", "tune", "test"]), default="all", show_default=True,
              help="Score only the queries of one half (split by a hash of the query id).")
@click.option("--config", type=click.Choice(_CONFIGS), default=None, help="Evaluate one configuration.")
@click.option("-k", "k", type=click.IntRange(1, 100), default=10, show_default=True, help="Metric cut-off.")
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
@click.pass_obj
def eval_(settings: Settings, queries_file: Path, compare: bool, split: str, config: str | None, k: int,
          as_json: bool) -> None:
    """Score search on labelled queries: nDCG@10 (graded), MRR@10, Recall@10, overall, by query
    kind and by node kind."""
    from search.eval import compare as compare_configs
    from search.eval import format_reports, load_queries

    queries = [q for q in load_queries(queries_file) if split == "all" or q.split == split]
    names = list(_CONFIGS) if compare else [config or "kg"]
    with _searcher(settings, None) as searcher:
        reports = compare_configs(searcher, queries, names=names, k=k)
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
def index(settings: Settings, as_json: bool) -> None:
    """Bring the search index up to date with the graph (embeds only new or changed texts)."""
    import sys

    with graph(settings, read_only=True) as store:
        idx = search_index(settings)
        try:
            report = idx.sync(store, encoder_for(settings), progress=sys.stderr.isatty())
        finally:
            idx.close()
    summary = report.as_dict()
    if as_json:
        click.echo(json.dumps(summary, indent=2, sort_keys=True))
        return
    click.echo(", ".join(f"{key} {summary[key]}" for key in
                         ("added", "changed", "removed", "unchanged", "embedded", "from_cache")))
    click.echo(f"encoder {summary['encoder']}, {summary['seconds']} s")


COMMANDS = [search, eval_, index]
