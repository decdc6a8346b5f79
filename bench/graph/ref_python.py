"""Check Python edges against jedi's go-to-definition.

At the reference (the callee's last name, the imported name or module, the base class
name) ``Script.goto(follow_imports=True)`` is asked where it is defined, then ``infer``
when goto's answer is not ours. Definitions outside the tree (builtins, the standard
library, installed packages) leave an edge unconfirmed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import jedi

from bench.graph.corpus import Graph, Site, find_column
from bench.graph.outcome import UNCONFIRMED, Outcome, Place, judge, matches

log = logging.getLogger(__name__)


class JediReference:
    """jedi over one tree, one ``Script`` per file."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.root = graph.root.resolve()
        self.project = jedi.Project(self.root, smart_sys_path=True)
        self.scripts: dict[str, jedi.Script] = {}

    def script(self, path: str) -> jedi.Script:
        if path not in self.scripts:
            code = "\n".join(self.graph.lines(path)) + "\n"
            self.scripts[path] = jedi.Script(code, path=self.root / path, project=self.project)
        return self.scripts[path]

    def place(self, name: Any) -> Place | None:
        """Where a jedi Name is defined, relative to the root when inside it."""
        if name.module_path is None:
            return Place(name.module_name or "?", name.line or 0, False)
        path = Path(name.module_path).resolve()
        try:
            rel = path.relative_to(self.root).as_posix()
        except ValueError:
            return Place(str(path), name.line or 0, False)
        return Place(rel, name.line or 0, True)

    def ask(self, path: str, line: int, column: int) -> list[Place]:
        """goto (following imports), then infer when goto's answers don't settle it."""
        script = self.script(path)
        found: list[Place] = []
        for method in ("goto", "infer"):
            try:
                names = (script.goto(line, column, follow_imports=True) if method == "goto"
                         else script.infer(line, column))
            except Exception as exc:  # jedi raises assorted internal errors on odd code
                log.debug("jedi %s failed at %s:%s:%s: %s", method, path, line, column, exc)
                names = []
            # The name itself (an import jedi could not follow) is no answer.
            found += [p for p in (self.place(n) for n in names)
                      if p is not None and p not in found and (p.path, p.line) != (path, line)]
            if found and any(p.inside for p in found):
                break
        return found

    def check(self, site: Site) -> Outcome:
        """Agree, disagree or unconfirmed for one edge."""
        lines = self.graph.lines(site.src_path)
        line = int(site.edge.line or 0)
        for name in self.names(site):
            at = find_column(lines, line, name, call=site.edge.kind.value == "CALLS",
                             span=30 if site.edge.kind.value == "IMPORTS" else 8)
            if at is None:
                continue
            places = self.ask(site.src_path, at[0], at[1])
            if any(matches(p, site.dst, self.graph.innermost) for p in places) or site.edge.kind.value != "IMPORTS":
                return judge(places, site.dst, self.graph.innermost, f"at {at[0]}:{at[1]} {name!r}")
        return Outcome(UNCONFIRMED, [], f"no place to ask for {site.target!r}")

    def names(self, site: Site) -> list[str]:
        """The names to point at: the callee's or base's last segment; for an import, the
        destination's name (a def, or the module a File is) first, then the names it binds."""
        if site.edge.kind.value != "IMPORTS":
            return [site.name]
        dst = site.dst
        stem = Path(dst.path).stem
        own = Path(dst.path).parent.name if stem == "__init__" else stem
        first = dst.name if dst.kind.value != "File" else own
        return list(dict.fromkeys([first, *site.names, site.name]))
