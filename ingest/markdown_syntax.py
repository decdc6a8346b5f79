"""Obsidian's Markdown dialect, as small pure helpers for ``ingest.obsidian``.

Everything here works on markdown-it tokens or on the text of one token: wikilinks are a
markdown-it inline rule (so code spans, code blocks and HTML blocks never yield links),
tags are found in the content of *text* tokens only. The helpers that look at the raw
file — the frontmatter split and the ``%%comment%%`` blanking — keep every line in place
so that line numbers stay true.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import frontmatter
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.rules_inline import StateInline

WIKILINK = "wikilink"
_FENCE_LINE = re.compile(r"^-{3,}\s*$")
_TAG_RUN = re.compile(r"#([\w/-]+)")
_WIKILINK_IN_TEXT = re.compile(r"(!?)\[\[([^\[\]\n]+?)\]\]")
_EXTERNAL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_QUALIFIED = re.compile(rf"^{_IDENT}(?:(?:\.|::){_IDENT})*(?:\(\))?$")
_PATHLIKE = re.compile(r"^(?:\.{1,2}/)*[\w.-]+(?:/[\w.-]+)*\.[A-Za-z][A-Za-z0-9]{0,7}$")
_CAMEL = re.compile(r"[a-z0-9][A-Z]|^[A-Z][a-z0-9]+[A-Z]")
_NOT_CODE = {"true", "false", "none", "null", "nil", "undefined", "todo", "e.g", "i.e"}
_COMMENT = "%%"


@dataclass
class LinkParts:
    """A link split as Obsidian reads it: ``path#subpath|alias``."""

    target: str
    subpath: str
    alias: str


def make_parser() -> MarkdownIt:
    """A CommonMark parser with tables, strikethrough and Obsidian wikilinks.

    Returns:
        A ``MarkdownIt`` whose inline tokens include ``wikilink`` tokens
        (``content`` = the text between the brackets, ``meta["embed"]`` for ``![[...]]``).
    """
    md = MarkdownIt("commonmark", {"maxNesting": MAX_NESTING}).enable("table").enable("strikethrough")
    md.inline.ruler.before("link", WIKILINK, _wikilink_rule)
    return md


# CommonMark's preset stops at 20 levels of nesting, which a list indented 9 deep reaches, and
# drops what is deeper without a word. 120 holds about 40 list or 100 quote levels and stays
# well inside Python's recursion limit; deeper lines are read as plain lines (``nested_too_deep``).
MAX_NESTING = 120
_MARKERS = re.compile(r"^(?:\s*(?:>|[-*+](?=\s)|\d{1,9}[.)](?=\s)))+\s*")


_LEAVES = frozenset({"inline", "fence", "code_block", "html_block", "hr"})


def lost_lines(tokens: list[Token], lines: list[str], first: int = 0) -> list[int]:
    """The 0-based lines (from ``first``) with text that no leaf block (a paragraph's or
    heading's inline content, code, HTML, a rule) holds, when the parse reached the nesting
    limit (else []: the parser dropped nothing; a line outside every leaf is then a link
    reference definition or the like)."""
    if not tokens or max(t.level for t in tokens) < MAX_NESTING - 1:
        return []
    held: set[int] = set()
    for tok in tokens:
        if tok.map and tok.type in _LEAVES:
            held.update(range(*tok.map))
    return [i for i in range(first, len(lines)) if i not in held and lines[i].strip()]


def without_markers(line: str) -> str:
    """A line less the quote and list markers it starts with (``> > - [[Note]]`` → ``[[Note]]``)."""
    return _MARKERS.sub("", line, count=1)


def _wikilink_rule(state: StateInline, silent: bool) -> bool:
    src, pos = state.src, state.pos
    embed = src.startswith("![[", pos)
    if not embed and not src.startswith("[[", pos):
        return False
    start = pos + (3 if embed else 2)
    end = src.find("]]", start)
    if end < 0:
        return False
    inner = src[start:end]
    if not inner.strip() or "\n" in inner or "[[" in inner:
        return False
    if not silent:
        token = state.push(WIKILINK, "", 0)
        token.content = inner.replace("\\|", "|")
        token.meta = {"embed": embed}
    state.pos = end + 2
    return True


def split_wikilink(inner: str) -> LinkParts | None:
    """Split the inside of ``[[...]]`` into target, subpath and alias.

    Args:
        inner: the text between the brackets, e.g. ``Folder/Note#H1#H2|shown``.

    Returns:
        The parts (subpath without its leading ``#``), or None when nothing is linked.
    """
    link, _, alias = inner.partition("|")
    target, _, subpath = link.partition("#")
    target, subpath = target.strip(), _clean_subpath(subpath)
    if not target and not subpath:
        return None
    return LinkParts(target=target, subpath=subpath, alias=alias.strip())


def split_markdown_href(href: str) -> LinkParts | None:
    """Split a ``[text](href)`` destination; external URLs give None.

    Args:
        href: the destination as markdown-it normalised it (percent-encoded).

    Returns:
        The URL-decoded path and subpath (alias left empty), or None for external links.
    """
    if not href or _EXTERNAL.match(href) or href.startswith("//"):
        return None
    path, _, subpath = href.partition("#")
    path, _, _query = path.partition("?")
    target, subpath = unquote(path).strip(), _clean_subpath(unquote(subpath))
    if not target and not subpath:
        return None
    return LinkParts(target=target, subpath=subpath, alias="")


def _clean_subpath(subpath: str) -> str:
    parts = [p.strip() for p in subpath.split("#")]
    return "#".join(p for p in parts if p)


def wikilinks_in_text(value: str) -> list[tuple[bool, str]]:
    """The ``[[...]]`` links in a plain string (frontmatter values): (embed, inner) pairs."""
    return [(bang == "!", inner) for bang, inner in _WIKILINK_IN_TEXT.findall(value)]


def is_external(href: str) -> bool:
    """Whether a link destination has a URL scheme (http:, mailto:, obsidian:, ...)."""
    return bool(_EXTERNAL.match(href))


# --- tags -----------------------------------------------------------------------------

def normalise_tag(raw: str) -> str | None:
    """Obsidian's tag rules: one tag name in lower case, or None when it is not a tag.

    A tag holds letters, digits, ``_``, ``-`` and ``/`` (nesting), and at least one
    character that is not a digit: ``#123`` is not a tag, ``#y1984`` is.

    Args:
        raw: the tag as written, with or without its leading ``#``.
    """
    name = raw.strip().lstrip("#").strip("/")
    if not name or not re.fullmatch(r"[\w/-]+", name):
        return None
    name = "/".join(p for p in name.split("/") if p)
    if all(c.isdigit() or c == "/" for c in name):
        return None
    return name.lower()


def tag_lineage(name: str) -> list[str]:
    """A nested tag and its parents: ``a/b/c`` → ``['a/b/c', 'a/b', 'a']``."""
    parts = name.split("/")
    return ["/".join(parts[:i]) for i in range(len(parts), 0, -1)]


def tags_in_text(text: str, before: str) -> list[str]:
    """The inline ``#tags`` in the content of one text token.

    Args:
        text: the token's content.
        before: the character just before the token ('' at the start of a block); a tag
            must start the block or follow whitespace, so ``a#b`` and URLs' ``/#x`` are not tags.

    Returns:
        Tag names, lower case, in order of appearance (duplicates kept).
    """
    found = []
    for match in _TAG_RUN.finditer(text):
        prev = text[match.start() - 1] if match.start() else before
        if prev and not prev.isspace():
            continue
        name = normalise_tag(match.group(1))
        if name:
            found.append(name)
    return found


def is_code_mention(content: str) -> str | None:
    """The code name an inline code span names, or None when it does not look like code.

    Accepted: qualified names (``Flask.make_response``, ``a::b``), calls (``retry()``),
    capitalised, CamelCase or snake_case identifiers (``Backoff``, ``PolicyEngine``,
    ``max_retries``) and file paths
    (``utils/retry.py``). Single plain words (``retry``), anything with spaces, numbers
    and literals (``true``, ``None``) are skipped.

    Args:
        content: the code span's content.

    Returns:
        The name without a trailing ``()``, or None.
    """
    text = content.strip()
    if not text or any(c.isspace() for c in text) or text.lower() in _NOT_CODE:
        return None
    if _QUALIFIED.match(text):
        name = text[:-2] if text.endswith("()") else text
        if text.endswith("()") or "." in name or "::" in name or "_" in name.strip("_") \
                or _CAMEL.search(name) or (name[0].isupper() and any(c.islower() for c in name)):
            return name
        return None
    if _PATHLIKE.match(text) and ("/" in text or "." in text):
        return text
    return None


# --- frontmatter and comments ---------------------------------------------------------

@dataclass
class Frontmatter:
    """A note's frontmatter: its data, how many lines it spans, and any problem found."""

    data: dict[str, Any]
    lines: int  # lines taken by the block, fences included; 0 when there is none
    raw: list[str]
    warning: str = ""


def split_frontmatter(lines: list[str]) -> Frontmatter:
    """Find and load the YAML block between ``---`` fences at the top of a note.

    Broken YAML (including values YAML cannot build, such as ``2024-02-30``), a block that is not a
    mapping, or one that expands past ``MAX_FRONTMATTER_VALUES`` values or
    ``MAX_FRONTMATTER_DEPTH`` levels (YAML aliases can make a few lines expand without
    bound, or refer to themselves) gives empty data and a warning; the block's lines still
    count as frontmatter so that the body is parsed as usual. It never raises.

    Args:
        lines: the note's lines, without line endings.
    """
    if not lines or not _FENCE_LINE.match(lines[0]):
        return Frontmatter({}, 0, [])
    close = next((i for i in range(1, len(lines)) if _FENCE_LINE.match(lines[i])), None)
    if close is None:
        return Frontmatter({}, 0, [])
    raw = lines[1:close]
    try:
        data = frontmatter.YAMLHandler().load("\n".join(raw))
    except Exception as exc:  # noqa: BLE001 - the note's own YAML, reported as a warning
        # Beyond YAMLError, PyYAML's constructors raise whatever building a value raises:
        # ValueError for 2024-02-30, IndexError for an empty !!int, RecursionError...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Frontmatter({}, close + 1, raw, f"broken YAML frontmatter: {first}")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        kind = type(data).__name__
        return Frontmatter({}, close + 1, raw, f"frontmatter is not a mapping (got {kind}); ignored")
    try:
        plain = _plain(data, [MAX_FRONTMATTER_VALUES], 0)
    except _TooLarge:
        return Frontmatter({}, close + 1, raw,
                           f"frontmatter expands to more than {MAX_FRONTMATTER_VALUES:,} values or "
                           f"{MAX_FRONTMATTER_DEPTH} levels (YAML aliases?); ignored")
    return Frontmatter(plain, close + 1, raw)


MAX_FRONTMATTER_VALUES = 10_000
MAX_FRONTMATTER_DEPTH = 50


class _TooLarge(Exception):
    """The frontmatter expands past the limits (internal to ``split_frontmatter``)."""


def _plain(value: Any, budget: list[int], depth: int) -> Any:
    """YAML values made JSON-friendly (dates as ISO strings, keys as strings), within limits."""
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_FRONTMATTER_DEPTH:
        raise _TooLarge
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):  # !!set: in a stable order (set order varies per run)
        value = sorted(value, key=lambda v: (type(v).__name__, str(v)))
    if isinstance(value, (list, tuple)):  # !!omap gives (key, value) tuples
        return [_plain(v, budget, depth + 1) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v, budget, depth + 1) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def string_list(value: Any, *, split: str) -> list[str]:
    """A frontmatter list property as strings: a YAML list or a separated string.

    Args:
        value: the YAML value (list, string, number or None).
        split: a regex that separates items in a string (``,`` for aliases, ``[,\\s]+``
            for tags).
    """
    if value is None:
        return []
    items = value if isinstance(value, list) else re.split(split, str(value))
    out = []
    for item in items:
        if item is None or isinstance(item, (list, dict)):
            continue
        text = str(item).strip()
        if text:
            out.append(text)
    return out


def blank_comments(text: str, code_lines: set[int], inline_ends: dict[int, int]) -> str:
    """Replace every ``%%comment%%`` with spaces, keeping newlines (and line numbers).

    Read left to right in Obsidian's order: whatever opens first wins, so ``%%`` inside an
    inline code span (`` `a %% b` ``) is plain text, and a backtick inside a comment opens
    nothing. A code span is CommonMark's: a run of backticks closed by a run of the same
    length within the same paragraph, heading or table row; a backslash escapes a backtick.

    Args:
        text: the note's text.
        code_lines: 0-based lines inside code blocks, where ``%%`` is plain text.
        inline_ends: 0-based line → the line after the end of the inline block (paragraph,
            heading, table row: markdown-it's ``inline`` tokens) that holds it; a backtick
            on a line outside every such block opens no code span.

    Returns:
        The text with comment contents (markers included) blanked out. An unclosed
        ``%%`` comments out the rest of the note, as in Obsidian.
    """
    starts = [0, *(m.end() for m in re.finditer("\n", text))]  # where each line begins
    out, pos, i, line, counted = [], 0, 0, 0, 0
    unclosed: dict[tuple[int, int], int] = {}
    while True:
        found = _SPECIAL.search(text, i)
        if found is None:
            out.append(text[pos:])
            return "".join(out)
        i, mark = found.start(), found.group()
        line, counted = line + text.count("\n", counted, i), i  # the 0-based line at i
        if mark == "\n" or line in code_lines or line not in inline_ends and mark != _COMMENT:
            i = found.end()
        elif mark == "\\`":  # an escaped backtick opens nothing
            i = found.end()
        elif mark.startswith("`"):
            after = inline_ends[line]
            end = _code_span_end(text, i, len(mark), starts[after] if after < len(starts) else len(text), unclosed)
            i = found.end() if end < 0 else end
        else:  # %%: a comment, to the next %% or the end of the note
            end = text.find(_COMMENT, i + 2)
            end = len(text) if end < 0 else end + 2
            out.append(text[pos:i])
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            pos = i = end


_SPECIAL = re.compile(r"\n|\\`|`+|%%")


def _code_span_end(text: str, start: int, run: int, limit: int, unclosed: dict[tuple[int, int], int]) -> int:
    """Where the code span opened by ``run`` backticks at ``start`` ends (after its closing
    run), or -1 when no run of that length closes it before ``limit`` (the end of its block).
    ``unclosed`` remembers, per run length and block, from where none does, so that a block
    of stray backticks is read once."""
    if start >= unclosed.get((run, limit), limit + 1):
        return -1
    closing = re.compile(rf"(?<!`)`{{{run}}}(?!`)").search(text, start + run, limit)
    if closing is None:
        unclosed[(run, limit)] = start
        return -1
    return closing.end()
