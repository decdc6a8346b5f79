"""Note → code mentions: inline code in a note that names exactly one definition or file.

The vault parser emits ``Ref(kind=MENTIONS, target=<inline code>, props={"code": True})``
from Note and Heading nodes. A target becomes a MENTIONS edge when it identifies exactly
one thing across the code roots:

- a qualified name (``Flask.make_response``, ``flask.app.Flask.make_response`` where the
  leading part is the module path) → ``how="qualname"``;
- a simple name that only one definition has (``PolicyEngine``) → ``how="name"``;
- a file path (``utils/retry.py``, also as the unique tail of a longer path) → ``how="path"``.

Precision over recall: a name more than one definition has is left out and counted
(``stats["ambiguous"]``); so are short or common names (``get``, ``run``, ``main``).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ingest.types import ParsedFile, Ref
from kg.model import Edge, EdgeKind, NodeKind, check_pair

log = logging.getLogger(__name__)

MIN_NAME_LENGTH = 4
COMMON_NAMES = frozenset({
    "get", "set", "run", "main", "init", "__init__", "test", "tests", "setup", "start", "stop", "call",
    "self", "this", "none", "null", "true", "false", "data", "name", "value", "type", "list", "dict",
    "string", "object", "error", "index", "load", "save", "read", "write", "open", "close", "update",
    "create", "delete", "apply", "build", "parse", "print", "__call__", "__main__", "config",
})
_CALL_SUFFIX = re.compile(r"\(.*\)$")
_PATH_LIKE = re.compile(r"^[\w.@~+-]+(/[\w.@~+-]+)*\.\w{1,5}$")


@dataclass
class MentionResolution:
    """MENTIONS edges from notes and headings to code, with counts and warnings."""

    edges: list[Edge] = field(default_factory=list)
    stats: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _CodeIndex:
    by_qualname: dict[str, list[tuple[str, NodeKind, str]]] = field(default_factory=dict)  # → (id, kind, module)
    by_name: dict[str, list[tuple[str, NodeKind]]] = field(default_factory=dict)
    by_path: dict[str, list[str]] = field(default_factory=dict)  # path and its tails → file ids

    def add(self, pf: ParsedFile) -> None:
        module = _module_path(pf.path)
        for node in pf.nodes:
            if node.kind is NodeKind.FILE:
                parts = pf.path.split("/")
                for i in range(len(parts)):
                    self.by_path.setdefault("/".join(parts[i:]), []).append(node.id)
            elif node.kind in (NodeKind.CLASS, NodeKind.FUNCTION) and node.qualname:
                self.by_qualname.setdefault(node.qualname, []).append((node.id, node.kind, module))
                self.by_name.setdefault(node.name, []).append((node.id, node.kind))


def _module_path(path: str) -> str:
    """``src/flask/app.py`` → ``src.flask.app`` (``__init__``/``index``/``mod`` dropped)."""
    stem = path.rsplit(".", 1)[0]
    parts = [p for p in stem.split("/") if p]
    if parts and parts[-1] in ("__init__", "index", "mod", "lib"):
        parts.pop()
    return ".".join(parts)


def _normalise(target: str) -> str:
    text = target.strip().strip("`").strip()
    text = _CALL_SUFFIX.sub("", text)
    return text.replace("::", ".").replace("#", ".").rstrip(".")


class _Matcher:
    def __init__(self, index: _CodeIndex, stats: Counter[str]) -> None:
        self.index = index
        self.stats = stats

    def match(self, target: str) -> tuple[str, NodeKind, str] | None:
        """The one node a mention names, with how it was found; counts why not otherwise."""
        raw = target.strip().strip("`").strip()
        if "/" in raw or _PATH_LIKE.match(raw) and "." in raw and not raw[0].isupper():
            hit = self._path(raw)
            if hit is not None:
                return hit
        text = _normalise(raw)
        if not text or not re.fullmatch(r"[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*", text):
            self.stats["not_a_name"] += 1
            return None
        if "." in text:
            return self._qualname(text)
        return self._name(text)

    def _path(self, raw: str) -> tuple[str, NodeKind, str] | None:
        ids = self.index.by_path.get(raw.lstrip("./"), [])
        if len(set(ids)) == 1:
            return ids[0], NodeKind.FILE, "path"
        if len(set(ids)) > 1:
            self.stats["ambiguous"] += 1
        return None

    def _qualname(self, text: str) -> tuple[str, NodeKind, str] | None:
        hits = self.index.by_qualname.get(text, [])
        if not hits:
            parts = text.split(".")
            for i in range(1, len(parts)):
                module, qual = ".".join(parts[:i]), ".".join(parts[i:])
                found = [h for h in self.index.by_qualname.get(qual, [])
                         if h[2] == module or h[2].endswith("." + module)]
                if found:
                    hits = found
                    break
        return self._one([(h[0], h[1]) for h in hits], "qualname")

    def _name(self, text: str) -> tuple[str, NodeKind, str] | None:
        if len(text) < MIN_NAME_LENGTH or text.lower() in COMMON_NAMES:
            self.stats["too_common"] += 1
            return None
        return self._one(self.index.by_name.get(text, []), "name")

    def _one(self, hits: list[tuple[str, NodeKind]], how: str) -> tuple[str, NodeKind, str] | None:
        unique = list(dict.fromkeys(hits))
        if len(unique) == 1:
            return unique[0][0], unique[0][1], how
        self.stats["ambiguous" if unique else "unmatched"] += 1
        return None


class MentionResolver:
    """Resolves the mentions of one note at a time against the code files it was made with
    (a long-lived pipeline keeps one while no code file changes, and each note's result while
    that note does not).

    Args:
        code: every parsed code file.
    """

    def __init__(self, code: Iterable[ParsedFile]) -> None:
        self.index = _CodeIndex()
        for pf in code:
            if pf.kind == "code":
                self.index.add(pf)

    def note(self, pf: ParsedFile) -> MentionResolution:
        """One MENTIONS edge per (note or heading, code node) of this note, with its counts."""
        out = MentionResolution()
        matcher = _Matcher(self.index, out.stats)
        edges: dict[tuple[str, str, str], Edge] = {}
        for ref in pf.refs:
            if ref.kind is EdgeKind.MENTIONS:
                _resolve_one(ref, matcher, edges, out.stats)
        out.edges = list(edges.values())
        return out


def merge_mentions(parts: Iterable[MentionResolution]) -> MentionResolution:
    """The notes' results as one."""
    out = MentionResolution()
    for part in parts:
        out.edges += part.edges
        out.stats.update(part.stats)
        out.warnings += part.warnings
    log.info("resolved mentions: %s", dict(out.stats))
    return out


def resolve_mentions(parsed: Iterable[ParsedFile]) -> MentionResolution:
    """Resolve the MENTIONS refs of notes to the definitions and files they name.

    Args:
        parsed: every parsed file (code files give the index, notes give the refs).

    Returns:
        One MENTIONS edge per (note or heading, code node), ``how`` saying whether it was
        found by qualified name, unique simple name or path, and counts of what was left out.
    """
    parsed = list(parsed)
    resolver = MentionResolver(parsed)
    return merge_mentions(resolver.note(pf) for pf in parsed if pf.kind == "note")


def _resolve_one(ref: Ref, matcher: _Matcher, edges: dict[tuple[str, str, str], Edge],
                 stats: Counter[str]) -> None:
    stats["mentions"] += 1
    hit = matcher.match(ref.target)
    if hit is None:
        return
    dst, kind, how = hit
    if not check_pair(EdgeKind.MENTIONS, ref.src_kind, kind):
        stats["mentions_invalid_source"] += 1
        return
    stats["mentions_resolved"] += 1
    key = (ref.src, EdgeKind.MENTIONS.value, dst)
    if key in edges:
        edges[key].props["count"] = edges[key].props.get("count", 1) + 1
        return
    edges[key] = Edge(src=ref.src, kind=EdgeKind.MENTIONS, dst=dst, src_kind=ref.src_kind, dst_kind=kind,
                      how=how, line=ref.line, props={"text": ref.target})
