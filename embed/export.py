"""Write triplets as JSONL, CSV or Parquet, loadable by ``datasets`` as they are.

The columns are ``anchor, positive, negative`` first (the order sentence-transformers'
losses read them in), then ``anchor_id, positive_id, negative_id, edge_kind, split,
weight``. ``text_only`` writes the first three alone: sentence-transformers treats every
column but a label as an input text, so a file meant for its trainer unchanged should be
text-only (or have the other columns removed with ``select_columns``).
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from embed.triplets import Triplet
from kg.errors import ConfigError

log = logging.getLogger(__name__)

FORMATS = ("jsonl", "csv", "parquet")
TEXT_COLUMNS = ("anchor", "positive", "negative")
COLUMNS = (*TEXT_COLUMNS, "anchor_id", "positive_id", "negative_id", "edge_kind", "split", "weight")


def guess_format(path: Path) -> str:
    """The format a file name implies (``.jsonl``/``.json``, ``.csv``, ``.parquet``), else jsonl."""
    suffix = path.suffix.lower().lstrip(".")
    return {"json": "jsonl", "jsonl": "jsonl", "csv": "csv", "parquet": "parquet", "pq": "parquet"}.get(
        suffix, "jsonl")


def export_triplets(triplets: Iterable[Triplet], path: Path, *, format: str | None = None,
                    text_only: bool = False) -> int:
    """Write triplets to ``path``.

    Args:
        triplets: What to write.
        path: The output file (its folder is created).
        format: ``jsonl``, ``csv`` or ``parquet``; default from the file name.
        text_only: Write only the three text columns.

    Returns:
        The number of rows written.

    Raises:
        ConfigError: an unknown format.
    """
    fmt = format or guess_format(path)
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    columns = TEXT_COLUMNS if text_only else COLUMNS
    rows = [{c: getattr(t, c) for c in columns} for t in triplets]
    path.parent.mkdir(parents=True, exist_ok=True)
    {"jsonl": _jsonl, "csv": _csv, "parquet": _parquet}[fmt](rows, columns, path)
    log.info("wrote %d triplets to %s (%s)", len(rows), path, fmt)
    return len(rows)


def _jsonl(rows: list[dict], columns: Sequence[str], path: Path) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _csv(rows: list[dict], columns: Sequence[str], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)


def _parquet(rows: list[dict], columns: Sequence[str], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"weight": pa.float64()}
    schema = pa.schema([(c, types.get(c, pa.string())) for c in columns])
    table = pa.Table.from_pylist(rows, schema=schema)
    pq.write_table(table, str(path))


def read_triplets(path: Path, *, format: str | None = None) -> list[Triplet]:
    """Read a full export back (the inverse of ``export_triplets`` without ``text_only``).

    Raises:
        ConfigError: the file lacks the id columns (a text-only export) or has an unknown format.
    """
    fmt = format or guess_format(path)
    if fmt == "jsonl":
        with path.open(encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
    elif fmt == "csv":
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        rows = pq.read_table(str(path)).to_pylist()
    else:
        raise ConfigError(f"unknown triplet format {fmt!r} for {path}")
    missing = [c for c in COLUMNS[:-1] if rows and c not in rows[0]]
    if missing:
        raise ConfigError(f"{path} lacks columns {missing} (was it exported with --text-only?)")
    return [Triplet(**{**{c: r[c] for c in COLUMNS[:-1]}, "weight": float(r.get("weight") or 1.0)})
            for r in rows]
