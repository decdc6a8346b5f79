"""Ingest benchmark: a generated vault of N notes and M links, then a one-note re-ingest.

    python bench/bench_ingest.py [--notes 5000] [--links 50000] [--out bench/out]

Reports ingest time and notes/s, re-ingest time after changing one note (goal < 1 s),
a no-change re-ingest, and peak memory (ru_maxrss). The search index is not built here
(see bench/search/). Baseline in the same run: reading every file's bytes (the floor any
ingest pays), so the ratio is comparable across machines.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.gen_vault import generate  # noqa: E402
from ingest.pipeline import IngestOptions, Pipeline  # noqa: E402
from kg.store.ladybug import LadybugStore  # noqa: E402


def _ingest(db: Path, vault: Path) -> tuple[float, dict]:
    store = LadybugStore.open(db / "graph")
    store.migrate()
    pipeline = Pipeline(store, db / "ingest.sqlite", IngestOptions())
    started = time.perf_counter()
    report = pipeline.ingest([("vault", vault)])
    seconds = time.perf_counter() - started
    pipeline.close()
    store.close()
    return seconds, report.as_dict()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notes", type=int, default=5000)
    parser.add_argument("--links", type=int, default=50000)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kg-bench-"))
    vault, db = work / "vault", work / "db"
    paths = generate(vault, args.notes, args.links)
    started = time.perf_counter()
    total_bytes = sum(len(p.read_bytes()) for p in paths)
    read_s = time.perf_counter() - started
    full_s, full = _ingest(db, vault)
    changed = paths[len(paths) // 2]
    changed.write_text(changed.read_text(encoding="utf-8") + "\nAn added line with [[Note 1]].\n", encoding="utf-8")
    one_s, one = _ingest(db, vault)
    none_s, _ = _ingest(db, vault)
    result = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "notes": args.notes, "links": args.links, "bytes": total_bytes,
        "read_only_s": round(read_s, 3), "ingest_s": round(full_s, 2),
        "notes_per_s": round(args.notes / full_s, 1), "ratio_to_reading": round(full_s / max(read_s, 1e-9), 1),
        "reingest_one_changed_s": round(one_s, 3), "reingest_unchanged_s": round(none_s, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "graph": {"nodes": full["nodes"], "edges": full["edges"]}, "resolution": full["resolution"],
        "one_changed_written": one["written"],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_ingest.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
