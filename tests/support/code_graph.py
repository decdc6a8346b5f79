"""Helpers of the code-graph tests: parse a fixture file, resolve a fixture project, and name
nodes and edges briefly (``src/a.py::A.f`` rather than the full id)."""

from __future__ import annotations

from pathlib import Path

from ingest.code import parse_code
from ingest.code_resolve import CodeResolution, resolve_code
from ingest.languages import language_for
from ingest.types import ParsedFile
from kg.model import EdgeKind, NodeKind

CODE = Path(__file__).resolve().parents[1] / "fixtures" / "code"


def parse(lang: str, path: str) -> ParsedFile:
    """One file of the fixture project of ``lang``, parsed in root "r"."""
    return parse_code("r", path, (CODE / lang / path).read_bytes())


def resolve(lang: str) -> CodeResolution:
    """The whole fixture project of ``lang``, parsed and resolved as root ``lang``."""
    root = CODE / lang
    parsed = [parse_code(lang, p.relative_to(root).as_posix(), p.read_bytes())
              for p in sorted(root.rglob("*")) if p.is_file() and language_for(p.name)]
    return resolve_code(parsed, {lang: root})


def defs(pf: ParsedFile) -> dict[str, tuple[str, str]]:
    """Qualified name → (node kind, definition type) of a parsed file's definitions."""
    return {n.qualname: (n.kind.value, n.props["type"]) for n in pf.nodes
            if n.kind in (NodeKind.CLASS, NodeKind.FUNCTION)}


def docs(pf: ParsedFile) -> dict[str, str]:
    """Qualified name → doc of a parsed file's definitions."""
    return {n.qualname: n.doc for n in pf.nodes if n.kind in (NodeKind.CLASS, NodeKind.FUNCTION)}


def in_file(node_id: str) -> str:
    """``def:r/a.py::A.f`` → ``A.f``; a file id → ``FILE``."""
    return node_id.split("::", 1)[1] if "::" in node_id else "FILE"


def contains(pf: ParsedFile) -> set[tuple[str, str]]:
    return {(in_file(e.src), in_file(e.dst)) for e in pf.edges if e.kind is EdgeKind.CONTAINS}


def short(node_id: str) -> str:
    """``def:py/src/a.py::A.f`` → ``src/a.py::A.f``; ``file:py/x.py`` → ``x.py``; module and
    unresolved ids stay whole."""
    kind, _, rest = node_id.partition(":")
    if kind in ("module", "unresolved"):
        return node_id
    return rest.split("/", 1)[1]


def edges(res: CodeResolution, kind: EdgeKind) -> dict[tuple[str, str], tuple[bool, str]]:
    """(src, dst) → (resolved, how) of the resolved edges of one kind, ids shortened."""
    return {(short(e.src), short(e.dst)): (e.resolved, e.how) for e in res.edges if e.kind is kind}
