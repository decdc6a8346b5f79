"""Java and C#: definitions, docs and refs per file, and IMPORTS/INHERITS/CALLS across packages."""

from __future__ import annotations


import pytest

from ingest.code import parse_code
from ingest.code_resolve import resolve_code
from ingest.types import ParsedFile
from kg.model import EdgeKind, NodeKind, unresolved_id
from tests.support.code_graph import contains, defs, docs, edges, parse, resolve

JAVA = "src/main/java/com/acme/shop"










def refs(pf: ParsedFile, kind: EdgeKind) -> dict[tuple[str, str], dict]:
    short_id = lambda i: i.split("::", 1)[1] if "::" in i else "FILE"  # noqa: E731
    return {(short_id(r.src), r.target): r.props for r in pf.refs if r.kind is kind}








# -- Java, per file --------------------------------------------------------------------------

def test_java_definitions_nesting_and_javadoc():
    pf = parse("java", f"{JAVA}/model/Order.java")
    assert pf.lang == "java" and not pf.warnings
    assert pf.nodes[0].props == {"packages": ["com.acme.shop.model"]}
    assert defs(pf) == {
        "Order": ("Class", "class"), "Order.Order": ("Function", "method"),  # the constructor
        "Order.submit": ("Function", "method"), "Order.total": ("Function", "method"),
        "Order.Line": ("Class", "class"), "Order.Line.cost": ("Function", "method"),
        "Order.Line.round": ("Function", "method"),
    }
    assert contains(pf) == {("FILE", "Order"), ("Order", "Order.Order"), ("Order", "Order.submit"),
                            ("Order", "Order.total"), ("Order", "Order.Line"), ("Order.Line", "Order.Line.cost"),
                            ("Order.Line", "Order.Line.round")}
    order = next(n for n in pf.nodes if n.qualname == "Order")
    assert order.doc == "An order of lines." and order.start_line == 6  # the annotation starts it
    assert order.signature.endswith("public class Order extends Entity implements Priced")
    assert docs(pf)["Order.Line"] == "One line of an order."
    entity = docs(parse("java", f"{JAVA}/model/Entity.java"))
    assert entity == {"Entity": "Something that can be saved.", "Entity.save": "Validates, then saves.",
                      "Entity.validate": ""}  # a `//` comment is not Javadoc


def test_java_interfaces_records_enums_and_abstract_methods():
    source = b"""package p;
interface Shape extends Named, Comparable<Shape> { double area(); default String label() { return "s"; } }
record Point(int x, int y) implements Shape { Point { } public double area() { return 0; } }
enum Color { RED { void paint() {} }; Color next() { return RED; } }
@interface Marker { String value(); }
abstract class Base { abstract void run(); Runnable r = new Runnable() { public void run() {} }; }
"""
    pf = parse_code("r", "p/Shapes.java", source)
    ids = {n.id.split("::", 1)[1]: n.props["type"] for n in pf.nodes if n.kind is not NodeKind.FILE}
    assert ids == {
        "Shape": "interface", "Shape.area": "method", "Shape.label": "method",  # area() has no body
        "Point": "class", "Point.Point": "method", "Point.area": "method",  # a compact constructor
        "Color": "enum", "Color.paint": "method", "Color.next": "method",  # paint(): a constant's body
        "Marker": "interface", "Marker.value": "method",
        "Base": "class", "Base.run": "method",
        "Base.run@2": "method",  # an anonymous class's run() is qualified by the class around it
    }
    assert set(refs(pf, EdgeKind.INHERITS)) == {("Shape", "Named"), ("Shape", "Comparable<Shape>"), ("Point", "Shape")}


def test_java_calls_imports_and_typed_locals():
    pf = parse("java", f"{JAVA}/model/Order.java")
    calls = refs(pf, EdgeKind.CALLS)
    assert calls[("Order.submit", "this.save")] == {"lang": "java", "self": True, "arity": 0}
    assert calls[("Order.submit", "super.validate")] == {"lang": "java", "arity": 0}
    assert calls[("Order.submit", "Retry.times")] == {"lang": "java", "arity": 1}  # a static call, as written
    assert calls[("Order.submit", "retry.run")]["type"] == "Retry"  # the field `private Retry retry;`
    assert calls[("Order.submit", "this.retry.run")]["type"] == "Retry"
    assert calls[("Order.submit", "line.cost")]["type"] == "Line"  # `Line line = new Line();`
    assert ("Order.Order", "Retry") in calls  # `new Retry()` calls the class
    assert ("Order.Line.cost", "round") in calls
    app = parse("java", f"{JAVA}/App.java")
    calls = refs(app, EdgeKind.CALLS)
    assert calls[("App.main", "retry.run")]["type"] == "Retry"  # `var retry = new Retry();`
    assert calls[("App.main", "each.total")]["type"] == "Order"  # `for (Order each : orders)`
    assert calls[("App.run", "priced.total")]["type"] == "Priced"  # a typed parameter
    imports = refs(app, EdgeKind.IMPORTS)
    assert imports == {("FILE", "com.acme.shop.model"): {"names": ["*"], "alias": {}, "lang": "java"},
                       ("FILE", "com.acme.shop.util.Retry"): {"names": [], "alias": {}, "lang": "java"},
                       ("FILE", "java.util.List"): {"names": [], "alias": {}, "lang": "java"}}


# -- C#, per file ----------------------------------------------------------------------------

def test_csharp_definitions_namespaces_and_xml_docs():
    pf = parse("csharp", "Shop/Models/Order.cs")
    assert pf.lang == "csharp" and not pf.warnings
    assert pf.nodes[0].props == {"packages": ["Acme.Shop.Models"]}  # file-scoped namespace
    assert defs(pf) == {
        "Order": ("Class", "class"), "Order.Order": ("Function", "method"),
        "Order.Submit": ("Function", "method"), "Order.Total": ("Function", "method"),
        "Order.Line": ("Class", "class"), "Order.Line.Cost": ("Function", "method"),
        "Order.Line.Cost.Round": ("Function", "function"),  # a local function
    }
    assert ("Order.Line.Cost", "Order.Line.Cost.Round") in contains(pf)
    order = next(n for n in pf.nodes if n.qualname == "Order")
    assert order.doc == "<summary>An order of lines.</summary>" and order.start_line == 7  # the attribute
    entity = parse("csharp", "Shop/Models/Entity.cs")
    assert entity.nodes[0].props == {"packages": ["Acme.Shop.Models"]}  # block namespace
    assert docs(entity) == {"Entity": "<summary>\nSomething that can be saved.\n</summary>",
                            "Entity.Save": "<summary>Validates, then saves.</summary>", "Entity.Validate": ""}
    assert defs(parse("csharp", "Shop/Models/IPriced.cs")) == {
        "IPriced": ("Class", "interface"), "IPriced.Total": ("Function", "method")}


def test_csharp_structs_records_enums_and_bases():
    source = b"""namespace A.B { namespace C { } }
public struct Point : IEquatable<Point> { public bool Equals(Point p) => true; }
public record Money(decimal Amount) : Value(Amount);
public record struct Pair(int A, int B);
public enum Color { Red, Green }
public delegate void Handler(object sender);
"""
    pf = parse_code("r", "Types.cs", source)
    assert defs(pf) == {"Point": ("Class", "struct"), "Point.Equals": ("Function", "method"),
                        "Money": ("Class", "class"), "Pair": ("Class", "class"), "Color": ("Class", "enum"),
                        "Handler": ("Class", "type")}
    assert set(refs(pf, EdgeKind.INHERITS)) == {("Point", "IEquatable<Point>"), ("Money", "Value")}


def test_csharp_calls_usings_and_typed_locals():
    pf = parse("csharp", "Shop/Models/Order.cs")
    calls = refs(pf, EdgeKind.CALLS)
    assert calls[("Order.Submit", "this.Save")] == {"lang": "csharp", "self": True, "arity": 0}
    assert calls[("Order.Submit", "base.Validate")] == {"lang": "csharp", "arity": 0}
    assert calls[("Order.Submit", "retry.Run")]["type"] == "Retry"  # a field
    assert calls[("Order.Submit", "this.retry.Run")]["type"] == "Retry"
    assert calls[("Order.Submit", "line.Cost")]["type"] == "Line"  # `var line = new Line();`
    assert ("Order", "Retry") in calls  # a field initializer runs in the class
    app = parse("csharp", "Shop/App.cs")
    calls = refs(app, EdgeKind.CALLS)
    assert calls[("App.Main", "retry.Run")]["type"] == "R"  # `var retry = new R();` (an alias)
    assert calls[("App.Main", "each.Total")]["type"] == "Order"  # foreach
    assert calls[("App.Run", "priced.Total")]["type"] == "IPriced"  # a parameter
    assert ("App.Main", "List") in calls  # `new List<Order>` as the class List
    assert refs(app, EdgeKind.IMPORTS) == {
        ("FILE", "System.Collections.Generic"): {"names": [], "alias": {}, "lang": "csharp"},
        ("FILE", "Acme.Shop.Models"): {"names": [], "alias": {}, "lang": "csharp"},
        ("FILE", "Acme.Shop.Util.Retry"): {"names": [], "alias": {"Acme.Shop.Util.Retry": "R"}, "lang": "csharp"}}


# -- resolution --------------------------------------------------------------------------------

def test_java_packages_imports_and_calls():
    res = resolve("java")
    app, order, entity = f"{JAVA}/App.java", f"{JAVA}/model/Order.java", f"{JAVA}/model/Entity.java"
    retry, priced = f"{JAVA}/util/Retry.java", f"{JAVA}/model/Priced.java"
    imports = edges(res, EdgeKind.IMPORTS)
    assert {k for k in imports if k[0] == app} == {
        (app, entity), (app, order), (app, priced),  # import com.acme.shop.model.*
        (app, f"{retry}::Retry"), (app, "module:java")}
    assert imports[(order, f"{retry}::Retry")] == (True, "import")
    assert edges(res, EdgeKind.INHERITS) == {(f"{order}::Order", f"{entity}::Entity"): (True, "package"),
                                             (f"{order}::Order", f"{priced}::Priced"): (True, "package")}
    calls = edges(res, EdgeKind.CALLS)
    assert calls[(f"{entity}::Entity.save", f"{entity}::Entity.validate")] == (True, "self")
    assert calls[(f"{order}::Order.submit", f"{entity}::Entity.save")] == (True, "self")  # inherited
    assert calls[(f"{order}::Order.submit", f"{retry}::Retry.times")] == (True, "import")  # static
    assert calls[(f"{order}::Order.submit", f"{retry}::Retry.run")] == (True, "type")  # a field
    assert calls[(f"{order}::Order.Order", f"{retry}::Retry")] == (True, "import")  # new Retry()
    assert calls[(f"{app}::App.main", f"{order}::Order")] == (True, "import")  # through the * import
    assert calls[(f"{app}::App.main", f"{order}::Order.submit")] == (True, "type")
    assert calls[(f"{app}::App.main", f"{retry}::Retry.run")] == (True, "type")  # var retry = new Retry()
    assert calls[(f"{app}::App.main", f"{order}::Order.total")] == (True, "type")  # the loop variable
    assert calls[(f"{app}::App.run", f"{priced}::Priced.total")] == (True, "type")  # an interface method
    assert calls[(f"{retry}::Retry.times", f"{retry}::Retry.run")] == (True, "type")  # new Retry().run()
    # `orders.get(0).submit()`: a submit() exists in the root, but nothing says which object this is.
    unknown = next(e for e in res.edges if e.dst == unresolved_id("java", "call:orders.get(0).submit"))
    assert (unknown.resolved, unknown.how) == (False, "name-only")
    assert unknown.props["candidates"] == [f"def:java/{order}::Order.submit"]


def test_csharp_namespaces_usings_and_calls():
    res = resolve("csharp")
    app, order, entity = "Shop/App.cs", "Shop/Models/Order.cs", "Shop/Models/Entity.cs"
    retry, priced = "Shop/Util/Retry.cs", "Shop/Models/IPriced.cs"
    imports = edges(res, EdgeKind.IMPORTS)
    assert {k for k in imports if k[0] == app} == {
        (app, entity), (app, order), (app, priced),  # using Acme.Shop.Models;
        (app, f"{retry}::Retry"),  # using R = Acme.Shop.Util.Retry;
        (app, "module:System")}
    assert imports[(order, retry)] == (True, "import")  # using Acme.Shop.Util;
    assert edges(res, EdgeKind.INHERITS) == {(f"{order}::Order", f"{entity}::Entity"): (True, "package"),
                                             (f"{order}::Order", f"{priced}::IPriced"): (True, "package")}
    calls = edges(res, EdgeKind.CALLS)
    assert calls[(f"{entity}::Entity.Save", f"{entity}::Entity.Validate")] == (True, "self")
    assert calls[(f"{order}::Order.Submit", f"{entity}::Entity.Save")] == (True, "self")  # inherited
    assert calls[(f"{order}::Order.Submit", f"{retry}::Retry.Times")] == (True, "import")  # static
    assert calls[(f"{order}::Order.Submit", f"{retry}::Retry.Run")] == (True, "type")  # a field
    assert calls[(f"{order}::Order", f"{retry}::Retry")] == (True, "import")  # field initializer
    assert calls[(f"{app}::App.Main", f"{order}::Order")] == (True, "import")
    assert calls[(f"{app}::App.Main", f"{order}::Order.Submit")] == (True, "type")
    assert calls[(f"{app}::App.Main", f"{retry}::Retry")] == (True, "import")  # new R()
    assert calls[(f"{app}::App.Main", f"{retry}::Retry.Times")] == (True, "import")  # R.Times
    assert calls[(f"{app}::App.Main", f"{retry}::Retry.Run")] == (True, "type")  # var retry = new R()
    assert calls[(f"{app}::App.Main", f"{order}::Order.Total")] == (True, "type")  # foreach variable
    assert calls[(f"{app}::App.Run", f"{priced}::IPriced.Total")] == (True, "type")
    assert calls[(f"{order}::Order.Line.Cost", f"{order}::Order.Line.Cost.Round")] == (True, "local")
    unknown = next(e for e in res.edges if e.dst == unresolved_id("csharp", "call:orders[0].Submit"))
    assert (unknown.resolved, unknown.how) == (False, "name-only")
    assert unknown.props["candidates"] == [f"def:csharp/{order}::Order.Submit"]


@pytest.mark.parametrize("lang, calls", [
    ("java", [
        ("Retry.java::Retry.run", "log", "Retry.java::Retry.log"),  # an implicit `this`
        ("App.java::App.main", "run", "App.java::App.run"),  # a static method of the same class
        ("Order.java::Order.Line.cost", "round", "Order.java::Order.Line.round"),
        ("Order.java::Order.submit", "Line", "Order.java::Order.Line"),  # new Line(): a nested class
        ("Order.java::Order.submit", "line.cost", "Order.java::Order.Line.cost"),  # Line line = ...
        ("Order.java::Order.submit", "super.validate", "Entity.java::Entity.validate"),
    ]),
    ("csharp", [
        ("Retry.cs::Retry.Run", "Log", "Retry.cs::Retry.Log"),
        ("App.cs::App.Main", "Run", "App.cs::App.Run"),
        ("Order.cs::Order.Submit", "Line", "Order.cs::Order.Line"),
        ("Order.cs::Order.Submit", "line.Cost", "Order.cs::Order.Line.Cost"),
        ("Order.cs::Order.Submit", "base.Validate", "Entity.cs::Entity.Validate"),
    ]),
])
def test_class_members_are_in_scope_in_methods(lang, calls):
    """A bare ``m()`` in a method means ``this.m()`` or the class's own static ``m``; nested
    classes are in scope by their simple name, and ``super.m()``/``base.m()`` is the base's ``m``."""
    res = resolve(lang)
    found = {(e.src.rsplit("/", 1)[-1], e.dst if e.dst.startswith("unresolved:") else e.dst.rsplit("/", 1)[-1])
             for e in res.edges if e.kind is EdgeKind.CALLS}
    wrong = [(src, target) for src, target, dst in calls
             if (src, dst) not in found or (src, unresolved_id(lang, f"call:{target}")) in found]
    assert not wrong, f"not resolved from the class scope: {wrong}"


def test_an_overloaded_call_goes_to_the_overload_that_takes_its_arguments(tmp_path):
    java = (b"class Dom {\n  static void walk(Node n) { walk(n, 0); }\n  static void walk(Node n, int depth) { }\n"
            b"  static void log(String f, Object... args) { }\n  void run(Node n) { walk(n); walk(n, 2); log(\"a\", 1, 2); }\n}\n")
    res = resolve_code([parse_code("r", "Dom.java", java)], {"r": tmp_path})
    calls = {(e.src.split("::")[1], e.dst.split("::")[1], e.line) for e in res.edges if e.kind is EdgeKind.CALLS}
    assert ("Dom.walk", "Dom.walk@2", 2) in calls  # the 1-argument walk delegates to the 2-argument one
    assert {("Dom.run", "Dom.walk", 5), ("Dom.run", "Dom.walk@2", 5), ("Dom.run", "Dom.log", 5)} <= calls


def test_a_nested_class_calls_its_outer_classs_methods_by_name(tmp_path):
    java = (b"class Grammar {\n  static int handler(int p) { return p; }\n"
            b"  static class End {\n    int run() { return handler(1); }\n  }\n}\n")
    res = resolve_code([parse_code("r", "Grammar.java", java)], {"r": tmp_path})
    calls = {(e.src.split("::")[1], e.dst.split("::")[-1], e.how) for e in res.edges if e.kind is EdgeKind.CALLS}
    assert ("Grammar.End.run", "Grammar.handler", "self") in calls


def test_an_inherited_member_comes_before_the_outer_classs(tmp_path):
    files = {"a/Base.java": b"package a;\npublic class Base { public void run() {} }\n",
             "a/Outer.java": b"package a;\nclass Outer {\n  void run() {}\n  class Task extends Base {\n"
                             b"    void go() { run(); }\n  }\n}\n"}
    res = resolve_code([parse_code("r", path, data) for path, data in files.items()], {"r": tmp_path})
    calls = {(e.src.split("::")[1], e.dst.split("::")[-1]) for e in res.edges if e.kind is EdgeKind.CALLS}
    assert calls == {("Outer.Task.go", "Base.run")}


def test_overloads_of_one_arity_leave_the_choice_uncertain(tmp_path):
    java = (b"class A {\n  int sum(int[] a, int i) { return sum(a, i + 1); }\n"
            b"  int sum(java.util.List<Integer> l, int i) { return 0; }\n}\n")
    res = resolve_code([parse_code("r", "A.java", java)], {"r": tmp_path})
    (edge,) = [e for e in res.edges if e.kind is EdgeKind.CALLS]
    # Types would tell recursion from delegation; without them the other overload, at even odds.
    assert (edge.dst.split("::")[-1], edge.confidence) == ("A.sum@2", 0.5)


def test_arity_counts_defaults_and_params_arrays():
    pf = parse_code("r", "A.cs", b"class A { void V(params int[] r){} void Z(int a, params object[] b){} "
                                 b"void D(int a, int b = 2){} void N(){} }")
    assert {n.qualname: n.props["arity"] for n in pf.nodes if n.kind is NodeKind.FUNCTION} == {
        "A.V": [0, -1], "A.Z": [1, -1], "A.D": [1, 2], "A.N": [0, 0]}


def test_a_call_no_overload_takes_is_left_unresolved(tmp_path):
    cs = b"struct R {\n  static bool IsNull(R r) { return false; }\n  void Check() { if (this.IsNull()) { } }\n}\n"
    res = resolve_code([parse_code("r", "R.cs", cs)], {"r": tmp_path})
    (edge,) = [e for e in res.edges if e.kind is EdgeKind.CALLS]  # an extension method, not R.IsNull(r)
    assert not edge.resolved

