"""The Obsidian parser: one Markdown note → a ``ParsedFile``.

The note is tokenised by markdown-it (see ``ingest.markdown_syntax``), so nothing in a code
block, a code span or an HTML block becomes a link or a tag. The parser produces:

* nodes: the Note, its Headings (by heading path), its Blocks (``^block-id``) and the Tags
  it uses (nested tags bring their parents);
* local edges: CONTAINS (note → top-level headings → sub-headings; the innermost section →
  its blocks), TAGGED (note → every tag; for inline tags also the innermost heading →
  tag), TAG_PARENT (``area/sub`` → ``area``);
* refs for the link resolver: wikilinks, markdown links and embeds (LINKS_TO / EMBEDS),
  ``[[links]]`` in frontmatter values, and inline code spans that name code (MENTIONS,
  ``props["code"]``), each from the innermost heading or block around it (the note above
  the first heading). A ref that starts at a block also carries ``props["section"]``, the
  id of the heading or note around that block. MENTIONS refs never start at a block (the
  graph allows them only from notes and headings), so they come from the innermost section.

Headings are the top-level ones (not those inside quotes or lists), Markdown's and HTML's
(``<h3 name="complete">Does it complete?</h3>``, as READMEs and FAQs on GitHub write them;
their ``name`` or ``id`` is an anchor links may use: ``FAQ.md#complete``). A heading's
``start_line``/``end_line`` span its whole section (sub-sections included); its ``text`` is
its heading path plus its own text up to the next heading of any level. A heading path
that repeats (two ``## Notes`` under one parent) is one node; Obsidian links to the first.
"""

from __future__ import annotations

import html as html_lib
import logging
import posixpath
import re
from dataclasses import dataclass, field

from markdown_it.token import Token

from ingest import markdown_syntax as mds
from ingest.types import ParsedFile, Ref
from kg.model import Edge, EdgeKind, Node, NodeKind, block_id, content_hash, heading_id, note_id, tag_id

log = logging.getLogger(__name__)

_OWN_LINE_BLOCK = re.compile(r"^\s*\^([A-Za-z0-9-]+)\s*$")
_TRAILING_BLOCK = re.compile(r"(?:^|\s)\^([A-Za-z0-9-]+)\s*$")
_SPECIAL_KEYS = {"tags", "tag", "aliases", "alias"}
_HTML_HEADING = re.compile(r"\s*<h([1-6])((?:\s[^>]*)?)>((?:(?!</h\1\s*>).)*)</h\1\s*>", re.S | re.I)
_ANCHOR = re.compile(r"""(?<![\w-])(?:name|id)\s*=\s*["']([^"']+)["']""", re.I)
_TAG = re.compile(r"<[^>]*>")
_PARSER = mds.make_parser()  # stateless once built; building it per note is slow


@dataclass
class _Section:
    id: str
    kind: NodeKind
    path: list[str] = field(default_factory=list)
    level: int = 0
    start: int = 1  # 1-based line of the heading
    spans: list[tuple[int, int]] = field(default_factory=list)  # own text, 0-based [a, b)
    anchor: str = ""  # an HTML heading's name or id


@dataclass
class _Block:
    name: str
    text: str
    start: int  # 0-based, inclusive
    end: int  # 0-based, exclusive
    section: _Section


def parse_note(root: str, path: str, text: str, *, links_in_comments: bool = False) -> ParsedFile:
    """Parse one Obsidian note.

    Args:
        root: the root's name (e.g. the vault folder's name).
        path: the note's path relative to the root, forward slashes (``Folder/Note.md``).
        text: the note's content.
        links_in_comments: also take links and tags inside ``%%comments%%``.

    Returns:
        A ParsedFile of kind 'note' (lang 'markdown') with the nodes, local edges, refs and
        warnings described in the module docstring.
    """
    return _NoteParser(root, path, text, links_in_comments).parse()


class _NoteParser:
    """The state of parsing one note; ``parse`` runs once."""

    def __init__(self, root: str, path: str, text: str, links_in_comments: bool) -> None:
        self.root, self.path, self.text = root, path, text
        self.links_in_comments = links_in_comments
        self.out = ParsedFile(root=root, path=path, kind="note", lang="markdown", hash=content_hash(text))
        self.note = _Section(note_id(root, path), NodeKind.NOTE)
        self.current = self.note
        self.stack: list[_Section] = []
        self.sections: dict[str, _Section] = {}
        self.blocks: dict[str, _Block] = {}
        self.edges: dict[tuple[str, str, str], Edge] = {}
        self.tags: list[str] = []
        self.aliases: list[str] = []
        self.lines: list[str] = []
        self.open_span: _Section | None = None
        self.too_deep = False  # the parser gave up (RecursionError): every line is read plainly

    # --- driver ---------------------------------------------------------------------

    def parse(self) -> ParsedFile:
        lines = self.text.removeprefix("\ufeff").splitlines()
        fm = mds.split_frontmatter(lines)
        if fm.warning:
            self.out.warnings.append(fm.warning)
            log.debug("%s/%s: %s", self.root, self.path, fm.warning)
        source = "\n".join([""] * fm.lines + lines[fm.lines:])
        tokens = self._tokens(source)
        if not self.links_in_comments and "%%" in source:
            source = mds.blank_comments(source, _code_lines(tokens), _inline_ends(tokens))
            tokens = self._tokens(source)
        self.lines = source.split("\n")
        self.note.spans.append((fm.lines, len(self.lines)))
        self._frontmatter(fm)
        self._walk(tokens)
        self._read_lost_lines(tokens, fm.lines)
        self._finish(fm)
        return self.out

    def _tokens(self, source: str) -> list[Token]:
        try:
            return _PARSER.parse(source)
        except RecursionError:  # nested past what the parser can follow: every line is read plainly
            self.too_deep = True
            return []

    def _read_lost_lines(self, tokens: list[Token], first: int) -> None:
        """Lines nested deeper than the parser follows: their links and tags are read line by
        line (quote and list markers dropped), and the note gets a warning."""
        lost = [i for i in range(first, len(self.lines)) if self.lines[i].strip()] if self.too_deep else \
            mds.lost_lines(tokens, self.lines, first)
        if not lost:
            return
        self.out.warnings.append(f"{self.path}:{lost[0] + 1}: nested deeper than {mds.MAX_NESTING} levels; "
                                 f"{len(lost)} line(s) read as plain lines")
        self._close_previous_span(len(self.lines))
        for i in lost:
            self.current = next((sec for sec in reversed(self.sections.values())
                                 if any(a <= i < b for a, b in sec.spans)), self.note)
            for tok in _PARSER.parseInline(mds.without_markers(self.lines[i])):
                tok.map = [i, i + 1]
                self._scan_inline(tok)

    def _walk(self, tokens: list[Token]) -> None:
        last_at_level: dict[int, Token] = {}
        for i, tok in enumerate(tokens):
            if tok.type == "heading_open" and tok.level == 0:
                self._open_heading(int(tok.tag[1:]), tokens[i + 1].content.strip(), tok.map)
            elif tok.type == "html_block" and tok.level == 0 and tok.map:
                self._html_headings(tok.content, tok.map[0])
            elif tok.type == "paragraph_open" and self._block_id(tok, tokens[i + 1],
                                                                 last_at_level.get(tok.level)):
                continue  # an own-line ^id is not itself a block to attach an id to
            if tok.type == "inline":
                self._scan_inline(tok)
            elif tok.nesting >= 0 and tok.map is not None:
                last_at_level[tok.level] = tok

    # --- headings and blocks ------------------------------------------------------------

    def _html_headings(self, html: str, line0: int) -> None:
        """The headings an HTML block starts with (``<h3 name="x">Title</h3>``); what follows
        them is the last one's text."""
        pos = 0
        while heading := _HTML_HEADING.match(html, pos):
            name = " ".join(html_lib.unescape(_TAG.sub("", heading.group(3))).split())
            anchor = _ANCHOR.search(heading.group(2))
            if name:
                first = heading.start() + len(heading.group(0)) - len(heading.group(0).lstrip())
                lines = [line0 + html.count("\n", 0, first), line0 + html.count("\n", 0, heading.end()) + 1]
                self._open_heading(int(heading.group(1)), name, lines, anchor.group(1) if anchor else "")
            pos = heading.end()

    def _open_heading(self, level: int, name: str, lines: list[int], anchor: str = "") -> None:
        while self.stack and self.stack[-1].level >= level:
            self.stack.pop()
        parent = self.stack[-1] if self.stack else self.note
        path = [s.path[-1] for s in self.stack] + [name]
        hid = heading_id(self.root, self.path, path)
        section = self.sections.get(hid)
        if section is None:
            section = _Section(hid, NodeKind.HEADING, path, level, lines[0] + 1, anchor=anchor)
            self.sections[hid] = section
            self._edge(parent.id, EdgeKind.CONTAINS, hid, parent.kind, NodeKind.HEADING, section.start)
        self._close_previous_span(lines[0])
        section.spans.append((lines[1], lines[1]))  # own text: closed by the next heading
        self.stack.append(section)
        self.current = section
        self.open_span = section

    def _close_previous_span(self, line0: int) -> None:
        previous = self.open_span
        if previous is not None:
            start, _ = previous.spans[-1]
            previous.spans[-1] = (start, line0)

    def _block_id(self, tok: Token, inline: Token, previous: Token | None) -> bool:
        """Record a block id on a paragraph; True when the paragraph is only ``^id``."""
        content = inline.content
        own = _OWN_LINE_BLOCK.match(content)
        if own and previous is not None and previous.map and not previous.type.startswith("heading"):
            start, end = previous.map
            body = "\n".join(self.lines[start:end]).strip()
            self._add_block(own.group(1), body, start, end, tok.map[0] + 1)
            return True
        trailing = _TRAILING_BLOCK.search(content)
        if trailing and not own:
            body = content[: trailing.start()].strip()
            self._add_block(trailing.group(1), body, tok.map[0], tok.map[1], tok.map[0] + 1)
        return False

    def _add_block(self, name: str, body: str, start: int, end: int, line: int) -> None:
        key = name.lower()
        if key in self.blocks:
            self.out.warnings.append(f"{self.path}:{line}: duplicate block id ^{name}; the first is kept")
            return
        self.blocks[key] = _Block(name, body, start, end, self.current)

    # --- inline content ------------------------------------------------------------------

    def _scan_inline(self, tok: Token) -> None:
        line = tok.map[0] + 1 if tok.map else 1
        before = ""
        link: tuple[str, int, list[str]] | None = None
        for child in tok.children or []:
            kind = child.type
            if kind in ("softbreak", "hardbreak"):
                line, before = line + 1, "\n"
            elif kind in ("text", "code_inline") and link is not None:
                link[2].append(child.content)
                if kind == "code_inline":  # [`setIcon`](setIcon): the link's text names code too
                    self._mention(child.content, line)
            elif kind == "text":
                for name in mds.tags_in_text(child.content, before):
                    self._inline_tag(name, line)
                before = child.content[-1:] or before
            elif kind == "code_inline":
                self._mention(child.content, line)
                before = "`"
            elif kind == mds.WIKILINK:
                self._wikilink(child, line)
                before = "]"
            elif kind == "link_open":
                link = (str(child.attrs.get("href", "")), line, [])
            elif kind == "link_close" and link is not None:
                self._markdown_link(link[0], link[1], "".join(link[2]).strip(), embed=False)
                link, before = None, ")"
            elif kind == "image":
                self._markdown_link(str(child.attrs.get("src", "")), line, child.content, embed=True)
                before = ")"
            elif kind == "html_inline":
                before = child.content[-1:]

    def _wikilink(self, child: Token, line: int) -> None:
        parts = mds.split_wikilink(child.content)
        if parts is not None:
            self._link_ref(parts, line, markdown=False, embed=bool(child.meta.get("embed")))

    def _markdown_link(self, href: str, line: int, alias: str, *, embed: bool) -> None:
        parts = mds.split_markdown_href(href)
        if parts is not None:
            parts.alias = alias
            self._link_ref(parts, line, markdown=True, embed=embed)

    def _link_ref(self, parts: mds.LinkParts, line: int, *, markdown: bool, embed: bool,
                  prop: str = "", section: _Section | None = None) -> None:
        src = section or self.current
        props: dict[str, object] = {"subpath": parts.subpath, "alias": parts.alias,
                                    "markdown": markdown, "embed": embed}
        if prop:
            props["property"] = prop
        kind = EdgeKind.EMBEDS if embed else EdgeKind.LINKS_TO
        self.out.refs.append(Ref(src.id, src.kind, kind, parts.target, line, props))

    def _mention(self, content: str, line: int) -> None:
        name = mds.is_code_mention(content)
        if name:
            src = self.current
            self.out.refs.append(Ref(src.id, src.kind, EdgeKind.MENTIONS, name, line, {"code": True}))

    def _inline_tag(self, name: str, line: int) -> None:
        self._tag(name, line)
        if self.current.kind is NodeKind.HEADING:
            self._edge(self.current.id, EdgeKind.TAGGED, tag_id(name), NodeKind.HEADING, NodeKind.TAG, line)

    def _tag(self, name: str, line: int) -> None:
        if name not in self.tags:
            self.tags.append(name)
        self._edge(self.note.id, EdgeKind.TAGGED, tag_id(name), NodeKind.NOTE, NodeKind.TAG, line)

    # --- frontmatter ------------------------------------------------------------------------

    def _frontmatter(self, fm: mds.Frontmatter) -> None:
        data = fm.data
        self.aliases = mds.string_list(data.get("aliases"), split=r",") + \
            mds.string_list(data.get("alias"), split=r",")
        for key in ("tags", "tag"):
            for raw in mds.string_list(data.get(key), split=r"[,\s]+"):
                name = mds.normalise_tag(raw)
                if name:
                    self._tag(name, _key_line(fm.raw, key))
        for key, value in data.items():
            if key in _SPECIAL_KEYS:
                continue
            values = value if isinstance(value, list) else [value]
            for item in values:
                if isinstance(item, str):
                    self._frontmatter_links(fm.raw, key, item)

    def _frontmatter_links(self, raw: list[str], key: str, value: str) -> None:
        for embed, inner in mds.wikilinks_in_text(value):
            parts = mds.split_wikilink(inner)
            if parts is not None:
                line = _value_line(raw, key, inner)
                self._link_ref(parts, line, markdown=False, embed=False, prop=key, section=self.note)

    # --- output ---------------------------------------------------------------------------------

    def _finish(self, fm: mds.Frontmatter) -> None:
        self._close_previous_span(len(self.lines))
        nodes, edges = self.out.nodes, self.out.edges
        nodes.append(self._note_node(fm))
        nodes.extend(self._heading_nodes())
        for block in self.blocks.values():
            bid = block_id(self.root, self.path, block.name)
            nodes.append(Node(id=bid, kind=NodeKind.BLOCK, name=f"^{block.name}", root=self.root,
                              path=self.path, text=block.text, start_line=block.start + 1,
                              end_line=max(block.end, block.start + 1)))
            self._edge(block.section.id, EdgeKind.CONTAINS, bid, block.section.kind, NodeKind.BLOCK,
                       block.start + 1)
        self._tag_nodes()
        self._refs_to_blocks()
        edges.extend(self.edges.values())

    def _note_node(self, fm: mds.Frontmatter) -> Node:
        stem = posixpath.splitext(posixpath.basename(self.path))[0]
        body = _clean("\n".join(self.lines[fm.lines:]))
        text = f"{stem}\n\n{body}".strip() if self.text.strip() else ""
        props = {k: v for k, v in fm.data.items() if k not in _SPECIAL_KEYS}
        props["aliases"] = self.aliases
        props["tags"] = list(self.tags)
        return Node(id=self.note.id, kind=NodeKind.NOTE, name=stem, root=self.root, path=self.path,
                    text=text, start_line=1, end_line=max(1, len(self.lines)), lang="markdown",
                    props=props)

    def _heading_nodes(self) -> list[Node]:
        ordered = sorted(self.sections.values(), key=lambda s: s.start)
        nodes = []
        for i, sec in enumerate(ordered):
            end = next((o.start - 1 for o in ordered[i + 1:] if o.level <= sec.level), len(self.lines))
            own = "\n\n".join(_clean("\n".join(self.lines[a:b])) for a, b in sec.spans)
            text = (" > ".join(sec.path) + "\n\n" + own.strip()).strip()
            nodes.append(Node(id=sec.id, kind=NodeKind.HEADING, name=sec.path[-1], root=self.root,
                              path=self.path, text=text, start_line=sec.start,
                              end_line=max(end, sec.start), heading=sec.path[-1],
                              props={"level": sec.level, "headings": sec.path,
                                     **({"anchor": sec.anchor} if sec.anchor else {})}))
        return nodes

    def _tag_nodes(self) -> None:
        seen: dict[str, None] = {}
        for name in self.tags:
            lineage = mds.tag_lineage(name)
            for child, parent in zip(lineage, lineage[1:]):
                self._edge(tag_id(child), EdgeKind.TAG_PARENT, tag_id(parent), NodeKind.TAG, NodeKind.TAG)
            seen.update(dict.fromkeys(lineage))
        for name in seen:
            self.out.nodes.append(Node(id=tag_id(name), kind=NodeKind.TAG, name=name, text=f"#{name}"))

    def _refs_to_blocks(self) -> None:
        """Give a link inside a block its block as source (the innermost block wins)."""
        if not self.blocks:
            return
        spans = sorted(self.blocks.values(), key=lambda b: b.end - b.start)
        for ref in self.out.refs:
            if ref.kind is EdgeKind.MENTIONS or ref.line is None or "property" in ref.props:
                continue
            for block in spans:
                if block.start < ref.line <= block.end and block.section.id == ref.src:
                    ref.props["section"] = ref.src
                    ref.src, ref.src_kind = block_id(self.root, self.path, block.name), NodeKind.BLOCK
                    break

    def _edge(self, src: str, kind: EdgeKind, dst: str, src_kind: NodeKind, dst_kind: NodeKind,
              line: int | None = None) -> None:
        key = (src, kind.value, dst)
        if key not in self.edges:
            self.edges[key] = Edge(src, kind, dst, src_kind, dst_kind, line=line)


def _inline_ends(tokens: list[Token]) -> dict[int, int]:
    """Each line of an inline block (paragraph, heading, table row) → the line after the block."""
    ends: dict[int, int] = {}
    for tok in tokens:
        if tok.type == "inline" and tok.map:
            for line in range(*tok.map):
                ends[line] = tok.map[1]
    return ends


def _code_lines(tokens: list[Token]) -> set[int]:
    lines: set[int] = set()
    for tok in tokens:
        if tok.type in ("fence", "code_block", "html_block") and tok.map:
            lines.update(range(*tok.map))
    return lines


def _clean(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def _key_line(raw: list[str], key: str) -> int:
    pattern = re.compile(rf"^{re.escape(key)}\s*:")
    return next((i + 2 for i, line in enumerate(raw) if pattern.match(line)), 1)


def _value_line(raw: list[str], key: str, inner: str) -> int:
    start = _key_line(raw, key)
    needle = f"[[{inner}"
    return next((i + 2 for i in range(max(0, start - 2), len(raw)) if needle in raw[i]), start)
