"""C and C++: definitions, docs and refs from ingest/queries/{c,cpp}.scm, and the IMPORTS,
INHERITS and CALLS edges they resolve to over the fixture projects tests/fixtures/code/{c,cpp}."""

from __future__ import annotations


import pytest

from ingest.code import parse_code
from ingest.code_resolve import resolve_code
from ingest.languages import language_for
from ingest.types import ParsedFile
from kg.model import EdgeKind, NodeKind
from tests.support.code_graph import CODE, contains, defs, docs, edges, in_file, parse, resolve





def snippet(path: str, source: str) -> ParsedFile:
    return parse_code("r", path, source.encode())








def calls(pf: ParsedFile) -> dict[tuple[str, str], dict]:
    return {(in_file(r.src), r.target): r.props for r in pf.refs if r.kind is EdgeKind.CALLS}


def imports(pf: ParsedFile) -> dict[str, bool]:
    return {r.target: bool(r.props.get("relative")) for r in pf.refs if r.kind is EdgeKind.IMPORTS}








# -- C: parsing -------------------------------------------------------------------------------

def test_c_definitions_have_bodies_and_docs():
    header = parse("c", "include/shop/order.h")
    assert not header.warnings
    # `struct order_ops;` and the three prototypes declare, they do not define
    assert defs(header) == {"money": ("Class", "struct"), "order_status": ("Class", "enum"),
                            "order": ("Class", "struct"), "order_ops": ("Class", "struct")}
    assert docs(header)["money"] == "An amount in cents, with its currency."  # typedef struct {...} money;
    assert docs(header)["order"] == "One order: its lines and what it does when submitted."
    source = parse("c", "src/order.c")
    assert defs(source) == {name: ("Function", "function") for name in
                            ("validate", "send_now", "order_new", "order_total", "order_submit")}
    assert contains(source) == {("FILE", name) for name in
                                ("validate", "send_now", "order_new", "order_total", "order_submit")}
    assert docs(source)["order_new"] == "Creates an open order with room for `lines` lines."
    assert docs(source)["validate"] == "Orders are never empty."
    new = next(n for n in source.nodes if n.qualname == "order_new")
    assert new.signature == "struct order *order_new(size_t lines)" and (new.start_line, new.end_line) == (18, 24)
    util = parse("c", "src/util.c")
    assert docs(util) == {"validate": "Checks a message before it is logged.",
                          "log_line": "Writes one line to the log.", "money_add": ""}


def test_c_calls_and_includes():
    pf = parse("c", "src/order.c")
    assert set(calls(pf)) == {("order_new", "calloc"), ("order_total", "money_add"), ("order_submit", "validate"),
                              ("order_submit", "log_line"), ("order_submit", "o.ops.run")}  # `o->ops->run`
    assert imports(pf) == {"stdlib.h": False, "shop/order.h": True, "util.h": True}


def test_c_declarator_shapes():
    pf = snippet("shapes.c", """
static char **names(void) { return 0; }
static int (*handler(int sig))(int) { return 0; }
static void FN(Store)(int *h) { FN_A(Store)(h); }
int proto(int);
extern void (*hook)(void);
struct fwd;
typedef union { int i; float f; } number;
typedef enum { RED, GREEN } color;
""")
    assert defs(pf) == {"names": ("Function", "function"), "handler": ("Function", "function"),
                        "FN(Store)": ("Function", "function"),  # a name made by a macro
                        "number": ("Class", "union"), "color": ("Class", "enum")}


# -- C: resolution ----------------------------------------------------------------------------

def test_c_includes_resolve_as_paths():
    res = resolve("c")
    found = edges(res, EdgeKind.IMPORTS)
    assert found[("src/order.c", "src/util.h")] == (True, "import")  # "util.h", beside the includer
    assert found[("src/order.c", "include/shop/order.h")] == (True, "import")  # "shop/order.h", under include/
    assert found[("src/util.h", "include/shop/order.h")] == (True, "import")
    assert found[("src/order.c", "module:stdlib")] == (True, "external")  # <stdlib.h>


def test_c_calls_resolve_in_file_then_by_linkage():
    res = resolve("c")
    found = edges(res, EdgeKind.CALLS)
    assert found[("src/order.c::order_submit", "src/order.c::validate")] == (True, "local")  # its own static
    assert found[("src/util.c::log_line", "src/util.c::validate")] == (True, "local")
    assert found[("src/order.c::order_submit", "src/util.c::log_line")] == (True, "linkage")  # declared in util.h
    assert found[("src/order.c::order_total", "src/util.c::money_add")] == (True, "linkage")
    assert found[("src/main.c::main", "src/order.c::order_new")] == (True, "linkage")
    assert found[("src/main.c::main", "src/order.c::order_submit")] == (True, "linkage")
    # two static functions are named validate: a call from a third file is a guess, left unresolved
    assert found[("src/main.c::main", "unresolved:c/call:validate")] == (False, "name-only")
    assert found[("src/order.c::order_submit", "unresolved:c/call:o.ops.run")] == (False, "")  # a function pointer
    assert found[("src/order.c::order_new", "unresolved:c/call:calloc")][0] is False


# -- C++: parsing -----------------------------------------------------------------------------

def test_cpp_classes_and_inline_methods():
    pf = parse("cpp", "include/shop/order.hpp")
    assert not pf.warnings
    # `void submit();` and the other declarations are no definitions; the constructor has a body.
    # `namespace shop` does not qualify (see ingest/queries/cpp.scm).
    assert defs(pf) == {"Order": ("Class", "class"), "Order.Line": ("Class", "struct"),
                        "Order.Line.cost": ("Function", "method"), "Order.Order": ("Function", "method")}
    assert contains(pf) == {("FILE", "Order"), ("Order", "Order.Line"), ("Order.Line", "Order.Line.cost"),
                            ("Order", "Order.Order")}
    assert docs(pf)["Order"] == "An order of a few lines."  # a // comment
    assert docs(pf)["Order.Line"] == "One line of an order."
    assert {r.target for r in pf.refs if r.kind is EdgeKind.INHERITS} == {"Model"}
    assert imports(pf) == {"vector": False, "model.hpp": True}
    model = parse("cpp", "include/shop/model.hpp")
    assert defs(model) == {"Model": ("Class", "class"), "Model.validate": ("Function", "method")}
    assert docs(model)["Model"] == "Anything the store keeps: it validates itself before it is saved."


def test_cpp_out_of_line_methods_are_qualified_by_their_class():
    pf = parse("cpp", "src/order.cpp")
    assert defs(pf) == {f"Order.{m}": ("Function", "method") for m in ("submit", "validate", "total", "load")}
    assert contains(pf) == {("FILE", f"Order.{m}") for m in ("submit", "validate", "total", "load")}
    load = next(n for n in pf.nodes if n.qualname == "Order.load")
    assert load.name == "load" and load.signature == "Order *Order::load(int id)"


def test_cpp_out_of_line_method_inside_a_namespace_block():
    pf = parse("cpp", "src/model.cpp")  # namespace shop { bool Model::save() {...} }
    assert defs(pf) == {"Model.save": ("Function", "method")}
    assert contains(pf) == {("FILE", "Model.save")}  # Model is defined in the header


def test_cpp_calls_carry_receiver_types():
    pf = parse("cpp", "src/order.cpp")
    found = calls(pf)
    assert found[("Order.submit", "validate")] == {"lang": "cpp"}  # implicit this
    assert found[("Order.submit", "util::log")] == {"lang": "cpp"}
    assert found[("Order.submit", "clock.tick")]["type"] == "Clock"  # Clock clock;
    assert found[("Order.validate", "Model::validate")] == {"lang": "cpp"}
    assert found[("Order.total", "line.cost")]["type"] == "Line"  # for (const Line &line : lines_)
    assert found[("Order.load", "Order")] == {"lang": "cpp"}  # new Order(nullptr)
    model = calls(parse("cpp", "src/model.cpp"))
    assert [props.get("self") for (_, target), props in model.items() if target == "this.validate"] == [True]
    main = calls(parse("cpp", "src/main.cpp"))
    assert main[("report", "order.total")]["type"] == "Order"  # const Order &order
    assert main[("report", "clock.ticks")]["type"] == "Clock"  # Clock *clock; clock->ticks()
    assert main[("main", "order.submit")]["type"] == "Order"  # Order *order = ...
    assert main[("main", "copy.submit")]["type"] == "Order"  # auto copy = std::make_unique<Order>(...)
    assert main[("main", "Order::load")] == {"lang": "cpp"}
    assert "type" not in main[("main", "any.tick")]  # auto any = order: no evidence


def test_cpp_declarator_shapes():
    pf = snippet("shapes.cpp", """
namespace a::b { struct S {}; }
namespace { int hidden() { return 1; } }
template <typename T> class Box { public: T get() const { return t; } T t; };
template <typename T> T Box<T>::put(T v) { return v; }
class A {
  A() = default;
  virtual int pure() = 0;
  ~A() {}
  static A *make() { return new A(); }
  const A &ref() const { return *this; }
  bool operator==(const A &o) const { return true; }
  explicit operator bool() const { return true; }
};
int *A::ptr() { return nullptr; }
std::string &ns::A::name() { static std::string n; return n; }
A::~A() {}
""")
    assert defs(pf) == {
        "S": ("Class", "struct"), "hidden": ("Function", "function"), "Box": ("Class", "class"),
        "Box.get": ("Function", "method"), "Box.put": ("Function", "method"), "A": ("Class", "class"),
        "A.~A": ("Function", "method"), "A.make": ("Function", "method"), "A.ref": ("Function", "method"),
        "A.operator==": ("Function", "method"), "A.operator bool() const": ("Function", "method"),
        "A.ptr": ("Function", "method"), "A.name": ("Function", "method")}
    assert len([n for n in pf.nodes if n.qualname == "A.~A"]) == 2  # in the class and out of line


def test_cpp_typed_locals_parameters_and_members():
    pf = snippet("locals.cpp", """
void f(Foo a, Foo *b, const Foo &c, Foo d = Foo(), ns::Foo e) {
  a.m1(); b->m2(); c.m3(); d.m4(); e.m5();
  Foo x; x.m6();
  Foo y(1); y.m7();
  Foo *p = new Foo(); p->m8();
  Foo &r = x; r.m9();
  auto z = Foo(2); z.m10();
  auto *w = new Foo; w->m11();
  auto u = std::make_unique<Foo>(); u->m12();
  std::shared_ptr<Foo> s; s->m13();
  for (auto &it : items) it.m14();
}
class K { Store *store_; void g() { store_->save(); } };
""")
    types = {target: props.get("type") for (_, target), props in calls(pf).items()}
    assert types == {"a.m1": "Foo", "b.m2": "Foo", "c.m3": "Foo", "d.m4": "Foo", "e.m5": "ns::Foo", "x.m6": "Foo",
                     "y.m7": "Foo", "p.m8": "Foo", "r.m9": "Foo", "z.m10": "Foo", "w.m11": "Foo", "u.m12": "Foo",
                     "s.m13": "Foo", "it.m14": None, "store_.save": "Store",
                     "Foo": None, "std::make_unique<Foo>": None}  # `Foo()`, `new Foo`


# -- C++: resolution --------------------------------------------------------------------------

def test_cpp_includes_resolve_as_paths():
    res = resolve("cpp")
    found = edges(res, EdgeKind.IMPORTS)
    assert found[("include/shop/order.hpp", "include/shop/model.hpp")] == (True, "import")
    assert found[("src/order.cpp", "include/shop/order.hpp")] == (True, "import")
    assert found[("src/main.cpp", "src/util.hpp")] == (True, "import")
    assert found[("src/main.cpp", "module:memory")] == (True, "external")


def test_cpp_inherits_across_files():
    res = resolve("cpp")
    assert edges(res, EdgeKind.INHERITS) == {
        ("include/shop/order.hpp::Order", "include/shop/model.hpp::Model"): (True, "import")}


def test_cpp_calls_resolve_on_evidence():
    res = resolve("cpp")
    found = edges(res, EdgeKind.CALLS)
    # typed locals and parameters: `Clock clock; clock.tick()`, `const Order &order`, `Clock *clock`,
    # `Order *order = ...; order->submit()`; the method is defined out of line in another file
    assert found[("src/order.cpp::Order.submit", "src/util.hpp::Clock.tick")] == (True, "type")
    assert found[("src/main.cpp::report", "src/util.hpp::Clock.ticks")] == (True, "type")
    assert found[("src/main.cpp::report", "src/order.cpp::Order.total")] == (True, "type")
    assert found[("src/main.cpp::main", "src/order.cpp::Order.submit")] == (True, "type")
    assert found[("src/model.cpp::Model.save", "include/shop/model.hpp::Model.validate")] == (True, "self")
    assert found[("src/main.cpp::main", "src/order.cpp::Order.load")] == (True, "import")  # Order::load(1)
    assert found[("src/order.cpp::Order.load", "include/shop/order.hpp::Order")] == (True, "import")  # new Order
    assert found[("src/main.cpp::main", "src/main.cpp::report")] == (True, "local")
    # a method name that exists, on a receiver of unknown type, stays a guess
    assert found[("src/main.cpp::main", "unresolved:cpp/call:any.tick")] == (False, "name-only")
    assert found[("src/main.cpp::main", "unresolved:cpp/call:clock.reset")] == (False, "")  # Clock has none


def test_cpp_members_are_in_scope_in_methods():
    found = edges(resolve("cpp"), EdgeKind.CALLS)
    assert found[("src/order.cpp::Order.submit", "src/order.cpp::Order.validate")] == (True, "self")  # validate()
    assert found[("src/order.cpp::Order.submit", "src/model.cpp::Model.save")] == (True, "self")  # save(), inherited
    assert found[("src/order.cpp::Order.total", "include/shop/order.hpp::Order.Line.cost")][0] is True  # Line


@pytest.mark.xfail(strict=True, reason="includes are not followed transitively (Model comes through order.hpp), "
                   "and a namespace-qualified call `util::log` is not looked up past the namespace")
def test_cpp_includes_of_includes_and_namespaces():
    found = edges(resolve("cpp"), EdgeKind.CALLS)
    assert found[("src/order.cpp::Order.validate", "include/shop/model.hpp::Model.validate")][0] is True
    assert found[("src/order.cpp::Order.submit", "src/util.cpp::log")][0] is True  # util::log(...)


@pytest.mark.parametrize("lang", ["c", "cpp"])
def test_every_fixture_file_parses_cleanly(lang):
    root = CODE / lang
    for p in sorted(root.rglob("*")):
        if p.is_file() and language_for(p.name):
            assert not parse(lang, p.relative_to(root).as_posix()).warnings, p


def test_a_header_is_cpp_when_its_text_says_so():
    cpp = parse_code("r", "shape.h", b"#pragma once\nnamespace geo {\nclass Shape {\npublic:\n  int area();\n};\n}\n")
    c = parse_code("r", "util.h", b"#include <stdio.h>\nstruct point { int x; };\nint add(int a, int b);\n")
    assert (cpp.lang, c.lang) == ("cpp", "c")
    assert [n.qualname for n in cpp.nodes if n.kind is NodeKind.CLASS] == ["Shape"]


def test_linkage_never_reaches_another_files_static_function(tmp_path):
    files = {"a.c": b"static int helper(void) { return 1; }\nint shared(void) { return helper(); }\n",
             "b.c": b"int main(void) { return helper() + shared(); }\n"}
    res = resolve_code([parse_code("r", name, data) for name, data in files.items()], {"r": tmp_path})
    calls = {(e.src.split("::")[-1], e.dst.split("::")[-1]): (e.resolved, e.how) for e in res.edges
             if e.kind is EdgeKind.CALLS}
    assert calls[("shared", "helper")] == (True, "local")  # its own file's static
    assert calls[("main", "shared")] == (True, "linkage")
    assert calls[("main", "unresolved:r/call:helper")] == (False, "name-only")  # a.c's helper is static


def test_c_linkage_never_reaches_a_cpp_function(tmp_path):
    files = {"main.c": b"void init(void);\nint main(void) { init(); return 0; }\n",
             "lib.cpp": b"namespace a { void init() {} }\n"}
    res = resolve_code([parse_code("r", name, data) for name, data in files.items()], {"r": tmp_path})
    (call,) = [e for e in res.edges if e.kind is EdgeKind.CALLS]
    assert (call.resolved, call.how) == (False, "name-only")


def test_an_angle_include_is_found_only_on_a_load_path_and_never_is_the_file_itself(tmp_path):
    files = {"src/compat/string.h": b"int strlen(const char *s) { return 0; }\n",
             "include/shop/order.h": b"struct order { int n; };\n",
             "src/x.h": b'#include "x.h"\n',
             "src/main.c": b'#include <string.h>\n#include <shop/order.h>\n#include "../../config.h"\n'
                           b"int main(void) { return strlen(\"a\"); }\n"}
    res = resolve_code([parse_code("r", name, data) for name, data in files.items()], {"r": tmp_path})
    imports = edges(res, EdgeKind.IMPORTS)
    assert imports[("src/main.c", "module:string")] == (True, "external")  # not src/compat/string.h
    assert ("src/main.c", "include/shop/order.h") in imports  # include/ is a load folder
    assert ("src/main.c", "module:config") in imports  # named by its first real segment, not `..`
    assert not [k for k in imports if k[0] == "src/x.h"]  # a header including itself: no edge
