"""What the code parser knows about the file it is parsing: its definitions (``Def``), its
anonymous functions, and the sweeps that place a position inside them.

Shared by ``ingest.code`` (definitions and nodes) and ``ingest.code_refs`` (calls, imports,
inheritance).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from tree_sitter import Node as TsNode

from ingest.languages import LanguageSpec

CLASS_TYPES = frozenset({"class", "struct", "interface", "trait", "enum", "union", "type"})
FUNCTION_TYPES = frozenset({"function", "method"})
SPACE = re.compile(r"\s+")
_DOT_SPACE = re.compile(r"\s*(?:\.|::)\s*")


@dataclass
class Def:
    """A definition or scope found by the query, before it becomes a node."""

    start: int
    end: int
    row: int
    end_row: int
    type: str  # a CLASS_TYPES / FUNCTION_TYPES member, or "scope"
    name: str = ""
    body: TsNode | None = None
    doc: str = ""
    receiver: str = ""
    self_name: str = ""
    module: bool = False  # an inline module (``@scope.module``)
    file_local: bool = False  # C/C++ `static`: linked only inside its file (``@definition.storage``)
    arity: tuple[int, int] | None = None  # (fewest, most) arguments it takes; most -1: any number
    parent: Def | None = None
    qualname: str = ""
    id: str = ""

    @property
    def is_scope(self) -> bool:
        return self.type == "scope"

    @property
    def is_class(self) -> bool:
        return self.type in CLASS_TYPES


@dataclass
class Source:
    """The file being parsed, with what every step needs."""

    root: str
    path: str
    data: bytes
    lang: LanguageSpec
    defs: list[Def] = field(default_factory=list)
    by_qualname: dict[str, Def] = field(default_factory=dict)  # first non-scope def of each
    closures: list[tuple[int, int]] = field(default_factory=list)  # anonymous functions, by start

    def text(self, node: TsNode | None, start: int | None = None, end: int | None = None) -> str:
        if node is not None:
            start, end = node.start_byte, node.end_byte
        return self.data[start:end].decode("utf-8", errors="replace")


def enclosing(src: Source, nodes: list[TsNode]) -> Iterator[tuple[TsNode, Def | None]]:
    """Pair each node with the innermost definition or scope around it, in one sweep."""
    defs = src.defs
    stack: list[Def] = []
    i = 0
    for node in sorted(nodes, key=lambda n: n.start_byte):
        pos = node.start_byte
        while i < len(defs) and defs[i].start <= pos:
            while stack and stack[-1].end <= defs[i].start:
                stack.pop()
            stack.append(defs[i])
            i += 1
        while stack and stack[-1].end <= pos:
            stack.pop()
        yield node, (stack[-1] if stack else None)


def closures_at(src: Source, positions: list[int]) -> dict[int, tuple[int, ...]]:
    """For each byte position, the starts of the anonymous functions around it, innermost first."""
    out: dict[int, tuple[int, ...]] = {}
    stack: list[tuple[int, int]] = []
    i, ranges = 0, src.closures
    for pos in sorted(set(positions)):
        while i < len(ranges) and ranges[i][0] <= pos:
            while stack and stack[-1][1] <= ranges[i][0]:
                stack.pop()
            stack.append(ranges[i])
            i += 1
        while stack and stack[-1][1] <= pos:
            stack.pop()
        out[pos] = tuple(start for start, _ in reversed(stack))
    return out


def first(caps: dict[str, list[TsNode]], key: str) -> TsNode | None:
    nodes = caps.get(key)
    return nodes[0] if nodes else None


def squash(text: str) -> str:
    """A callee as one line: ``promise\n  .then`` → ``promise.then``, ``new  A`` → ``new A``."""
    if not SPACE.search(text):
        return text
    return SPACE.sub(" ", _DOT_SPACE.sub(lambda m: m.group(0).strip(), text)).strip()


def arity(parameters: TsNode) -> tuple[int, int]:
    """How many arguments a parameter list takes: (fewest, most), most -1 for any number.

    A parameter with a default value (``int b = 2``, an ``optional_*`` node) is optional; a
    spread or variadic one (``String... rest``, C's ``...``), or a list that holds more than
    parameters (tree-sitter-c-sharp spells ``params int[] r`` as a type and a name), takes
    any number.
    """
    items = [c for c in parameters.named_children if "comment" not in c.type]
    params = [c for c in items if "parameter" in c.type]
    spread = [c for c in params if "spread" in c.type or "variadic" in c.type]
    variadic = bool(spread) or len(params) < len(items) or any(c.type == "..." for c in parameters.children)
    optional = sum(1 for c in params if "optional" in c.type or _has_default(c))
    required = len(params) - optional - len(spread)
    return max(0, required), -1 if variadic else len(params)


def _has_default(parameter: TsNode) -> bool:
    """A default value: a ``default_value`` field, or an ``=`` of the parameter itself (C#)."""
    return parameter.child_by_field_name("default_value") is not None or any(
        c.type in ("=", "equals_value_clause") for c in parameter.children)


def argument_count(arguments: TsNode) -> int:
    """How many arguments a call passes."""
    return sum(1 for c in arguments.named_children if "comment" not in c.type)

