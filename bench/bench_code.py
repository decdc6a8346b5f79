"""Benchmark the code graph: kg's parse + resolve against a bare tree-sitter parse.

Usage::

    python -m bench.bench_code                      # the Python stdlib, plus JS/Go/Rust trees if present
    python -m bench.bench_code --tree javascript=/usr/lib/node_modules --tree go=~/go/src

For each tree it reports files, lines, the time of a bare tree-sitter parse of the same
files, kg's parse (``parse_code``) and resolve (``resolve_code``) times, their ratio to the
bare parse (the goal is ≤ 2×), lines per second, and the share of calls resolved per
language; at the end the peak resident memory of the process. The stdlib run skips
``site-packages`` and test folders (``test``, ``tests``, ``idle_test``) unless ``--with-tests``.
Timings are ratios measured in one process, never pass/fail thresholds.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import sysconfig
import time
from collections import Counter
from pathlib import Path

from ingest.code import is_minified, parse_code
from ingest.code_resolve import resolve_code
from ingest.languages import language_for, parser

TEST_DIRS = {"test", "tests", "idle_test", "__pycache__"}
SKIP_DIRS = {"site-packages", "node_modules_cache", ".git"}
DEFAULT_TREES = [("javascript", "/usr/lib/node_modules"), ("go", "/usr/share/gocode"),
                 ("rust", "/usr/share/cargo/registry")]


def collect(root: Path, with_tests: bool) -> list[tuple[str, str, bytes]]:
    """(relative path, language, bytes) of every parseable, non-minified file under root."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and (with_tests or d not in TEST_DIRS)]
        for name in filenames:
            lang = language_for(name)
            if lang is None:
                continue
            path = Path(dirpath) / name
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if len(data) > 2_000_000 or is_minified(data.decode("utf-8", "replace")):
                continue
            out.append((path.relative_to(root).as_posix(), language_for(name, data) or lang, data))
    return out


def run_tree(label: str, root: Path, with_tests: bool) -> dict[str, object]:
    files = collect(root, with_tests)
    lines = sum(data.count(b"\n") + 1 for _, _, data in files)
    parsers = {lang: parser(lang) for lang in {lang for _, lang, _ in files}}
    started = time.perf_counter()
    for _, lang, data in files:
        parsers[lang].parse(data)
    bare = time.perf_counter() - started
    started = time.perf_counter()
    parsed = [parse_code(label, path, data) for path, _, data in files]
    parse_s = time.perf_counter() - started
    started = time.perf_counter()
    res = resolve_code(parsed, {label: root})
    resolve_s = time.perf_counter() - started
    defs = sum(1 for pf in parsed for n in pf.nodes if n.kind.value in ("Class", "Function"))
    return {"label": label, "root": str(root), "files": len(files), "lines": lines, "defs": defs,
            "bare": bare, "parse": parse_s, "resolve": resolve_s, "stats": res.stats,
            "edges": Counter(e.kind.value for e in res.edges)}


def report(row: dict[str, object]) -> list[str]:
    bare, parse_s, resolve_s = float(row["bare"]), float(row["parse"]), float(row["resolve"])  # type: ignore[arg-type]
    total = parse_s + resolve_s
    out = [f"{row['label']:<12} {row['files']:>7,} {row['lines']:>10,} {row['defs']:>8,} {bare:>8.2f} "
           f"{parse_s:>8.2f} {resolve_s:>8.2f} {total / bare if bare else 0:>6.2f}x "
           f"{int(row['lines']) / total if total else 0:>10,.0f}"]  # type: ignore[call-overload]
    stats: Counter[str] = row["stats"]  # type: ignore[assignment]
    for lang in sorted({k.split(".")[0] for k in stats}):
        calls, ok = stats[f"{lang}.calls"], stats[f"{lang}.calls_resolved"]
        imports, internal = stats[f"{lang}.imports"], stats[f"{lang}.imports_internal"]
        out.append(f"    {lang:<11} calls {calls:>8,}  resolved {ok / calls if calls else 0:6.1%}   "
                   f"imports {imports:>7,}  internal {internal:>7,}  external {stats[f'{lang}.imports_external']:>7,}"
                   f"  unresolved {stats[f'{lang}.imports_unresolved']:>5,}")
    out.append(f"    edges {dict(row['edges'])}")  # type: ignore[call-overload]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--python", default=sysconfig.get_paths()["stdlib"], help="the Python tree (stdlib)")
    ap.add_argument("--tree", action="append", default=[], metavar="LABEL=DIR", help="another tree to run")
    ap.add_argument("--with-tests", action="store_true", help="include test folders")
    args = ap.parse_args(argv)
    trees = [("python-stdlib", Path(args.python))]
    extra = [tuple(t.split("=", 1)) for t in args.tree] or DEFAULT_TREES
    trees += [(label, Path(d).expanduser()) for label, d in extra if Path(d).expanduser().is_dir()]
    print(f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cpus, Python {sys.version.split()[0]}, "
          f"{platform.system()} {platform.release()}")
    print(f"{'tree':<12} {'files':>7} {'lines':>10} {'defs':>8} {'bare s':>8} {'parse s':>8} {'resolv s':>8} "
          f"{'ratio':>7} {'lines/s':>10}")
    for label, root in trees:
        for line in report(run_tree(label, root, args.with_tests)):
            print(line)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (ru_maxrss): {peak:,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
