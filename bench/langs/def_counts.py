"""Definition counts of kg's code parser against an independent one, universal-ctags.

Usage::

    python -m bench.langs.def_counts --lang java DIR [DIR ...] [--json bench/out/defs-java.json] [--show 20]

For every file of the language under the folders, kg's ``parse_code`` gives its Class and
Function nodes and ``ctags`` (``apt-get install universal-ctags``; a different parser with its
own grammar) gives its tags. Both are reduced to the same shape, a multiset of
``(path, simple name, "class" | "function")``, so that where each tool puts a definition's
first line (annotations, decorators, templates) does not matter. The report gives, per
category, kg's count, ctags' count, how many agree, and recall and precision of kg taking
ctags as the reference, then the first differences on each side to read by hand.

Which ctags kinds count as a class or a function is the table ``KINDS`` below: kinds that
kg does not model (fields, enum constants, macros, namespaces, typedefs, prototypes) are
left out on both sides. Nothing here is a pass/fail threshold.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench.bench_code import collect
from ingest.code import parse_code
from kg.model import NodeKind

# kg language → (ctags language name, ctags kind → category).
KINDS: dict[str, tuple[str, dict[str, str]]] = {
    "java": ("Java", {"class": "class", "interface": "class", "enum": "class", "annotation": "class",
                      "method": "function"}),
    "csharp": ("C#", {"class": "class", "struct": "class", "interface": "class", "enum": "class",
                      "method": "function"}),
    "c": ("C", {"struct": "class", "union": "class", "enum": "class", "function": "function"}),
    "cpp": ("C++", {"class": "class", "struct": "class", "union": "class", "enum": "class",
                    "function": "function"}),
    "ruby": ("Ruby", {"class": "class", "module": "class", "method": "function", "singletonMethod": "function"}),
    "php": ("PHP", {"class": "class", "interface": "class", "trait": "class", "function": "function"}),
}

Key = tuple[str, str, str]


def kg_defs(root: Path, lang: str) -> tuple[Counter[Key], set[str]]:
    """kg's definitions under ``root`` in the files kg reads as ``lang`` (a .h is C or C++ by
    its text), and those files."""
    out: Counter[Key] = Counter()
    files = [(rel, data) for rel, file_lang, data in collect(root, with_tests=True) if file_lang == lang]
    for rel, data in files:
        for node in parse_code("bench", rel, data).nodes:
            if node.kind in (NodeKind.CLASS, NodeKind.FUNCTION):
                out[(rel, _norm(node.name), "class" if node.kind is NodeKind.CLASS else "function")] += 1
    return out, {rel for rel, _ in files}


def ctags_defs(root: Path, lang: str, files: set[str]) -> Counter[Key]:
    """ctags' definitions in ``files`` (under ``root``), read as ``lang``."""
    ctags_lang, kinds = KINDS[lang]
    # ctags reads .h as C++; give it the headers kg reads as this language.
    langmap = {"c": ["--langmap=C:+.h"], "cpp": ["--langmap=C++:+.h"]}.get(lang, [])
    run = subprocess.run(["ctags", "--output-format=json", "--fields=+nK", "-R", f"--languages={ctags_lang}",
                          *langmap, "--extras=-q", "-f", "-", "."], cwd=root, capture_output=True, text=True,
                         check=True)
    out: Counter[Key] = Counter()
    for line in run.stdout.splitlines():
        tag = json.loads(line)
        category = kinds.get(tag.get("kind", ""))
        path = tag.get("path", "").removeprefix("./")
        if category and path in files:
            out[(path, _norm(tag["name"].split("::")[-1].split(".")[-1]), category)] += 1
    return out


def _norm(name: str) -> str:
    """A name both tools spell alike: no spaces (``operator <<``), a macro-made name by its macro
    (``FN(Store)`` → ``FN``)."""
    return name.split("(", 1)[0].replace(" ", "") or name.replace(" ", "")


def compare(ours: Counter[Key], ref: Counter[Key]) -> dict[str, dict[str, float]]:
    """Per category: counts, agreement, recall and precision of ``ours`` against ``ref``."""
    table = {}
    for category in ("class", "function"):
        a = Counter({k: v for k, v in ours.items() if k[2] == category})
        b = Counter({k: v for k, v in ref.items() if k[2] == category})
        both = sum((a & b).values())
        n_a, n_b = sum(a.values()), sum(b.values())
        table[category] = {"kg": n_a, "ctags": n_b, "agree": both,
                           "recall": round(both / n_b, 4) if n_b else 1.0,
                           "precision": round(both / n_a, 4) if n_a else 1.0}
    return table


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lang", required=True, choices=sorted(KINDS))
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--json", type=Path, help="write the report here as JSON")
    ap.add_argument("--show", type=int, default=15, help="differences to print on each side")
    args = ap.parse_args(argv)
    report: dict[str, object] = {"lang": args.lang, "machine": platform.platform(), "dirs": {}}
    for folder in args.dirs:
        ours, paths = kg_defs(folder, args.lang)
        ref = ctags_defs(folder, args.lang, paths)
        files = len(paths)
        table = compare(ours, ref)
        only_kg, only_ctags = sorted((ours - ref).elements()), sorted((ref - ours).elements())
        report["dirs"][str(folder)] = {"files": files, "table": table, "only_kg": only_kg, "only_ctags": only_ctags}  # type: ignore[index]
        print(f"{folder}  ({files} {args.lang} files)")
        for category, row in table.items():
            print(f"  {category:9} kg {row['kg']:6}  ctags {row['ctags']:6}  agree {row['agree']:6}  "
                  f"recall {row['recall']:.3f}  precision {row['precision']:.3f}")
        for title, diff in (("only kg", only_kg), ("only ctags", only_ctags)):
            if diff:
                print(f"  {title} ({len(diff)}): " + "; ".join(f"{p}:{n} {c}" for p, n, c in diff[:args.show]))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
