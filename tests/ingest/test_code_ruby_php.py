"""Ruby and PHP: definitions, docs and refs from their queries, and the edges resolution makes
over the fixture projects tests/fixtures/code/ruby and tests/fixtures/code/php."""

from __future__ import annotations

from ingest.code import parse_code
from ingest.code_resolve import resolve_code
from ingest.types import ParsedFile
from kg.model import EdgeKind, NodeKind
from tests.support.code_graph import edges, parse, resolve, short


def parse_text(path: str, text: str) -> ParsedFile:
    return parse_code("r", path, text.encode())


def defs(pf: ParsedFile) -> dict[str, str]:
    return {n.qualname: n.props["type"] for n in pf.nodes if n.kind in (NodeKind.CLASS, NodeKind.FUNCTION)}


def node(pf: ParsedFile, qualname: str):
    return next(n for n in pf.nodes if n.qualname == qualname)


def refs(pf: ParsedFile, kind: EdgeKind) -> set[tuple[str, str]]:
    local = lambda i: i.split("::", 1)[1] if "::" in i else "FILE"  # noqa: E731
    return {(local(r.src), r.target) for r in pf.refs if r.kind is kind}


# -- Ruby ---------------------------------------------------------------------------------

def test_ruby_definitions_nesting_and_docs():
    pf = parse("ruby", "lib/shop/order.rb")
    assert pf.lang == "ruby" and not pf.warnings
    assert defs(pf) == {
        "Shop": "trait", "Shop.Order": "class", "Shop.Order.Line": "class",
        "Shop.Order.Line.initialize": "method", "Shop.Order.Line.cost": "method",
        "Shop.Order.initialize": "method", "Shop.Order.add": "method", "Shop.Order.total": "method",
        "Shop.Order.submit": "method"}
    contains = {(short(e.src), short(e.dst)) for e in pf.edges if e.kind is EdgeKind.CONTAINS}
    assert ("lib/shop/order.rb", "lib/shop/order.rb::Shop") in contains
    assert ("lib/shop/order.rb::Shop.Order", "lib/shop/order.rb::Shop.Order.Line") in contains
    assert ("lib/shop/order.rb::Shop.Order.Line", "lib/shop/order.rb::Shop.Order.Line.cost") in contains
    assert node(pf, "Shop.Order").doc == "An order of line items."
    assert node(pf, "Shop.Order.Line").doc == "One line of an order."
    assert node(pf, "Shop.Order.add").doc == "Add a line and return its cost."
    assert node(pf, "Shop.Order.add").signature == "def add(price, qty = 1)"
    util = parse("ruby", "lib/shop/util.rb")
    assert defs(util) == {"format_price": "function", "Shop": "trait", "Shop.Util": "trait", "Shop.Util.log": "method"}
    assert node(util, "Shop.Util.log").doc == "Log a message with a prefix."  # `def self.log`


def test_ruby_refs():
    pf = parse("ruby", "lib/shop/order.rb")
    assert refs(pf, EdgeKind.CALLS) == {
        ("Shop.Order.add", "Line"),  # Line.new is a call of the class
        ("Shop.Order.add", "line.cost"), ("Shop.Order.total", "@lines.sum"), ("Shop.Order.total", "l.cost"),
        ("Shop.Order.submit", "self.save"), ("Shop.Order.submit", "Shop::Util.log"),
        ("Shop.Order.submit", "format_price"), ("Shop.Order.submit", "JSON.generate")}
    assert refs(pf, EdgeKind.INHERITS) == {("Shop.Order", "Base")}
    imports = {r.target: r.props for r in pf.refs if r.kind is EdgeKind.IMPORTS}
    assert set(imports) == {"base", "util", "json"}
    assert imports["base"].get("relative") and not imports["json"].get("relative")
    typed = {r.target: r.props.get("type") for r in pf.refs if r.kind is EdgeKind.CALLS}
    assert typed["line.cost"] == "Line" and typed["l.cost"] is None
    base = parse("ruby", "lib/shop/base.rb")
    assert refs(base, EdgeKind.INHERITS) == {("Shop.Base", "Persisted")}  # include Persisted
    assert ("Shop.Base.validate", "valid?") in refs(base, EdgeKind.CALLS)  # `valid?()`: parentheses make it a call


def test_ruby_what_is_not_a_call():
    pf = parse_text("a.rb", "class A\n  attr_reader :x\n  include M\n  private\n  def f\n    save\n    x\n"
                            "    loop { go(1) }\n    self.class.build\n    klass.new\n  end\nend\n")
    # A bare `save` may be a local variable; `attr_reader`, `include` and `private` declare.
    assert refs(pf, EdgeKind.CALLS) == {("A.f", "loop"), ("A.f", "go"), ("A.f", "self.class.build"),
                                        ("A.f", "self.class"), ("A.f", "klass.new")}


def test_ruby_scoped_class_names_and_singleton_blocks():
    pf = parse_text("a.rb", "class A::B < C::D\n  class << self\n    def make; end\n  end\n"
                            "  def self.build; end\nend\n")
    assert defs(pf) == {"A.B": "class", "A.B.make": "method", "A.B.build": "method"}
    assert refs(pf, EdgeKind.INHERITS) == {("A.B", "C::D")}


def test_ruby_resolution():
    res = resolve("ruby")
    imports = edges(res, EdgeKind.IMPORTS)
    assert imports[("lib/shop.rb", "lib/shop/order.rb")] == (True, "import")  # require_relative "shop/order"
    assert imports[("lib/shop/order.rb", "lib/shop/base.rb")] == (True, "import")
    assert imports[("lib/shop/order.rb", "module:json")] == (True, "external")  # require "json"
    calls = edges(res, EdgeKind.CALLS)
    assert calls[("lib/shop.rb::main", "lib/shop/order.rb::Shop.Order")] == (True, "import")  # Shop::Order.new
    assert calls[("lib/shop.rb::main", "lib/shop/order.rb::Shop.Order.add")] == (True, "type")  # order = ...new
    assert calls[("lib/shop.rb::main", "lib/shop/order.rb::Shop.Order.submit")] == (True, "type")
    assert calls[("lib/shop.rb", "lib/shop.rb::main")] == (True, "local")
    assert calls[("lib/shop/base.rb::Shop.Base.save", "lib/shop/base.rb::Shop.Base.validate")] == (True, "self")
    assert calls[("lib/shop/order.rb::Shop.Order.submit", "lib/shop/util.rb::format_price")] == (True, "import")
    name_only = next(e for e in res.edges if e.src.endswith("Shop.Order.total") and e.dst.endswith("l.cost"))
    assert (name_only.resolved, name_only.how, name_only.dst_kind) == (False, "name-only", NodeKind.UNRESOLVED)


def test_ruby_typed_locals():
    pf = parse_text("a.rb", "class A\n  def f\n    @c ||= Foo::Bar.new(1)\n    @c.go\n    x = Baz.new\n    x.run\n"
                            "    y = x\n    y.stop\n  end\nend\n")
    typed = {r.target: r.props.get("type") for r in pf.refs if r.kind is EdgeKind.CALLS}
    assert typed == {"Foo::Bar": None, "@c.go": "Foo::Bar", "Baz": None, "x.run": "Baz", "y.stop": None}


def test_ruby_instance_variable_is_typed_for_the_whole_class(tmp_path):
    (tmp_path / "a.rb").write_text("class Log\n  def info(m); end\nend\n\nclass A\n  def initialize\n"
                                   "    @log = Log.new\n  end\n\n  def f\n    @log.info(1)\n  end\nend\n")
    res = resolve_code([parse_code("r", "a.rb", (tmp_path / "a.rb").read_bytes())], {"r": tmp_path})
    assert edges(res, EdgeKind.CALLS)[("a.rb::A.f", "a.rb::Log.info")] == (True, "type")


def test_ruby_constants_resolve_through_enclosing_modules():
    res = resolve("ruby")
    assert edges(res, EdgeKind.INHERITS)[("lib/shop/order.rb::Shop.Order", "lib/shop/base.rb::Shop.Base")][0]
    calls = edges(res, EdgeKind.CALLS)
    assert calls[("lib/shop/order.rb::Shop.Order.add", "lib/shop/order.rb::Shop.Order.Line")][0]  # Line.new
    assert calls[("lib/shop/order.rb::Shop.Order.add", "lib/shop/order.rb::Shop.Order.Line.cost")] == (True, "type")
    assert calls[("lib/shop/order.rb::Shop.Order.submit", "lib/shop/base.rb::Shop.Base.save")] == (True, "self")
    assert calls[("lib/shop/base.rb::Shop.Base.save", "lib/shop/util.rb::Shop.Util.log")][0]  # Util.log


def test_ruby_qualified_constant_path():
    calls = edges(resolve("ruby"), EdgeKind.CALLS)
    assert calls[("lib/shop/order.rb::Shop.Order.submit", "lib/shop/util.rb::Shop.Util.log")][0]


def test_ruby_bare_call_is_a_self_call():
    calls = edges(resolve("ruby"), EdgeKind.CALLS)
    assert calls[("lib/shop/base.rb::Shop.Base.validate", "lib/shop/base.rb::Shop.Base.valid?")] == (True, "self")


# -- PHP ----------------------------------------------------------------------------------

def test_php_definitions_kinds_and_docs():
    pf = parse("php", "src/Models/User.php")
    assert pf.lang == "php" and not pf.warnings
    file_node = next(n for n in pf.nodes if n.kind is NodeKind.FILE)
    assert file_node.props["packages"] == ["App\\Models"]
    assert defs(pf) == {"User": "class", "User.__construct": "method", "User.table": "method",
                        "User.save": "method", "User.toJson": "method"}
    assert node(pf, "User").doc == "A user of the application."
    assert node(pf, "User.save").doc == "Save the user and log it."
    assert node(pf, "User").signature == "final class User extends Model implements Jsonable"
    model = parse("php", "src/Models/Model.php")
    assert defs(model) == {"Model": "class", "Model.save": "method", "Model.validate": "method",
                           "Model.table": "method"}  # the abstract method, without a body
    assert defs(parse("php", "src/Contracts/Jsonable.php")) == {"Jsonable": "interface", "Jsonable.toJson": "method"}
    assert defs(parse("php", "src/Models/HasTimestamps.php")) == {"HasTimestamps": "trait",
                                                                  "HasTimestamps.touch": "method"}
    logger = parse("php", "src/Support/Logger.php")
    assert defs(logger)["format_line"] == "function"
    assert node(logger, "format_line").doc == "Prefix a log line."  # a `//` comment


def test_php_refs():
    pf = parse("php", "src/Models/User.php")
    assert refs(pf, EdgeKind.INHERITS) == {("User", "Model"), ("User", "Jsonable"), ("User", "HasTimestamps")}
    assert refs(pf, EdgeKind.CALLS) == {
        ("User.save", "$this.touch"), ("User.save", "$this.logger.info"), ("User.save", "format_line"),
        ("User.save", "parent::save"), ("User.toJson", "json_encode"), ("User.toJson", "Time::now")}
    imports = {r.target: r.props for r in pf.refs if r.kind is EdgeKind.IMPORTS}
    assert set(imports) == {"App\\Contracts\\Jsonable", "App\\Support", "App\\Support\\format_line"}
    assert imports["App\\Support"]["names"] == ["Logger", "Clock"]  # use App\Support\{Logger, Clock as Time}
    assert imports["App\\Support"]["alias"] == {"Clock": "Time"}
    controller = parse("php", "src/Http/UserController.php")
    aliased = next(r for r in controller.refs if r.kind is EdgeKind.IMPORTS and r.target == "App\\Support\\Logger")
    assert aliased.props["alias"] == {"App\\Support\\Logger": "Log"}
    typed = {r.target: r.props.get("type") for r in controller.refs if r.kind is EdgeKind.CALLS}
    assert typed["$user.save"] == "User" and typed["$log.info"] == "Log" and typed["$thing.touch"] is None
    assert ("UserController.store", "Log") in refs(controller, EdgeKind.CALLS)  # new Log()


def test_php_new_self_and_nullsafe_calls():
    pf = parse_text("a.php", "<?php\nclass A {\n  static function make() { return new static(); }\n"
                             "  function f(?B $b) { $b?->go(); $b->run(); return new \\X\\Y(); }\n}\n")
    assert refs(pf, EdgeKind.CALLS) == {("A.f", "$b.go"), ("A.f", "$b.run"), ("A.f", "\\X\\Y")}
    assert next(r for r in pf.refs if r.target == "$b.run").props.get("type") == "B"  # ?B


def test_php_resolution():
    res = resolve("php")
    imports = edges(res, EdgeKind.IMPORTS)
    assert imports[("src/Http/UserController.php", "src/Models/User.php::User")] == (True, "import")
    assert imports[("src/Http/UserController.php", "src/Support/Logger.php::Logger")] == (True, "import")  # as Log
    assert imports[("src/Models/User.php", "src/Support/Logger.php::format_line")] == (True, "import")  # use function
    assert edges(res, EdgeKind.INHERITS) == {
        ("src/Models/User.php::User", "src/Models/Model.php::Model"): (True, "package"),  # same namespace
        ("src/Models/User.php::User", "src/Contracts/Jsonable.php::Jsonable"): (True, "import"),
        ("src/Models/User.php::User", "src/Models/HasTimestamps.php::HasTimestamps"): (True, "package")}  # use Trait
    calls = edges(res, EdgeKind.CALLS)
    store = "src/Http/UserController.php::UserController.store"
    assert calls[(store, "src/Models/User.php::User.save")] == (True, "type")  # User $user
    assert calls[(store, "src/Support/Logger.php::Logger")] == (True, "import")  # new Log()
    assert calls[(store, "src/Support/Logger.php::Logger.info")] == (True, "type")  # $log = new Log()
    assert calls[(store, "src/Support/Logger.php::Logger.log")] == (True, "import")  # Log::log
    assert calls[(store, "src/Http/UserController.php::UserController.render")] == (True, "self")
    assert calls[("src/Models/Model.php::Model.save", "src/Models/Model.php::Model.validate")] == (True, "self")
    assert calls[("src/Support/Logger.php::Logger.info", "src/Support/Logger.php::Logger.log")] == (True, "self")
    assert calls[("src/Models/User.php::User.save", "src/Models/HasTimestamps.php::HasTimestamps.touch")] == \
        (True, "self")  # a method of a trait the class uses
    assert calls[("src/Models/User.php::User.save", "src/Support/Logger.php::format_line")] == (True, "import")
    name_only = next(e for e in res.edges if e.src.endswith("UserController.render") and e.dst.endswith("touch"))
    assert (name_only.resolved, name_only.how, name_only.dst_kind) == (False, "name-only", NodeKind.UNRESOLVED)


def test_php_parent_call():
    calls = edges(resolve("php"), EdgeKind.CALLS)
    assert calls[("src/Models/User.php::User.save", "src/Models/Model.php::Model.save")] == (True, "self")


def test_php_promoted_property_types_this_member():
    calls = edges(resolve("php"), EdgeKind.CALLS)
    assert calls[("src/Models/User.php::User.save", "src/Support/Logger.php::Logger.info")] == (True, "type")


def test_php_group_use_binds_classes():
    res = resolve("php")
    assert ("src/Models/User.php", "src/Support/Clock.php::Clock") in edges(res, EdgeKind.IMPORTS)
    calls = edges(res, EdgeKind.CALLS)
    assert calls[("src/Models/User.php::User.toJson", "src/Support/Clock.php::Clock.now")] == (True, "import")


def test_a_top_level_constant_is_not_the_class_around_it(tmp_path):
    rb = b"module Rack\n  class Logger\n    def call(env)\n      ::Logger.new(env)\n    end\n  end\nend\n"
    res = resolve_code([parse_code("r", "lib/rack/logger.rb", rb)], {"r": tmp_path})
    (call,) = [e for e in res.edges if e.kind is EdgeKind.CALLS]
    assert not call.resolved  # Ruby's own ::Logger, not Rack::Logger


def test_bytes_that_are_no_name_make_no_call() -> None:
    """Found by the property test: tree-sitter recovers a call with an empty name from these."""
    pf = parse_code("r", "pkg/mod.rb", "\x85)0".encode())
    assert all(ref.target for ref in pf.refs)
