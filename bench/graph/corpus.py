"""Parse and resolve one corpus in-process, and describe its resolved edges as checkable sites.

No store and no model: the same ``parse_code`` + ``resolve_code`` calls as
``bench.bench_code``, then, for every resolved CALLS / IMPORTS / INHERITS edge whose
destination is a Class, Function or File node of the tree, a ``Site``: where the reference
is written (file, line, the name to point at) and where the destination is defined.
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.bench_code import collect
from ingest.code import parse_code
from ingest.code_resolve import resolve_code
from ingest.types import Ref
from kg.model import Edge, Node, NodeKind

# The tree of each language in ../shared/corpora ("" for languages with no tree there: pass
# --tree, a real package from a registry, named in its samples file).
CORPORA = {"python": "httpx", "typescript": "hono", "javascript": "express", "go": "chi", "rust": "ripgrep",
           "java": "", "csharp": "", "c": "", "cpp": "", "ruby": "", "php": ""}
# The language labels the parser gives files of each benchmark language (C++ trees hold C too).
PARSED_LANGS = {"python": {"python"}, "typescript": {"typescript", "tsx"}, "javascript": {"javascript"},
                "go": {"go"}, "rust": {"rust"}, "java": {"java"}, "csharp": {"csharp"}, "c": {"c"},
                "cpp": {"cpp", "c"}, "ruby": {"ruby"}, "php": {"php"}}
KINDS = ("CALLS", "IMPORTS", "INHERITS")
_DSTS = (NodeKind.CLASS, NodeKind.FUNCTION, NodeKind.FILE)
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")


@dataclass
class Site:
    """One resolved edge, placed in the source.

    Attributes:
        edge: the edge (``line`` is the first reference it merges).
        src_path: the file, relative to the root, where the reference is written.
        target: the reference as written (``self.client.get``, ``httpx._models``, ``Base``).
        names: names the reference binds or points at (imported names), for imports.
        dst: the destination node (a Class, Function or File of the tree).
    """

    edge: Edge
    src_path: str
    target: str
    names: list[str]
    dst: Node

    @property
    def key(self) -> tuple[str, str, str, int]:
        """What identifies the edge across runs: ``(src, dst, kind, line)``."""
        return (self.edge.src, self.edge.dst, self.edge.kind.value, int(self.edge.line or 0))

    @property
    def name(self) -> str:
        """The last name segment of the reference: what a go-to-definition should point at."""
        text = self.target
        if self.edge.kind.value == "INHERITS":  # a base as written: drop type arguments and pointers
            text = re.split(r"[\[<(]", text.strip().lstrip("*&").strip(), maxsplit=1)[0]
        found = _IDENT.findall(text)
        return found[-1] if found else ""


@dataclass
class Graph:
    """A parsed and resolved corpus."""

    lang: str
    root: Path
    label: str
    nodes: dict[str, Node]
    sites: list[Site]
    stats: Counter[str]
    defs: list[Node] = field(default_factory=list)

    def calls_share(self) -> tuple[int, int]:
        """(resolved calls, all calls) over every language label of this benchmark language."""
        langs = PARSED_LANGS[self.lang]
        calls = sum(v for k, v in self.stats.items() if k.split(".")[0] in langs and k.endswith(".calls"))
        done = sum(v for k, v in self.stats.items() if k.split(".")[0] in langs and k.endswith(".calls_resolved"))
        return done, calls

    def innermost(self, path: str, line: int) -> Node | None:
        """The innermost Class or Function of ``path`` whose span holds ``line``.

        Every parsed def counts, also those sharing an id (overload signatures, a name
        declared in two namespaces of one file): they are one node of the graph.
        """
        cache: dict[str, list[Node]] = self.__dict__.setdefault("_defs", {})
        if not cache:
            for node in self.defs:
                cache.setdefault(node.path, []).append(node)
        best: Node | None = None
        for node in cache.get(path, []):
            start, end = node.start_line or 0, node.end_line or node.start_line or 0
            if start <= line <= end and (best is None or (start, -end) > (best.start_line or 0, -(best.end_line or 0))):
                best = node
        return best

    def lines(self, path: str) -> list[str]:
        """The lines of a file of the tree (cached)."""
        cache: dict[str, list[str]] = self.__dict__.setdefault("_lines", {})
        if path not in cache:
            cache[path] = (self.root / path).read_text(encoding="utf-8", errors="replace").splitlines()
        return cache[path]

    def line_text(self, path: str, line: int | None) -> str:
        """One line (1-based) of a file, stripped; empty when out of range."""
        text = self.lines(path)
        return text[line - 1].strip() if line and 0 < line <= len(text) else ""


def build(lang: str, root: Path, label: str = "") -> Graph:
    """Parse and resolve every file of ``root`` (tests included) and place its resolved edges.

    Args:
        lang: the benchmark language (a key of ``CORPORA``); other languages' edges are dropped.
        root: the tree.
        label: the root label used in node ids (default: the folder name).

    Returns:
        The graph, with one ``Site`` per resolved edge to a Class, Function or File of the tree.
    """
    label = label or root.name
    parsed = [parse_code(label, path, data) for path, _, data in collect(root, with_tests=True)]
    result = resolve_code(parsed, {label: root})
    nodes = {n.id: n for pf in parsed for n in pf.nodes}
    file_of = {n.id: n.path for n in nodes.values()}
    langs = PARSED_LANGS[lang]
    refs: dict[tuple[str, str, int | None], list[Ref]] = defaultdict(list)
    for pf in parsed:
        if pf.lang in langs:
            for ref in pf.refs:
                refs[(ref.src, ref.kind.value, ref.line)].append(ref)
    defs = [n for pf in parsed for n in pf.nodes if n.kind in (NodeKind.CLASS, NodeKind.FUNCTION) and n.start_line]
    graph = Graph(lang, root, label, nodes, [], result.stats, defs=defs)
    for edge in result.edges:
        dst = nodes.get(edge.dst)
        if (edge.kind.value not in KINDS or not edge.resolved or dst is None or dst.kind not in _DSTS
                or edge.src not in file_of or nodes[edge.src].lang not in langs):
            continue
        ref = _pick_ref(refs.get((edge.src, edge.kind.value, edge.line), []), dst)
        graph.sites.append(Site(edge, file_of[edge.src], ref.target if ref else "",
                                list(ref.props.get("names", [])) if ref else [], dst))
    return graph


def _pick_ref(candidates: list[Ref], dst: Node) -> Ref | None:
    """The reference on the edge's line that names the destination (the first one otherwise)."""
    for ref in candidates:
        found = _IDENT.findall(ref.target)
        if found and found[-1] == dst.name:
            return ref
    return candidates[0] if candidates else None


def shuffled(sites: Iterable[Site], kind: str, seed: int, stratum: str = "main") -> list[Site]:
    """The sites of one edge kind and stratum in a seeded random order.

    ``stratum`` "main" keeps every ``how`` but "unique-name" (name-only guesses);
    "unique-name" keeps only those; "all" keeps everything.
    """
    pool = sorted((s for s in sites if s.edge.kind.value == kind and _in_stratum(s, stratum)), key=lambda s: s.key)
    random.Random(f"{seed}:{kind}:{stratum}").shuffle(pool)
    return pool


def sample(sites: Iterable[Site], kind: str, n: int, seed: int, stratum: str = "main") -> list[Site]:
    """A seeded random sample of ``n`` sites of one kind and stratum (all of them when fewer),
    sorted by key: the first ``n`` of ``shuffled``."""
    return sorted(shuffled(sites, kind, seed, stratum)[:n], key=lambda s: s.key)


def _in_stratum(site: Site, stratum: str) -> bool:
    if stratum == "all":
        return True
    return (site.edge.how == "unique-name") == (stratum == "unique-name")


def find_column(lines: list[str], line: int, name: str, call: bool, span: int = 8) -> tuple[int, int] | None:
    """Where ``name`` is written at or after ``line`` (1-based line, 0-based column).

    A call's node starts where its receiver does, so a chained call's name can sit a few
    lines below; an occurrence followed by ``(`` (or ``<`` / ``!`` for generics and macros)
    is preferred when ``call`` is set.
    """
    if not name:
        return None
    word = re.compile(rf"(?<![\w$]){re.escape(name)}(?![\w$])")
    first: tuple[int, int] | None = None
    for ln in range(line, min(line + span, len(lines)) + 1):
        for m in word.finditer(lines[ln - 1]):
            rest = lines[ln - 1][m.end():].lstrip()
            if not call or rest[:1] in ("(", "<", "!") or rest.startswith("::<") or rest == "":
                return (ln, m.start())
            first = first or (ln, m.start())
    return first


def describe(site: Site, graph: Graph) -> dict[str, Any]:
    """The fields a human needs to judge an edge: both places, as written."""
    dst = site.dst
    return {
        "src": site.edge.src, "dst": site.edge.dst, "kind": site.edge.kind.value, "line": site.key[3],
        "how": site.edge.how, "target": site.target,
        "site": f"{site.src_path}:{site.edge.line}", "site_text": graph.line_text(site.src_path, site.edge.line),
        "def": f"{dst.path}:{dst.start_line or 1}",
        "def_text": graph.line_text(dst.path, dst.start_line) if dst.start_line else dst.path,
    }
