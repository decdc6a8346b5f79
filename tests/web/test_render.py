"""Safe rendering: no script survives, wikilinks resolve, code stays code, snippets are escaped."""

from __future__ import annotations

import re

from web.render import Link, highlight_source, mark_terms, render_markdown, wikilink_targets
from tests.web.graph_fixture import XSS_NOTE


class Links:
    """A Linker that resolves every target to /node/<target> and embeds a marker."""

    def resolve(self, target: str) -> Link:
        return Link(href=f"/node/{target}")

    def embed(self, target: str, depth: int):
        from markupsafe import Markup

        return Markup(f'<div class="embedded" data-depth="{depth}">{target}</div>')

    def href(self, url: str, image: bool):
        return None


def _tags(html: str) -> set[str]:
    return {m.lower() for m in re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", html)}


def test_xss_payloads_come_out_as_text() -> None:
    html = str(render_markdown(XSS_NOTE, Links()))
    assert _tags(html) <= {"h1", "p", "a", "code", "div"}
    assert "<script" not in html and "<img" not in html and "<svg" not in html
    assert not re.search(r"<[^>]*\son\w+\s*=", html)  # no event handler on any real tag
    assert 'href="javascript:' not in html and 'href="data:' not in html
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in html


def test_wikilink_alias_with_html_is_escaped() -> None:
    html = str(render_markdown("[[Home|<b onmouseover=x>bold</b>]]", Links()))
    assert '<a class="wikilink" href="/node/Home"' in html
    assert "&lt;b onmouseover=x&gt;bold&lt;/b&gt;" in html
    assert "<b" not in html


def test_wikilinks_in_code_are_not_links() -> None:
    text = "[[Real]] `[[Span]]`\n\n```\n[[Fence]]\n```\n\n    [[Indented]]\n"
    assert wikilink_targets(text) == ["Real"]
    html = str(render_markdown(text, Links()))
    assert html.count('class="wikilink"') == 1


def test_embeds_render_inline_and_stop_at_depth() -> None:
    html = str(render_markdown("![[Other]]", Links()))
    assert '<div class="embedded" data-depth="1">Other</div>' in html
    assert "<p>" not in html  # an embed on its own line is block content
    deep = str(render_markdown("![[Other]]", Links(), depth=2))
    assert "embedded" not in deep and 'href="/node/Other"' in deep


def test_unresolved_links_are_marked_not_linked() -> None:
    html = str(render_markdown("[[Nowhere]]"))
    assert 'class="wikilink unresolved"' in html and "<a " not in html


def test_frontmatter_and_comments_are_hidden() -> None:
    html = str(render_markdown("---\ntags: [x]\n---\nBody %%secret [[Hidden]]%% text"))
    assert "tags" not in html and "secret" not in html and "Body" in html


def test_mark_terms_escapes_before_marking() -> None:
    marked = str(mark_terms("a <b> & amp retry", ["amp", "<b>", "RETRY"]))
    assert marked == "a <mark>&lt;b&gt;</mark> &amp; <mark>amp</mark> <mark>retry</mark>"
    assert str(mark_terms("<i>x</i>", [])) == "&lt;i&gt;x&lt;/i&gt;"


def test_highlight_uses_classes_and_line_numbers() -> None:
    html = str(highlight_source("def f():\n    return '<x>'\n", path="m.py", start_line=7))
    assert 'class="k"' in html and ">7<" in html and "&lt;x&gt;" in html
    assert "style=" not in html  # the CSP allows no inline styles
