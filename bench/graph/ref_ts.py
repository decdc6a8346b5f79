"""Check TypeScript and JavaScript edges against TypeScript's LanguageService.

All the sites of a run go to ``ts_defs.js`` in one ``node`` process (the program is built
once); it answers ``getDefinitionAtPosition`` for each. ``npm install`` in ``bench/graph``
brings the pinned ``typescript``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bench.graph.corpus import Graph, Site, find_column
from bench.graph.outcome import AGREE, UNCONFIRMED, Outcome, Place, judge, matches

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "ts_defs.js"


class ReferenceMissing(RuntimeError):
    """The reference resolver cannot run (no node, or typescript not installed)."""


def _utf16(text: str, column: int) -> int:
    """A code-point column as TypeScript counts it (UTF-16 code units)."""
    return len(text[:column].encode("utf-16-le")) // 2


class TypeScriptReference:
    """TypeScript's go-to-definition over one tree."""

    def __init__(self, graph: Graph, timeout_s: float = 900) -> None:
        if shutil.which("node") is None:
            raise ReferenceMissing("node is not on PATH: install Node.js (Debian: apt-get install nodejs)")
        if not (HERE / "node_modules" / "typescript").is_dir():
            raise ReferenceMissing(f"typescript is not installed: run `npm install` in {HERE}")
        self.graph = graph
        self.timeout_s = timeout_s

    def check_all(self, sites: list[Site]) -> list[Outcome]:
        """One outcome per site, in order: every query goes to one node process."""
        queries: list[dict[str, Any]] = []
        asked: list[tuple[int, str, int, int]] = []
        for i, site in enumerate(sites):
            for name, at in self.positions(site):
                text = self.graph.lines(site.src_path)[at[0] - 1]
                queries.append({"file": site.src_path, "line": at[0], "column": _utf16(text, at[1])})
                asked.append((i, name, at[0], at[1]))
        answers = self.run(queries)
        outcomes: list[Outcome | None] = [None] * len(sites)
        for (i, name, line, col), answer in zip(asked, answers, strict=True):
            places = [Place(d["file"], int(d["line"]), bool(d["inside"])) for d in answer["definitions"]
                      if (d["file"], int(d["line"])) != (sites[i].src_path, line)]  # an unresolved import's alias
            note = f"at {line}:{col} {name!r}" + (f" ({answer['error']})" if answer["error"] else "")
            previous = outcomes[i]
            better = previous is not None and previous.verdict != AGREE and any(
                matches(p, sites[i].dst, self.graph.innermost) for p in places)
            if previous is None or better:
                outcomes[i] = judge(places, sites[i].dst, self.graph.innermost, note)
        return [o or Outcome(UNCONFIRMED, [], f"no place to ask for {s.target!r}") for o, s in zip(outcomes, sites)]

    def run(self, queries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        request = json.dumps({"root": str(self.graph.root.resolve()), "queries": queries})
        proc = subprocess.run(["node", str(SCRIPT)], input=request, capture_output=True, text=True,
                              timeout=self.timeout_s, cwd=HERE, check=False)
        if proc.returncode != 0:
            raise ReferenceMissing(f"{SCRIPT.name} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
        answers: list[dict[str, Any]] = json.loads(proc.stdout)
        return answers

    def positions(self, site: Site) -> list[tuple[str, tuple[int, int]]]:
        """Where to ask, best first: the callee's or base's last name; for an import of a
        File, inside its module specifier string; for an import of a def, the def's name and
        then the other names the import binds."""
        lines, line, kind = self.graph.lines(site.src_path), int(site.edge.line or 0), site.edge.kind.value
        if kind != "IMPORTS":
            at = find_column(lines, line, site.name, call=kind == "CALLS")
            return [(site.name, at)] if at else []
        out: list[tuple[str, tuple[int, int]]] = []
        if site.dst.kind.value == "File" and site.target:
            for ln in range(line, min(line + 30, len(lines)) + 1):
                for quote in ("'", '"', "`"):
                    col = lines[ln - 1].find(quote + site.target + quote)
                    if col >= 0 and not out:
                        out.append((site.target, (ln, col + 1)))
        for name in dict.fromkeys([site.dst.name if site.dst.kind.value != "File" else "", *site.names]):
            at = find_column(lines, line, name, call=False, span=30) if name and name != "*" else None
            if at:
                out.append((name, at))
        return out
