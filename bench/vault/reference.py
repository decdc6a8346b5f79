"""An independent reference for the links of an Obsidian vault, and kg's link recall and
precision against it.

    python -m bench.vault.reference --vault /work/shared/corpora/obsidian-developer-docs \\
        [--json bench/out/vault_ref.json]

The reference shares no code with ``ingest/``: notes are tokenised by mistletoe (kg uses
markdown-it), wikilinks are a mistletoe span token of its own, and targets are resolved by
Obsidian's rules written again from its documentation: case-insensitive, ``.md`` optional,
markdown links relative to the note first and URL-decoded, then a vault path, then a file
name anywhere (a path-like target must match the end of the path), preferring the note's
own folder, then the shortest path. Code blocks, code spans, HTML blocks, external URLs
and ``%%comments%%`` hold no links. Aliases do not resolve links (Obsidian does not).

What it measures (see ``bench.vault.compare``): for every link, the note it is in, the
file it lands on (or ``unresolved:<name>``) and whether it embeds; kg's LINKS_TO / EMBEDS
edges are taken per link (an edge from a heading or a block counts for its note). Recall
and precision are over that multiset; the distinct triples and the ``#heading`` / ``#^block``
a link names are compared as well. Every mismatch is listed with file:line.
"""

from __future__ import annotations

import argparse
import logging
import os
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from mistletoe import Document, block_token, span_token
from mistletoe.base_renderer import BaseRenderer

log = logging.getLogger(__name__)

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_FM_FENCE = re.compile(r"^---\s*$")
_FM_WIKILINK = re.compile(r"(!?)\[\[([^\[\]\n]+?)\]\]")
_BLOCK_ID = re.compile(r"(?:^|\s)\^([A-Za-z0-9-]+)\s*$")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_SKIP_DIRS = {".obsidian", ".trash", ".git"}


class WikiLink(span_token.SpanToken):
    """``[[target#sub|alias]]`` or ``![[...]]``. Its precedence equals a code span's, so of a
    code span and a wikilink that overlap, the one that opens first wins (as in Obsidian)."""

    pattern = re.compile(r"(?<!\\)(!?)\[\[([^\[\]\n]+?)\]\]")
    parse_inner = False
    parse_group = 0
    precedence = 5

    def __init__(self, match: re.Match[str]) -> None:
        self.embed = match.group(1) == "!"
        self.inner = match.group(2)


class _Parser(BaseRenderer):  # a renderer only to register the extra tokens while parsing
    def __init__(self) -> None:
        super().__init__(block_token.HtmlBlock, span_token.HtmlSpan, WikiLink)

    def render_html_block(self, token: object) -> str:
        return ""

    def render_html_span(self, token: object) -> str:
        return ""

    def render_wiki_link(self, token: object) -> str:
        return ""


@dataclass(frozen=True)
class Link:
    """One link as written in a note."""

    source: str  # the note's vault path
    line: int  # 1-based
    raw: str
    target: str  # the path part (URL-decoded for markdown links); '' for the note itself
    subpath: str  # after '#', without it; '' when none
    embed: bool
    markdown: bool


@dataclass
class Note:
    """What the reference reads from one note: its links, headings and block ids."""

    path: str
    links: list[Link] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)  # folded (see ``fold``)
    blocks: set[str] = field(default_factory=set)  # lower case


def fold(text: str) -> str:
    """Heading text as it compares in a link: case and punctuation ignored."""
    return _NOT_ALNUM.sub(" ", text.lower()).strip()


# --- extraction ----------------------------------------------------------------------------


def read_note(path: str, text: str) -> Note:
    """The links, headings and block ids of one note.

    Args:
        path: the note's vault path.
        text: its content.
    """
    note = Note(path)
    lines = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    fm_end = _frontmatter_end(lines)
    for i in range(1, fm_end - 1):
        for bang, inner in _FM_WIKILINK.findall(lines[i]):
            _add_wikilink(note, i + 1, inner, bool(bang))
    body = [""] * fm_end + lines[fm_end:]
    if "%%" in "\n".join(body):
        body = _blank_comments(body, _code_lines(_parse(body)))
    doc = _parse(body)
    for child in doc.children or []:
        if isinstance(child, (block_token.Heading, block_token.SetextHeading)):
            note.headings.append(fold(_heading_text(body, child)))
    _walk_blocks(note, doc)
    note.blocks = {m.group(1).lower() for ln in body if (m := _BLOCK_ID.search(ln))}
    return note


def _parse(lines: list[str]) -> Document:
    with _Parser():
        return Document([ln + "\n" for ln in lines])


def _frontmatter_end(lines: list[str]) -> int:
    """How many lines the YAML frontmatter takes, fences included (0 when none)."""
    if not lines or not _FM_FENCE.match(lines[0]):
        return 0
    close = next((i for i in range(1, len(lines)) if _FM_FENCE.match(lines[i])), None)
    return 0 if close is None else close + 1


def _heading_text(lines: list[str], tok: block_token.BlockToken) -> str:
    first = tok.line_number - 1
    if isinstance(tok, block_token.SetextHeading):
        end = first + 1
        while end < len(lines) and not re.match(r"^ {0,3}(=+|-+)\s*$", lines[end]):
            end += 1
        return " ".join(ln.strip() for ln in lines[first:end])
    text = lines[first].strip().lstrip("#")
    return re.sub(r"\s#+\s*$", "", " " + text).strip()


def _code_lines(doc: Document) -> set[int]:
    """0-based lines inside code blocks and HTML blocks (top level and nested)."""
    found: set[int] = set()
    for tok in _blocks(doc):
        if isinstance(tok, (block_token.CodeFence, block_token.BlockCode, block_token.HtmlBlock)):
            content = tok.children[0].content if tok.children else ""
            span = content.count("\n") + (2 if isinstance(tok, block_token.CodeFence) else 0)
            found.update(range(tok.line_number - 1, tok.line_number - 1 + max(span, 1)))
    return found


def _blocks(tok: object) -> Iterator[block_token.BlockToken]:
    for child in getattr(tok, "children", None) or []:
        if isinstance(child, block_token.BlockToken):
            yield child
            yield from _blocks(child)


def _blank_comments(lines: list[str], code: set[int]) -> list[str]:
    """Obsidian's ``%%``: outside code it opens a comment that the next ``%%`` closes,
    across lines; code spans on a line are skipped. Comment text becomes spaces."""
    out, inside = [], False
    for i, line in enumerate(lines):
        if i in code and not inside:
            out.append(line)
            continue
        chars, pos = list(line), 0
        while pos < len(line):
            tick = re.match(r"`+", line[pos:]) if not inside else None
            if tick:
                close = line.find(tick.group(), pos + len(tick.group()))
                pos = close + len(tick.group()) if close >= 0 else pos + len(tick.group())
                continue
            if line.startswith("%%", pos):
                chars[pos:pos + 2] = "  "
                inside, pos = not inside, pos + 2
                continue
            if inside:
                chars[pos] = " "
            pos += 1
        out.append("".join(chars))
    return out


def _walk_blocks(note: Note, tok: object) -> None:
    for child in getattr(tok, "children", None) or []:
        if isinstance(child, (block_token.CodeFence, block_token.BlockCode, block_token.HtmlBlock)):
            continue
        if isinstance(child, block_token.Table):
            for row in ([child.header] if getattr(child, "header", None) else []) + list(child.children):
                for cell in row.children:
                    _walk_spans(note, cell, [row.line_number])
        elif isinstance(child, (block_token.Paragraph, block_token.Heading, block_token.SetextHeading)):
            _walk_spans(note, child, [child.line_number])
        elif isinstance(child, block_token.BlockToken):
            _walk_blocks(note, child)


def _walk_spans(note: Note, tok: object, line: list[int]) -> None:
    """Links among the span tokens under ``tok``; ``line`` is a one-item counter."""
    for child in getattr(tok, "children", None) or []:
        if isinstance(child, span_token.LineBreak):
            line[0] += 1
        elif isinstance(child, WikiLink):
            _add_wikilink(note, line[0], child.inner, child.embed)
        elif isinstance(child, span_token.Image):
            _add_markdown(note, line[0], child.src, embed=True, raw=f"![]({child.src})")
        elif isinstance(child, span_token.Link):
            start = line[0]
            _walk_spans(note, child, line)  # an image inside a link's text
            raw = f"[{_plain(child)}]({'<%s>' % child.target if ' ' in child.target else child.target})"
            _add_markdown(note, start, child.target, embed=False, raw=raw)
        elif isinstance(child, (span_token.InlineCode, span_token.AutoLink, span_token.HtmlSpan)):
            continue
        else:
            _walk_spans(note, child, line)


def _plain(tok: object) -> str:
    if isinstance(tok, span_token.RawText):
        return tok.content
    if isinstance(tok, WikiLink):
        return f"[[{tok.inner}]]"
    return "".join(_plain(c) for c in getattr(tok, "children", None) or [])


def _add_wikilink(note: Note, line: int, inner: str, embed: bool) -> None:
    link = inner.replace("\\|", "|").split("|", 1)[0]
    target, _, subpath = link.partition("#")
    subpath = "#".join(p.strip() for p in subpath.split("#") if p.strip())
    if target.strip() or subpath:
        raw = f"{'!' if embed else ''}[[{inner}]]"
        note.links.append(Link(note.path, line, raw, target.strip(), subpath, embed, markdown=False))


def _add_markdown(note: Note, line: int, dest: str, *, embed: bool, raw: str) -> None:
    if not dest or _SCHEME.match(dest) or dest.startswith("//"):
        return
    path, _, subpath = dest.partition("#")
    target, subpath = unquote(path).strip(), unquote(subpath).strip()
    subpath = "#".join(p.strip() for p in subpath.split("#") if p.strip())
    if target or subpath:
        note.links.append(Link(note.path, line, raw, target, subpath, embed, markdown=True))


# --- resolution ---------------------------------------------------------------------------


def _key(path: str) -> str:
    low = path.lower()
    return low[:-3] if low.endswith(".md") else low


class Vault:
    """Every file of a vault, and Obsidian's lookup of a link target among them."""

    def __init__(self, files: list[str]) -> None:
        self.files = sorted(files)
        self.by_key = {_key(p): p for p in self.files}  # 'dir/note' or 'dir/a.png' → path
        self.by_name: dict[str, list[str]] = {}
        for p in self.files:
            self.by_name.setdefault(posixpath.basename(_key(p)), []).append(p)

    @classmethod
    def scan(cls, root: Path) -> Vault:
        """The files under ``root`` (hidden folders such as .obsidian left out)."""
        found = []
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
            rel = Path(folder).relative_to(root).as_posix()
            found += [n if rel == "." else f"{rel}/{n}" for n in names if not n.startswith(".")]
        return cls(found)

    def resolve(self, source: str, target: str, *, markdown: bool) -> tuple[str | None, bool]:
        """The file a link target lands on, and whether the choice was a tie.

        Args:
            source: the linking note's path.
            target: the link's path part.
            markdown: a ``[x](y)`` link (resolved relative to the note's folder first).

        Returns:
            (path or None when nothing matches, ambiguous).
        """
        if not target:
            return source, False
        folder = posixpath.dirname(source)
        if (markdown or target.startswith(("./", "../"))) and not target.startswith("/"):
            joined = posixpath.normpath(posixpath.join(folder, target))
            if _key(joined) in self.by_key:
                return self.by_key[_key(joined)], False
        want = _key(target.lstrip("/"))
        if want in self.by_key:
            return self.by_key[want], False
        pool = [p for p in self.by_name.get(posixpath.basename(want), [])
                if "/" not in want or _key(p).endswith("/" + want)]
        if not pool:
            return None, False
        local = [p for p in pool if posixpath.dirname(p) == folder]
        pool = local or pool
        best = min(len(p) for p in pool)  # the shortest path *string*, not the fewest folders
        pool = sorted(p for p in pool if len(p) == best)
        return pool[0], len(pool) > 1


@dataclass(frozen=True)
class Resolved:
    """A link and where the reference says it lands."""

    link: Link
    dst: str  # a vault path or 'unresolved:<name, lower case>'
    section: str  # '' (no subpath), 'found' or 'missing'
    ambiguous: bool = False

    @property
    def kind(self) -> str:
        return "embed" if self.link.embed else "link"


def unresolved(target: str) -> str:
    return "unresolved:" + _key(target).strip()


def reference_links(root: Path) -> tuple[Vault, list[Resolved]]:
    """Read every note of the vault at ``root`` and resolve its links.

    Returns:
        The vault's file index and every link, resolved, in note and line order.
    """
    vault = Vault.scan(root)
    notes = {}
    for path in vault.files:
        if path.lower().endswith(".md"):
            text = (root / path).read_bytes().decode("utf-8", errors="replace")
            notes[path] = read_note(path, text)
    out = []
    for note in notes.values():
        for link in note.links:
            dst, tie = vault.resolve(note.path, link.target, markdown=link.markdown)
            section = ""
            if dst is not None and link.subpath and dst in notes:
                section = "found" if _has_subpath(notes[dst], link.subpath) else "missing"
            elif link.subpath:
                section = "missing"
            out.append(Resolved(link, dst if dst is not None else unresolved(link.target), section, tie))
    return vault, out


def _has_subpath(note: Note, subpath: str) -> bool:
    if subpath.startswith("^"):
        return subpath[1:].lower() in note.blocks
    return fold(subpath.split("#")[-1]) in note.headings


def main(argv: list[str] | None = None) -> int:
    """Run the reference and the comparison with kg; print the report."""
    from bench.vault.compare import compare, write_report

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vault", type=Path, required=True, help="the Obsidian vault's folder")
    parser.add_argument("--json", type=Path, help="also write every link and mismatch here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = compare(args.vault.resolve())
    print(write_report(result, args.json))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
