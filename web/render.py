"""Safe rendering: Markdown notes, highlighted source, marked snippets.

Everything here returns ``markupsafe.Markup`` built only from escaped text:

- Markdown goes through markdown-it-py with ``html=False`` (raw HTML in a note is shown
  as text) and its link validator (``javascript:``, ``vbscript:``, ``file:`` and non-image
  ``data:`` URLs are refused). Obsidian wikilinks ``[[Target#Sub|Alias]]`` and embeds
  ``![[Target]]`` become tokens whose targets a caller-supplied ``Linker`` resolves.
- Source code goes through Pygments with CSS classes (no inline styles: the CSP forbids them).
- Search snippets are split on the matched terms; every piece is escaped, then the matches
  are wrapped in ``<mark>``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_inline import StateInline
from markupsafe import Markup, escape
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.front_matter import front_matter_plugin
from mdit_py_plugins.tasklists import tasklists_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_by_name, guess_lexer_for_filename
from pygments.util import ClassNotFound

MAX_EMBED_DEPTH = 2
_WIKILINK = re.compile(r"(!?)\[\[([^\[\]\n|]+)(?:\|([^\[\]\n]*))?\]\]")


@dataclass
class Link:
    """Where a wikilink goes: ``href`` (None when it resolves to nothing) and a CSS class."""

    href: str | None
    css: str = "wikilink"
    title: str = ""


class Linker(Protocol):
    """Resolves wikilink targets and renders embeds for one note."""

    def resolve(self, target: str) -> Link:
        """The link for ``[[target]]`` (``target`` as written, subpath included)."""
        ...

    def embed(self, target: str, depth: int) -> Markup | None:
        """Safe HTML for ``![[target]]`` at embed depth ``depth``, or None to show a link."""
        ...

    def href(self, url: str, image: bool) -> str | None:
        """Where a relative Markdown link or image (``[x](Other.md)``) points, or None to keep it."""
        ...


class PlainLinker:
    """A Linker that resolves nothing: wikilinks render as plain, unresolved text."""

    def resolve(self, target: str) -> Link:
        return Link(href=None, css="wikilink unresolved")

    def embed(self, target: str, depth: int) -> Markup | None:
        return None

    def href(self, url: str, image: bool) -> str | None:
        return None


def wikilink_targets(text: str) -> list[str]:
    """The wikilink and embed targets of a note, outside code (as a Markdown parser sees it)."""
    targets: list[str] = []
    for token in _markdown().parse(text or "", {}):
        for child in token.children or []:
            if child.type == "wikilink":
                targets.append(child.meta["target"])
    return list(dict.fromkeys(targets))


def render_markdown(text: str, linker: Linker | None = None, *, depth: int = 0) -> Markup:
    """Render an Obsidian note as safe HTML.

    Args:
        text: the note's Markdown (frontmatter is dropped).
        linker: resolves wikilinks and embeds; unresolved text when omitted.
        depth: how deep in embeds this note is shown (embeds stop at MAX_EMBED_DEPTH).
    """
    env: dict[str, Any] = {"linker": linker or PlainLinker(), "depth": depth}
    text = re.sub(r"%%.*?%%", "", text or "", flags=re.S)  # Obsidian comments are not shown
    return Markup(_markdown().render(text, env))


def highlight_source(source: str, *, path: str = "", lang: str = "", start_line: int = 1) -> Markup:
    """Pygments-highlighted source with line numbers, styled by CSS classes only."""
    lexer = _lexer(source, path, lang)
    formatter = HtmlFormatter(linenos="inline", linenostart=max(1, int(start_line or 1)),
                              cssclass="highlight", wrapcode=True)
    return Markup(highlight(source, lexer, formatter))


def pygments_css() -> str:
    """The stylesheet for highlighted source (light and dark)."""
    light = HtmlFormatter(style="default").get_style_defs(".highlight")
    dark = HtmlFormatter(style="monokai").get_style_defs(".highlight")
    return f"{light}\n@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n"


def mark_terms(text: str, terms: Iterable[str]) -> Markup:
    """Escape ``text`` piece by piece, wrapping each occurrence of a term in ``<mark>``."""
    words = sorted({t for t in terms if t and t.strip()}, key=len, reverse=True)
    if not words or not text:
        return Markup(escape(text or ""))
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    out: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        out.append(str(escape(text[last:match.start()])))
        out.append(f"<mark>{escape(match.group(0))}</mark>")
        last = match.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


# --- markdown-it wiring ---------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    """The parser, built once: it is stateless (rendering state lives in ``env``)."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False,
                                   "highlight": _highlight_fence})
    md.enable(["table", "strikethrough"])
    md.use(front_matter_plugin).use(footnote_plugin).use(tasklists_plugin)
    md.inline.ruler.before("link", "wikilink", _wikilink_rule)
    md.add_render_rule("wikilink", _render_wikilink)
    md.add_render_rule("link_open", _render_link_open)
    md.add_render_rule("image", _render_image)
    md.add_render_rule("front_matter", lambda *args: "")
    md.core.ruler.after("inline", "embed_blocks", _unwrap_embeds)
    return md


def _unwrap_embeds(state: Any) -> None:
    """A paragraph holding only embeds loses its <p>: an embedded note is block content."""
    tokens = state.tokens
    for i, token in enumerate(tokens):
        if token.type != "inline" or not 0 < i < len(tokens) - 1 or tokens[i - 1].type != "paragraph_open":
            continue
        kids = token.children or []
        embeds = [c for c in kids if c.type == "wikilink" and c.meta.get("embed")]
        rest = [c for c in kids if c not in embeds and not (c.type in ("softbreak", "text") and not c.content.strip())]
        if embeds and not rest:
            tokens[i - 1].hidden = tokens[i + 1].hidden = True


def _wikilink_rule(state: StateInline, silent: bool) -> bool:
    src, pos = state.src, state.pos
    if not (src.startswith("[[", pos) or src.startswith("![[", pos)):
        return False
    match = _WIKILINK.match(src, pos)
    if match is None:
        return False
    if not silent:
        token = state.push("wikilink", "", 0)
        token.meta = {"embed": bool(match.group(1)), "target": match.group(2).strip(),
                      "alias": (match.group(3) or "").strip()}
        token.content = match.group(0)
    state.pos = match.end()
    return True


def _render_wikilink(self: Any, tokens: list[Any], idx: int, options: Any, env: dict[str, Any]) -> str:
    meta = tokens[idx].meta
    linker: Linker = env.get("linker") or PlainLinker()
    target, alias = meta["target"], meta["alias"]
    if meta["embed"]:
        depth = int(env.get("depth", 0)) + 1
        if depth <= MAX_EMBED_DEPTH:
            html = linker.embed(target, depth)
            if html is not None:
                return str(html)
    label = alias or target
    link = linker.resolve(target)
    title = escapeHtml(link.title or target)
    if link.href is None:
        return f'<span class="{escapeHtml(link.css)}" title="{title}">{escapeHtml(label)}</span>'
    return f'<a class="{escapeHtml(link.css)}" href="{escapeHtml(link.href)}" title="{title}">{escapeHtml(label)}</a>'


_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def _relative(url: str) -> bool:
    return bool(url) and not _SCHEME.match(url) and not url.startswith(("/", "#"))


def _rewrite(token: Any, attr: str, env: dict[str, Any], image: bool) -> None:
    url = token.attrGet(attr)
    if isinstance(url, str) and _relative(url):
        linker: Linker = env.get("linker") or PlainLinker()
        new = linker.href(url, image)
        if new:
            token.attrSet(attr, new)


def _render_link_open(self: Any, tokens: list[Any], idx: int, options: Any, env: dict[str, Any]) -> str:
    _rewrite(tokens[idx], "href", env, image=False)
    return str(self.renderToken(tokens, idx, options, env))


def _render_image(self: Any, tokens: list[Any], idx: int, options: Any, env: dict[str, Any]) -> str:
    _rewrite(tokens[idx], "src", env, image=True)
    return str(self.image(tokens, idx, options, env))


def _highlight_fence(code: str, lang: str, attrs: str) -> str:
    # Starts with "<pre": markdown-it then uses it as it is, without wrapping it again.
    spans = highlight(code, _lexer(code, "", lang), HtmlFormatter(nowrap=True))
    return f'<pre class="highlight"><code>{spans}</code></pre>\n'



def _lexer(source: str, path: str, lang: str) -> Any:
    for attempt in (lambda: get_lexer_by_name(lang) if lang else None,
                    lambda: guess_lexer_for_filename(path, source) if path else None):
        try:
            lexer = attempt()
        except ClassNotFound:
            continue
        if lexer is not None:
            return lexer
    return TextLexer()
