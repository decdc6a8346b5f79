"""Property tests for the parsers: any input gives a well-formed result, the same one every time.

For the Obsidian note parser, the frontmatter parser and the code parser (every language),
arbitrary text, text built from the syntax that matters (and arbitrary bytes where the API
takes bytes) never raise anything but the documented errors (``IngestError`` from
``parse_code`` for a file type it has no parser for; nothing from the others), and the
result keeps its promises: one node per id, line numbers inside the file, every edge and
ref starting at a node of the file, every link target a string, everything storable as
UTF-8 JSON.

Examples are bounded so the module stays well under 40 s on two slow cores (about 6 s on
two cores here); no example database is kept (``database=None``): hypothesis prints any
falsifying input.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import markdown_syntax as mds
from ingest.code import parse_code
from ingest.languages import EXTENSIONS
from ingest.obsidian import parse_note
from ingest.types import ParsedFile
from kg.errors import IngestError
from kg.model import EdgeKind, NodeKind, check_pair, file_id, note_id


def bounded(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def pieces(*fragments: str, max_size: int = 60) -> st.SearchStrategy[str]:
    """Texts glued from syntax fragments and bits of arbitrary text, so structure shows up."""
    part = st.one_of(st.sampled_from(fragments), st.text(max_size=4))
    return st.lists(part, max_size=max_size).map("".join)


INDENTS = ("", "", "  ", "    ", "        ", "\t")


def lines_of(*statements: str, max_size: int = 12, indents: tuple[str, ...] = INDENTS,
             noise: st.SearchStrategy[str] = st.text(max_size=3)) -> st.SearchStrategy[str]:
    """Texts of whole plausible lines (indented, now and then with noise), so parsers get past the
    first token: definitions, imports, calls, frontmatter keys."""
    noise = st.one_of(st.just(""), st.just(""), st.just(""), noise)
    line = st.tuples(st.sampled_from(indents), st.sampled_from(statements), noise)
    return st.lists(line.map("".join), max_size=max_size).map("\n".join)


MARKDOWN_LINES = lines_of(
    "# Title", "## Part two", "### Deep #tag", "See [[Other]] and [[Other#Part two|alias]].", "![[img.png]]",
    "Text ^block-1", "^own-line", "- item with [[Link]]", "> quote [[Q]]", "```python", "```",
    "`retry_with_backoff()` helps", "%%hidden [[C]]%%", "[md](Other.md#Part%20two)", "", "---",
    "tags: [a, b/c]", "aliases: [Start]", 'up: "[[Parent]]"', "| a | [[T]] |", "|---|---|",
)
MARKDOWN = st.one_of(MARKDOWN_LINES, pieces(
    "\n", "\n\n", "\r\n", "\r", " ", "\t", "    ", "\ufeff", "\u2028", "\x0c", "\x00",
    "# ", "## ", "### ", "#tag", "#a/b", "#", "^block-1", " ^id", "^", "[[", "]]", "![[", "|", "#^",
    "[[Note]]", "[[Folder/Note#Head#Sub|alias]]", "![[img.png]]", "[[#Local]]", "[x](y.md)",
    "[x](<a b.md#H>)", "![i](p.png)", "](", "[", "]", "(", ")", "<", ">", "`", "``", "```", "~~~",
    "`code.name()`", "%%", "%%[[hidden]]%%", "---\n", "---", "tags: [a, b]\n", "aliases: x\n",
    "up: \"[[Parent]]\"\n", "- ", "* ", "1. ", "> ", "| a | b |\n|---|---|\n", "<div>", "</div>",
    "<!-- ", " -->", "\\", "*", "_", "==", "$$", "http://x.y/z",
))
YAML = st.one_of(lines_of(
    "title: A note", "tags: [a, b]", "tags: a, #b c/d", "tags:", "  - x", "- y", "aliases: [Start, Home]",
    "alias: One", "up: \"[[Parent]]\"", "related: [\"[[A]]\", \"[[B#H|b]]\"]", "due: 2024-01-15",
    "due: 2024-02-30", "n: 12", "f: .nan", "flag: yes", "nested: {a: [1, 2], b: {c: d}}", "a: &a [x, y]",
    "b: [*a, *a]", "s: !!set {p, q}", "o: !!omap [k: v]", "bin: !!binary aGk=", "empty:", "'quoted': \"\\u00e9\"",
    "? complex", ": value", "text: |", "  block text", "null: ~",
    indents=("", "", "", "", " "), noise=st.text("abc #,:[]{}'\"", max_size=3)), pieces(
    "\n", " ", "  ", "\t", "key: ", "tags: ", "aliases: ", "tag: ", "alias: ", "value", "#t", "[[L]]",
    "- ", "[", "]", "{", "}", ",", ":", "? ", "&a ", "*a", "&b ", "*b", "!!int ", "!!set ", "!!omap ",
    "!!binary ", "!!str ", "!!python/object ", "2024-02-30", "2024-01-01", "12:30:00", ".nan", ".inf",
    "~", "null", "yes", "0o17", "1e999", "'", '"', "\\u00e9", "\\x00", "|", ">", "#", "%YAML 1.1\n",
    "--- ", "...",
))
CODE_LINES = {
    "python": lines_of(
        "def f(x, *args, **kw):", "async def g():", "class A(Base, metaclass=M):", "class B:", "@decorator",
        "import os, sys as system", "from .pkg.mod import a as b, c", "from .. import *", "return f(x)",
        "self.save()", "cls.make()", "super().__init__()", "x = g(h(1))", '"""A docstring."""', "pass",
        "if x:", "else:", "lambda y: y", "print(os.path.join(a, b))"),
    "javascript": lines_of(
        "function f(a) {", "}", "class A extends B {", "method() { this.save(); }", "const g = () => h();",
        "import x, { y as z } from './m';", "import * as ns from '../lib/index.js';", "export default f;",
        "export function e() {}", "const r = require('./r');", "/** Doc. */", "f(g(1));", "new A();"),
    "go": lines_of(
        "package main", 'import "fmt"', "import (", '  "strings"', '  alias "example.com/m/pkg"', ")",
        "func main() {", "}", "func (s *Server) Start() error {", "type Server struct {", "  Base",
        "type I interface { M() }", "s.Start()", 'fmt.Println("x")', "// Doc comment.", "return nil"),
    "rust": lines_of(
        "fn main() {", "}", "pub fn f(x: i32) -> i32 {", "struct S { a: u8 }", "enum E { A, B }",
        "trait T: Base {", "impl T for S {", "impl S {", "fn m(&self) { self.n(); }", "mod inner;",
        "use crate::a::{b, c as d};", "use super::*;", "/// Doc.", "#[derive(Debug)]", "S::new();", "f(1);"),
}
CODE_LINES.update({
    "java": lines_of(
        "package com.acme;", "import com.acme.util.Retry;", "import java.util.*;", "public class A extends B implements C {",
        "}", "void m(Foo f) { this.save(); f.run(); super.m(); }", "Foo x = new Foo();", "/** Doc. */",
        "interface I { void n(); }", "enum E { X, Y }", "list.forEach(v -> v.go());", "@Override"),
    "csharp": lines_of(
        "namespace Shop.Models;", "namespace Shop {", "}", "using System.Text;", "using R = Shop.Util.Retry;",
        "public class A : B, IC {", "void M(Foo f) { this.Save(); f.Run(); base.M(); }", "var x = new Foo();",
        "/// <summary>Doc.</summary>", "interface I { void N(); }", "Func<int> g = () => 1;"),
    "c": lines_of(
        '#include "util.h"', "#include <stdio.h>", "int f(int x) {", "}", "static void g(void) { f(1); }",
        "struct S { int a; };", "typedef struct { int b; } T;", "enum E { A, B };", "/* Doc. */", "s->ops->run(s);",
        "#define M(x) x", "return 0;"),
    "cpp": lines_of(
        '#include "order.hpp"', "namespace shop {", "}", "class A : public B {", "public:", "void m() { this->n(); }",
        "};", "void A::n() { validate(); }", "auto x = std::make_unique<Foo>();", "Foo* p = new Foo();", "p->run();",
        "template <typename T> T id(T v) { return v; }", "auto l = [](int y) { return y; };"),
    "ruby": lines_of(
        "require 'json'", "require_relative 'shop/base'", "module Shop", "class Order < Base", "end",
        "def total(x)", "def self.make", "include Comparable", "x = Foo.new", "@log = Log.new", "x.run(1)",
        "# Doc.", "items.each { |i| i.go }", "valid?()"),
    "php": lines_of(
        "<?php", "namespace App\\Models;", "use App\\Support\\Logger;", "use App\\Support\\{Clock, Log as L};",
        "class User extends Model implements Jsonable {", "}", "public function save(Logger $log): void {",
        "$this->validate();", "$x = new Foo();", "parent::save();", "self::make();", "/** Doc. */",
        "use HasTimestamps;", "$f = fn($y) => $y;"),
})
CODE_LINES["typescript"] = CODE_LINES["tsx"] = st.one_of(CODE_LINES["javascript"], lines_of(
    "interface I extends J {", "}", "type T = { a: string };", "enum E { A }", "class C implements I {",
    "private m(): void { this.n(); }", "import type { X } from './x';", "export const c: T = f();",
    "namespace N {", "const el = <div>{x}</div>;"))
CODE = {
    "python": pieces("def ", "class ", "async ", "lambda", "(", ")", ":", "\n", "    ", "\t", "self.",
                     "cls", "import ", "from ", " as ", "*", ".", "..", "@", "return ", '"""', "'''",
                     '"', "'", "#", "x", "Base", "f()", ",", "=", "pass", "\\", "if ", "else:"),
    "javascript": pieces("function ", "class ", "extends ", "=>", "(", ")", "{", "}", ";", "\n",
                         "this.", "import ", "from ", "export ", "default ", "require(", "'./m'",
                         "const ", "x", "Base", "f()", "/*", "*/", "/**", "//", "`", "${", ",", "."),
    "go": pieces("package ", "func ", "type ", "struct ", "interface ", "(", ")", "{", "}", "\n", "*",
                 "import ", '"fmt"', "s ", "T", "x", "f()", ".", "//", "/*", "*/", ",", "`", "go "),
    "rust": pieces("fn ", "struct ", "enum ", "trait ", "impl ", " for ", "mod ", "use ", "::", "self",
                   "Self", "crate", "super", "(", ")", "{", "}", ";", "\n", "<", ">", "'a", "#[", "]",
                   "///", "//!", "/*", "*/", "x", "T", "f()", ",", "pub "),
}
CODE.update({
    "java": pieces("class ", "interface ", "extends ", "implements ", "import ", "package ", "new ", "this.",
                   "super.", "(", ")", "{", "}", ";", "\n", ".", "x", "Foo", "f()", "/**", "*/", "@", "->", "<", ">"),
    "csharp": pieces("class ", "namespace ", "using ", ": ", "new ", "this.", "base.", "var ", "(", ")", "{", "}",
                     ";", "\n", ".", "x", "Foo", "F()", "///", "=>", "<", ">"),
    "c": pieces("int ", "void ", "struct ", "typedef ", "enum ", "#include ", '"x.h"', "<x.h>", "(", ")", "{", "}",
                ";", "\n", "->", ".", "*", "x", "f()", "/*", "*/", "#define ", "static "),
    "cpp": pieces("class ", "struct ", "namespace ", "template ", "public:", "::", "->", "this", "new ", "auto ",
                  "(", ")", "{", "}", ";", "\n", "<", ">", "x", "Foo", "f()", "[]", "#include ", "&", "*"),
    "ruby": pieces("class ", "module ", "def ", "end", "self.", "require ", "require_relative ", "'x'", "<",
                   "::", ".new", "@", "(", ")", "\n", "x", "Foo", "f()", "#", "do", "|", "{", "}", "?"),
    "php": pieces("<?php ", "namespace ", "use ", "class ", "function ", "extends ", "$this->", "->", "::", "new ",
                  "\\", "$x", "Foo", "(", ")", "{", "}", ";", "\n", "/**", "*/", "parent", "fn", "=>"),
})
CODE["typescript"] = CODE["tsx"] = st.one_of(CODE["javascript"], pieces(
    "interface ", "type ", "enum ", "implements ", ": ", "<", ">", "namespace ", "declare ",
    "abstract ", "private ", "x", "T", "{", "}", "(", ")", "\n", "<div>", "</div>", "/>"))
_FIRST_EXTENSION: dict[str, str] = {}
for _ext, _lang in EXTENSIONS.items():
    _FIRST_EXTENSION.setdefault(_lang, _ext)
LANGUAGE_FILES = sorted((lang, f"pkg/mod{ext}") for lang, ext in _FIRST_EXTENSION.items())


CODE = {lang: st.one_of(CODE_LINES[lang], pieces_) for lang, pieces_ in CODE.items()}


def line_count(text: str) -> int:
    """Lines as the note parser counts them (``str.splitlines``), at least one."""
    return max(1, len(text.removeprefix("\ufeff").splitlines()))


def storable(pf: ParsedFile) -> None:
    """Everything a parsed file carries survives JSON and UTF-8, as the stores need."""
    for node in pf.nodes:
        json.dumps(node.row(), ensure_ascii=False).encode("utf-8")
    for edge in pf.edges:
        json.dumps(edge.row(), ensure_ascii=False, default=str).encode("utf-8")
    for ref in pf.refs:
        json.dumps(ref.props, ensure_ascii=False, default=str).encode("utf-8")
    assert all(isinstance(w, str) and w for w in pf.warnings)


def well_formed(pf: ParsedFile, lines: int, own_id: str) -> None:
    ids = [n.id for n in pf.nodes]
    assert len(ids) == len(set(ids)), "duplicate node ids"
    assert own_id in ids
    kinds = {n.id: n.kind for n in pf.nodes}
    for node in pf.nodes:
        if node.kind is NodeKind.TAG:
            continue  # tags belong to no file
        assert node.start_line is not None and node.end_line is not None, node
        assert 1 <= node.start_line <= node.end_line <= lines, (node.id, node.start_line, node.end_line, lines)
    for edge in pf.edges:
        assert edge.src in kinds and edge.dst in kinds, edge
        assert (kinds[edge.src], kinds[edge.dst]) == (edge.src_kind, edge.dst_kind), edge
        assert check_pair(edge.kind, edge.src_kind, edge.dst_kind), edge
        assert edge.line is None or 1 <= edge.line <= lines, edge
    for ref in pf.refs:
        assert isinstance(ref.target, str), ref
        assert ref.line is None or 1 <= ref.line <= lines, (ref, lines)
        if ref.kind is EdgeKind.INHERITS and "class" in ref.props:
            continue  # Rust `impl Trait for S`: S may be defined in another file; the resolver places it
        assert ref.src in kinds and kinds[ref.src] is ref.src_kind, ref
    storable(pf)


# --- the Obsidian note parser -------------------------------------------------------------------

@bounded(200)
@given(text=st.one_of(st.text(max_size=300), MARKDOWN), in_comments=st.booleans())
def test_note_parser_is_total_well_formed_and_deterministic(text: str, in_comments: bool) -> None:
    pf = parse_note("v", "Folder/Note.md", text, links_in_comments=in_comments)
    assert (pf.kind, pf.lang, pf.root, pf.path) == ("note", "markdown", "v", "Folder/Note.md")
    well_formed(pf, line_count(text), note_id("v", "Folder/Note.md"))
    for ref in pf.refs:
        assert ref.kind in (EdgeKind.LINKS_TO, EdgeKind.EMBEDS, EdgeKind.MENTIONS), ref
        if ref.kind is not EdgeKind.MENTIONS:
            assert isinstance(ref.props["subpath"], str) and isinstance(ref.props["alias"], str), ref
    again = parse_note("v", "Folder/Note.md", text, links_in_comments=in_comments)
    assert repr(again) == repr(pf)  # repr, not ==: a YAML .nan is never equal to itself


@bounded(150)
@given(front=YAML, body=MARKDOWN)
def test_note_parser_with_frontmatter_is_total_and_well_formed(front: str, body: str) -> None:
    text = f"---\n{front}\n---\n{body}"
    pf = parse_note("v", "n.md", text)
    well_formed(pf, line_count(text), note_id("v", "n.md"))
    note = next(n for n in pf.nodes if n.kind is NodeKind.NOTE)
    assert all(isinstance(a, str) for a in note.props["aliases"])
    assert all(isinstance(t, str) and t for t in note.props["tags"])
    assert repr(parse_note("v", "n.md", text)) == repr(pf)


# --- the frontmatter parser -------------------------------------------------------------------

@bounded(300)
@given(lines=st.one_of(
    st.lists(st.text(max_size=20), max_size=8),
    st.builds(lambda inner, fence, rest: ["---", *inner.split("\n"), fence, *rest],
              YAML, st.sampled_from(["---", "----", "--- ", "-- "]), st.lists(st.text(max_size=10), max_size=3)),
))
def test_frontmatter_parser_never_raises_and_keeps_its_promises(lines: list[str]) -> None:
    fm = mds.split_frontmatter(lines)
    assert isinstance(fm.data, dict) and all(isinstance(k, str) for k in fm.data)
    json.dumps(fm.data, ensure_ascii=False).encode("utf-8")  # storable as node props
    assert 0 <= fm.lines <= len(lines)
    if fm.lines:
        assert mds._FENCE_LINE.match(lines[0]) and mds._FENCE_LINE.match(lines[fm.lines - 1])
        assert fm.raw == lines[1:fm.lines - 1]
    else:
        assert fm.data == {} and fm.raw == [] and not fm.warning
    assert isinstance(fm.warning, str)
    if fm.warning:
        assert fm.data == {}
    assert repr(mds.split_frontmatter(lines)) == repr(fm)


# --- the code parser, every language -------------------------------------------------------------

def _check_code(path: str, lang: str, source: bytes) -> None:
    pf = parse_code("r", path, source)
    assert (pf.kind, pf.lang, pf.root, pf.path) == ("code", lang, "r", path)
    well_formed(pf, source.count(b"\n") + 1, file_id("r", path))
    for ref in pf.refs:
        assert ref.kind in (EdgeKind.IMPORTS, EdgeKind.CALLS, EdgeKind.INHERITS), ref
        assert ref.target, ref
    assert repr(parse_code("r", path, source)) == repr(pf)


@pytest.mark.parametrize("lang, path", LANGUAGE_FILES)
@bounded(80)
@given(data=st.data())
def test_code_parser_on_code_like_text(lang: str, path: str, data: st.DataObject) -> None:
    text = data.draw(st.one_of(st.text(max_size=200), CODE[lang]), label="source")
    _check_code(path, lang, text.encode("utf-8"))


@pytest.mark.parametrize("lang, path", LANGUAGE_FILES)
@bounded(30)
@given(source=st.binary(max_size=300))
def test_code_parser_on_arbitrary_bytes(lang: str, path: str, source: bytes) -> None:
    _check_code(path, lang, source)


@bounded(20)
@given(name=st.text(min_size=1, max_size=10).filter(lambda n: "." not in n and "/" not in n))
def test_code_parser_refuses_unknown_file_types_with_its_documented_error(name: str) -> None:
    with pytest.raises(IngestError, match="no code parser for this file type"):
        parse_code("r", f"{name}.unknown", b"x = 1\n")
