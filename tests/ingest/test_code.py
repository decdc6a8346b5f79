"""The code parser: definitions, CONTAINS edges and refs per language, from real grammars."""

from __future__ import annotations

import ast
import sysconfig
from pathlib import Path

import pytest

from ingest.code import is_minified, parse_code
from ingest.languages import LANGUAGES, language_for
from ingest.types import ParsedFile
from kg.errors import IngestError
from kg.model import EdgeKind, NodeKind, check_pair
from tests.support.code_graph import contains, defs, parse









def refs(pf: ParsedFile, kind: EdgeKind) -> set[tuple[str, str]]:
    short = lambda i: i.split("::", 1)[1] if "::" in i else "FILE"  # noqa: E731
    return {(short(r.src), r.target) for r in pf.refs if r.kind is kind}


def test_language_table_covers_every_query_file():
    assert language_for("a/b.tsx") == "tsx" and language_for("x.JSX") == "javascript"
    assert language_for("README.md") is None
    for name, spec in LANGUAGES.items():
        stem = spec.query_file or name
        assert (Path(__file__).parents[2] / "ingest" / "queries" / f"{stem}.scm").is_file()


def test_python_definitions_nesting_and_docs():
    pf = parse("python", "src/shop/models.py")
    assert pf.kind == "code" and pf.lang == "python" and not pf.warnings
    assert defs(pf) == {
        "Base": ("Class", "class"), "Base.save": ("Function", "method"), "Base.validate": ("Function", "method"),
        "Order": ("Class", "class"), "Order.submit": ("Function", "method"), "Order.Line": ("Class", "class"),
        "Order.Line.cost": ("Function", "method"), "Order.Line.cost.double": ("Function", "function"),
    }
    assert contains(pf) == {("FILE", "Base"), ("Base", "Base.save"), ("Base", "Base.validate"), ("FILE", "Order"),
                            ("Order", "Order.submit"), ("Order", "Order.Line"), ("Order.Line", "Order.Line.cost"),
                            ("Order.Line.cost", "Order.Line.cost.double")}
    order = next(n for n in pf.nodes if n.qualname == "Order")
    assert order.doc == "An order." and order.signature == "class Order(Base):"
    assert (order.start_line, order.end_line) == (19, 33)  # the `class` line, after the decorator
    assert order.text.startswith("Order\nclass Order(Base):\nAn order.")
    file_node = pf.nodes[0]
    assert file_node.kind is NodeKind.FILE and file_node.name == "models.py"
    assert "Domain models." in file_node.text and "Base Order" in file_node.text


def test_python_refs():
    pf = parse("python", "src/shop/models.py")
    assert refs(pf, EdgeKind.INHERITS) == {("Order", "Base")}
    assert refs(pf, EdgeKind.CALLS) == {("Base.save", "self.validate"), ("Order.submit", "utils.retry"),
                                         ("Order.submit", "again"), ("Order.submit", "self.missing"),
                                         ("Order.Line.cost", "double")}
    imports = {r.target: r.props for r in pf.refs if r.kind is EdgeKind.IMPORTS}
    assert imports["dataclasses"]["names"] == ["dataclass"] and imports["dataclasses"]["level"] == 0
    assert imports[".utils"] == {"names": ["retry"], "alias": {"retry": "again"}, "lang": "python", "level": 1}
    assert imports["."]["names"] == ["utils"]
    self_call = next(r for r in pf.refs if r.target == "self.validate")
    assert self_call.props == {"lang": "python", "self": True} and self_call.line == 12


def test_javascript_and_jsx():
    pf = parse("javascript", "lib/shapes.jsx")
    assert defs(pf) == {"Shape": ("Class", "class"), "Shape.area": ("Function", "method"),
                        "Shape.describe": ("Function", "method"), "Circle": ("Class", "class"),
                        "Circle.constructor": ("Function", "method"), "Circle.area": ("Function", "method"),
                        "Circle.render": ("Function", "method"), "make": ("Function", "function")}
    assert refs(pf, EdgeKind.INHERITS) == {("Circle", "Shape")}
    assert ("Circle.render", "this.describe") in refs(pf, EdgeKind.CALLS)
    assert ("make", "Logger") in refs(pf, EdgeKind.CALLS)  # `new Logger()`
    (imp,) = [r for r in pf.refs if r.kind is EdgeKind.IMPORTS]
    assert imp.target == "./util" and sorted(imp.props["names"]) == ["default", "retry"]
    assert imp.props["alias"] == {"default": "Logger", "retry": "again"}
    util = parse("javascript", "lib/util.js")
    doc = {n.qualname: n.doc for n in util.nodes if n.qualname}
    assert doc == {"retry": "Retry a function a few times.", "log": "Log an error.", "Logger": "", "Logger.write": ""}


def test_javascript_properties_defined_by_a_call_are_definitions():
    source = b"""var req = Object.create(http.IncomingMessage.prototype);
defineGetter(req, 'ip', function ip() {
  return compileTrust(this)(this.connection);
});
defineGetter(req, 'fresh', () => true);
Object.defineProperty(req, 'xhr', { configurable: true, get: function () { return true; } });
Object.defineProperty(req, 'plain', { value: 1 });
router.get('/users', function (req, res) { res.send(1); });
function load(file) {
  fs.readFile(file, 'utf8', function (err, data) { parseConfig(data); });
  readFile(file, 'utf8', () => parseConfig(file));
}
function defineGetter(obj, name, getter) {
  Object.defineProperty(obj, name, { configurable: true, enumerable: true, get: getter });
}
"""
    pf = parse_code("express", "lib/request.js", source)
    assert defs(pf) == {"req.ip": ("Function", "method"), "req.fresh": ("Function", "method"),
                        "req.xhr": ("Function", "method"),
                        "load": ("Function", "function"), "defineGetter": ("Function", "function")}
    assert ("req.ip", "compileTrust") in refs(pf, EdgeKind.CALLS)
    assert ("load", "parseConfig") in refs(pf, EdgeKind.CALLS)  # callbacks stay inside their caller


def test_typescript_the_grammar_cannot_parse_is_mended_without_moving_a_line():
    """Overloads with type parameters on their own lines, and `export type *`, stop
    tree-sitter-typescript; what follows them must still be found, at its own lines."""
    source = b"""export type * from './types'
export interface CreateHandlers<E> {
  <I extends Input = {}>(
    handler1: H<E, I>
  ): [H<E, I>]
  <
    I extends Input = {},
    I2 extends Input = I,
  >(handler1: H<E, I>, handler2: H<E, I2>): [H<E, I>, H<E, I2>]
}

export class Factory<E> {
  createApp = (options?: Options): App<E> => {
    return new App<E>(options)
  }
}

export const createMiddleware = <
  E extends Env = any,
>(middleware: MiddlewareHandler<E>): MiddlewareHandler<E> => middleware
"""
    pf = parse_code("hono", "src/factory.ts", source)
    assert pf.warnings == []
    found = {n.qualname: n for n in pf.nodes if n.qualname}
    assert {"CreateHandlers", "Factory", "Factory.createApp", "createMiddleware"} <= set(found)
    assert (found["Factory"].start_line, found["createMiddleware"].start_line) == (12, 18)
    assert "H<E, I>]\n  <\n" in found["CreateHandlers"].text  # the original text, not the mended one
    (star,) = [r for r in pf.refs if r.kind is EdgeKind.IMPORTS]
    assert star.target == "./types"


def test_typescript_members_typed_as_functions_are_methods_and_data_members_are_not():
    source = b"""
export interface Command {
    id: string;
    /** Called with checking=true to ask whether the command can run now. */
    checkCallback?: (checking: boolean) => boolean | void;
    wrapped: ((x: number) => void);
    hotkeys?: Hotkey[];
}
export declare class Plugin {
    app: App;
    onExternalSettingsChange?: () => any;
    typed: () => number = () => 2;
}
export type Handlers = { onOpen: () => void; count: number };
function button(props: { onClick: () => void }): { stop: () => void } { return props as any; }
let inline: { run: () => void };
interface Nested { inner: { deep: () => void } }
"""
    pf = parse_code("api", "obsidian.d.ts", source)
    assert defs(pf) == {"Command": ("Class", "interface"), "Command.checkCallback": ("Function", "method"),
                        "Command.wrapped": ("Function", "method"), "Plugin": ("Class", "class"),
                        "Plugin.onExternalSettingsChange": ("Function", "method"), "Plugin.typed": ("Function", "method"),
                        "Handlers": ("Class", "type"), "Handlers.onOpen": ("Function", "method"),
                        "button": ("Function", "function"), "Nested": ("Class", "interface")}  # inline types declare nothing
    doc = {n.qualname: n.doc for n in pf.nodes}
    assert doc["Command.checkCallback"].startswith("Called with checking=true")


def test_typescript_kinds_and_heritage():
    pf = parse("typescript", "src/models/user.ts")
    assert defs(pf) == {"Entity": ("Class", "interface"), "Named": ("Class", "interface"),
                        "Named.name": ("Function", "method"), "UserId": ("Class", "type"), "Role": ("Class", "enum"),
                        "Model": ("Class", "class"), "Model.validate": ("Function", "method"),
                        "Model.save": ("Function", "method"), "User": ("Class", "class"),
                        "User.name": ("Function", "method"), "User.validate": ("Function", "method")}
    assert refs(pf, EdgeKind.INHERITS) == {("Named", "Entity"), ("Model", "Entity"), ("User", "Model"),
                                            ("User", "Named")}
    service = parse("typescript", "src/service.ts")
    assert "UserService.create" in defs(service)  # an arrow-function class field
    tsx = parse("typescript", "src/view.tsx")
    assert tsx.lang == "tsx" and defs(tsx) == {"App": ("Function", "function")}
    assert next(n for n in tsx.nodes if n.qualname == "App").doc == "A tiny component."


def test_go_receivers_and_embedding():
    pf = parse("go", "store/store.go")
    assert defs(pf) == {"Base": ("Class", "struct"), "Base.Name": ("Function", "method"),
                        "Store": ("Class", "struct"), "Saver": ("Class", "interface"),
                        "Saver.Save": ("Function", "method"), "Store.Save": ("Function", "method")}
    assert ("Store", "Store.Save") in contains(pf) and ("Base", "Base.Name") in contains(pf)
    assert refs(pf, EdgeKind.INHERITS) == {("Store", "Base")}
    assert {r.target: r.props.get("self") for r in pf.refs if r.kind is EdgeKind.CALLS} == {
        "errors.New": None, "append": None, "s.log": True}
    assert next(n for n in pf.nodes if n.qualname == "Store.Save").doc == "Save stores one item."
    log = parse("go", "store/log.go")
    assert contains(log) == {("FILE", "Store.log"), ("FILE", "helper")}  # Store lives in store.go
    main = parse("go", "main.go")
    imports = {r.target: r.props["alias"] for r in main.refs if r.kind is EdgeKind.IMPORTS}
    assert imports == {"fmt": {}, "example.com/shop/store": {"example.com/shop/store": "st"}}


def test_rust_impls_traits_and_uses():
    pf = parse("rust", "src/models/order.rs")
    assert defs(pf) == {"Order": ("Class", "struct"), "Status": ("Class", "enum"),
                        "Order.new": ("Function", "method"), "Order.double": ("Function", "method"),
                        "Order.total": ("Function", "method"), "Order.helper": ("Function", "method")}
    assert ("Order", "Order.total") in contains(pf)
    assert refs(pf, EdgeKind.INHERITS) == {("Order", "Priced")}
    assert ("Order.total", "Self::helper") in refs(pf, EdgeKind.CALLS)
    order = next(n for n in pf.nodes if n.qualname == "Order")
    assert order.doc == "An order." and order.signature.endswith("pub struct Order")
    lib = parse("rust", "src/lib.rs")
    imports = {(r.target, tuple(r.props["names"]), bool(r.props.get("include"))) for r in lib.refs
               if r.kind is EdgeKind.IMPORTS}
    assert imports == {("models", (), True), ("util", (), True), ("crate::models::order", ("Order",), False),
                       ("util", ("retry",), False)}


def test_every_edge_is_an_allowed_pair():
    for lang, path in [("python", "src/shop/models.py"), ("go", "store/store.go"), ("rust", "src/models/order.rs")]:
        for edge in parse(lang, path).edges:
            assert check_pair(edge.kind, edge.src_kind, edge.dst_kind)


def test_syntax_errors_are_recovered_and_reported():
    source = b"def good():\n    return 1\n\ndef broken(:\n    pass\n\nclass After:\n    def m(self): pass\n"
    pf = parse_code("r", "bad.py", source)
    assert pf.warnings and pf.warnings[0].startswith("syntax errors at lines 4")
    assert {"good", "After", "After.m"} <= set(defs(pf))


def test_invalid_utf8_is_replaced():
    pf = parse_code("r", "u.py", b'def caf\xe9():\n    """doc \xff"""\n')
    (fn,) = [n for n in pf.nodes if n.kind is NodeKind.FUNCTION]
    assert "\ufffd" in fn.doc


def test_same_qualname_twice_gets_distinct_ids():
    pf = parse_code("r", "p.py", b"class A:\n    @property\n    def x(self): pass\n    @x.setter\n    def x(self, v): pass\n")
    ids = [n.id for n in pf.nodes if n.qualname == "A.x"]
    assert ids == ["def:r/p.py::A.x", "def:r/p.py::A.x@2"]


def test_an_import_of_an_empty_path_names_no_module():
    # Found by tests/ingest/test_properties.py: Go resolved `import ""` to the file's own package.
    pf = parse_code("r", "a.go", b'package a\n\nimport ""\nimport "fmt"\n')
    assert refs(pf, EdgeKind.IMPORTS) == {("FILE", "fmt")}


def test_unknown_extension_raises():
    with pytest.raises(IngestError, match="no code parser"):
        parse_code("r", "notes.txt", b"")


def test_is_minified():
    assert not is_minified("def f():\n    return 1\n" * 50)
    assert is_minified("var a=1;" * 1000)
    assert is_minified("x\n" * 100 + "y" * 6000)


STDLIB = Path(sysconfig.get_paths()["stdlib"])


@pytest.mark.parametrize("module", ["json/decoder.py", "argparse.py", "dataclasses.py", "asyncio/tasks.py",
                                    "email/_header_value_parser.py", "typing.py"])
def test_python_def_count_matches_ast(module):
    source = (STDLIB / module).read_bytes()
    expected = sum(isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                   for n in ast.walk(ast.parse(source)))
    pf = parse_code("std", module, source)
    assert not pf.warnings
    assert len([n for n in pf.nodes if n.kind in (NodeKind.CLASS, NodeKind.FUNCTION)]) == expected


def test_rust_nested_use_lists_keep_their_prefix():
    pf = parse_code("r", "src/lib.rs", b"use crate::{lines::{self, LineStep}, sink::Sink, Error};\n")
    imports = {(r.target, tuple(r.props["names"])) for r in pf.refs if r.kind is EdgeKind.IMPORTS}
    assert imports == {("crate::lines", ("self", "LineStep")), ("crate::sink", ("Sink",)), ("crate", ("Error",))}
