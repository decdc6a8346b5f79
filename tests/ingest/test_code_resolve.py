"""Cross-file resolution over the per-language fixture projects: IMPORTS, INHERITS, CALLS."""

from __future__ import annotations


import pytest

from ingest.code import parse_code
from ingest.code_resolve import CodeResolution, resolve_code
from kg.model import EdgeKind, NodeKind, check_pair
from tests.support.code_graph import CODE, edges, resolve, short









@pytest.fixture(scope="module", params=sorted(p.name for p in CODE.iterdir() if p.is_dir()))
def any_lang(request) -> CodeResolution:
    return resolve(request.param)


def test_edges_are_allowed_unique_and_point_at_known_nodes(any_lang):
    keys = [e.key for e in any_lang.edges]
    assert len(keys) == len(set(keys))
    made = {n.id: n.kind for n in any_lang.nodes}
    for e in any_lang.edges:
        assert check_pair(e.kind, e.src_kind, e.dst_kind), e
        if e.dst_kind in (NodeKind.UNRESOLVED, NodeKind.EXTERNAL_MODULE):
            assert made[e.dst] is e.dst_kind


def test_python():
    res = resolve("python")
    imports = edges(res, EdgeKind.IMPORTS)
    assert imports[("src/shop/models.py", "src/shop/utils.py")] == (True, "import")  # from . import utils
    assert ("src/shop/models.py", "src/shop/utils.py::retry") in imports  # from .utils import retry
    assert ("src/shop/__init__.py", "src/shop/models.py::Order") in imports
    assert ("src/shop/app.py", "src/shop/models.py") in imports  # import shop.models (src/ layout)
    assert imports[("src/shop/app.py", "module:json")] == (True, "external")
    calls = edges(res, EdgeKind.CALLS)
    assert calls[("src/shop/models.py::Base.save", "src/shop/models.py::Base.validate")] == (True, "self")
    assert calls[("src/shop/models.py::Order.submit", "src/shop/utils.py::retry")] == (True, "import")
    assert calls[("src/shop/models.py::Order.Line.cost", "src/shop/models.py::Order.Line.cost.double")] == \
        (True, "local")
    assert calls[("src/shop/app.py::main", "src/shop/models.py::Order")] == (True, "import")  # constructor
    assert calls[("src/shop/app.py::main", "src/shop/models.py::Base")] == (True, "import")  # shop.models.Base
    assert calls[("src/shop/app.py::main", "src/shop/utils.py::retry")] == (True, "import")
    assert calls[("src/shop/app.py", "src/shop/app.py::main")] == (True, "local")  # top-level call
    assert calls[("src/shop/models.py::Order.submit", "unresolved:python/call:self.missing")] == (False, "")
    assert calls[("src/shop/app.py::main", "unresolved:python/call:json.dumps")] == (False, "external")
    assert edges(res, EdgeKind.INHERITS) == {("src/shop/models.py::Order", "src/shop/models.py::Base"): (True, "local")}
    retry = next(e for e in res.edges if e.src.endswith("Order.submit") and e.dst.endswith("utils.py::retry"))
    assert retry.props == {"count": 2}  # utils.retry(...) and again(...) merge into one edge
    assert res.stats["python.calls"] == 18 and res.stats["python.calls_resolved"] == 10
    assert res.stats["python.imports_external"] == 3


def test_javascript():
    res = resolve("javascript")
    imports = edges(res, EdgeKind.IMPORTS)
    assert ("lib/shapes.jsx", "lib/util.js::Logger") in imports  # default import
    assert ("lib/shapes.jsx", "lib/util.js::retry") in imports
    assert ("index.js", "lib/shapes.jsx") in imports and ("index.js", "lib/util.js::retry") in imports  # require
    assert imports[("index.js", "module:path")] == (True, "external")
    calls = edges(res, EdgeKind.CALLS)
    assert calls[("lib/shapes.jsx::Circle.area", "lib/util.js::retry")] == (True, "import")  # aliased `again`
    assert calls[("lib/shapes.jsx::Circle.render", "lib/shapes.jsx::Shape.describe")] == (True, "self")  # base
    assert calls[("lib/shapes.jsx::make", "lib/util.js::Logger")] == (True, "import")
    assert calls[("index.js::main", "lib/shapes.jsx::make")] == (True, "import")  # shapes.make()
    assert calls[("lib/util.js::retry", "lib/util.js::log")] == (True, "local")
    assert edges(res, EdgeKind.INHERITS) == {("lib/shapes.jsx::Circle", "lib/shapes.jsx::Shape"): (True, "local")}


def test_typescript_paths_and_extensions():
    res = resolve("typescript")
    imports = edges(res, EdgeKind.IMPORTS)
    assert ("src/service.ts", "src/models/user.ts::User") in imports  # tsconfig paths "@models/*"
    assert ("src/service.ts", "src/models/user.ts") in imports  # './models/user.js' → user.ts
    assert ("src/view.tsx", "src/service.ts::boot") in imports
    assert imports[("src/service.ts", "module:express")] == (True, "external")
    calls = edges(res, EdgeKind.CALLS)
    assert calls[("src/service.ts::UserService.create", "src/service.ts::UserService.add")] == (True, "self")
    assert calls[("src/models/user.ts::Model.save", "src/models/user.ts::Model.validate")] == (True, "self")
    assert calls[("src/service.ts::boot", "src/models/user.ts::User")] == (True, "import")
    assert calls[("src/view.tsx::App", "src/service.ts::boot")] == (True, "import")
    assert set(edges(res, EdgeKind.INHERITS)) == {
        ("src/models/user.ts::User", "src/models/user.ts::Model"), ("src/models/user.ts::User", "src/models/user.ts::Named"),
        ("src/models/user.ts::Model", "src/models/user.ts::Entity"), ("src/models/user.ts::Named", "src/models/user.ts::Entity")}


def test_go_packages_receivers_and_embedding():
    res = resolve("go")
    imports = edges(res, EdgeKind.IMPORTS)
    assert {k for k in imports if k[0] == "main.go"} == {("main.go", "store/store.go"), ("main.go", "store/log.go"),
                                                        ("main.go", "module:fmt")}
    calls = edges(res, EdgeKind.CALLS)
    assert calls[("store/store.go::Store.Save", "store/log.go::Store.log")] == (True, "self")  # other file
    assert calls[("store/log.go::Store.log", "store/store.go::Base.Name")] == (True, "self")  # embedded Base
    assert calls[("store/log.go::Store.log", "store/log.go::helper")] == (True, "local")
    assert calls[("main.go::main", "main.go::run")] == (True, "local")
    assert calls[("main.go::main", "unresolved:go/call:st.new")] == (False, "")  # no such function
    assert edges(res, EdgeKind.INHERITS) == {("store/store.go::Store", "store/store.go::Base"): (True, "local")}


def test_go_same_package_function_in_another_file(tmp_path):
    (tmp_path / "a.go").write_text("package p\nfunc A() { B() }\n")
    (tmp_path / "b.go").write_text("package p\nfunc B() {}\n")
    parsed = [parse_code("g", n, (tmp_path / n).read_bytes()) for n in ("a.go", "b.go")]
    res = resolve_code(parsed, {"g": tmp_path})
    assert edges(res, EdgeKind.CALLS) == {("a.go::A", "b.go::B"): (True, "package")}


def test_rust_modules_uses_and_impls():
    res = resolve("rust")
    imports = edges(res, EdgeKind.IMPORTS)
    assert ("src/lib.rs", "src/models/mod.rs") in imports and ("src/lib.rs", "src/util.rs") in imports  # mod x;
    assert ("src/lib.rs", "src/models/order.rs::Order") in imports  # use crate::models::order::Order
    assert ("src/models/order.rs", "src/models/mod.rs::Priced") in imports  # use super::Priced
    calls = edges(res, EdgeKind.CALLS)
    assert calls[("src/lib.rs::run", "src/models/order.rs::Order.new")] == (True, "import")  # Order::new
    assert calls[("src/lib.rs::run", "src/util.rs::log")] == (True, "import")  # util::log
    assert calls[("src/models/order.rs::Order.total", "src/models/order.rs::Order.helper")] == (True, "self")
    assert calls[("src/models/order.rs::Order.total", "src/models/order.rs::Order.double")] == (True, "self")
    assert edges(res, EdgeKind.INHERITS) == {
        ("src/models/order.rs::Order", "src/models/mod.rs::Priced"): (True, "import")}


def test_a_call_resolves_on_type_evidence_and_a_name_alone_stays_unresolved():
    res = resolve("python")
    calls = {(short(e.src), short(e.dst)): e for e in res.edges if e.kind is EdgeKind.CALLS}
    assert calls[("src/shop/app.py::main", "src/shop/models.py::Order.submit")].how == "type"  # order = Order()
    assert calls[("src/shop/app.py::main", "src/shop/models.py::Base.save")].how == "type"  # models.Base().save()
    guess = calls[("src/shop/shipping.py::ship", "unresolved:python/call:parcel.validate")]
    assert (guess.resolved, guess.how, guess.confidence) == (False, "name-only", 0.5)
    assert guess.props["candidates"] == ["def:python/src/shop/models.py::Base.validate"]


def test_type_evidence_from_annotations_and_attributes(tmp_path):
    source = (b"class Client:\n    def send(self): pass\n\nclass Other:\n    def send(self): pass\n\n"
              b"class Api:\n    def __init__(self):\n        self.client = Client()\n"
              b"    def go(self, other: 'Other | None', n: int):\n        self.client.send()\n        other.send()\n"
              b"        n.send()\n")
    res = resolve_code([parse_code("p", "api.py", source)], {"p": tmp_path})
    calls = {(short(e.src), short(e.dst)): e.how for e in res.edges if e.kind is EdgeKind.CALLS}
    assert calls[("api.py::Api.go", "api.py::Client.send")] == "type"  # self.client = Client()
    assert calls[("api.py::Api.go", "api.py::Other.send")] == "type"  # other: 'Other | None'
    assert calls[("api.py::Api.go", "unresolved:p/call:n.send")] == "name-only"  # int has no send


def test_unresolved_relative_import_is_counted_not_edged(tmp_path):
    parsed = [parse_code("p", "pkg/a.py", b"from .missing import x\nimport os.path\n")]
    res = resolve_code(parsed, {"p": tmp_path})
    assert res.stats["python.imports_unresolved"] == 1
    assert [e.dst for e in res.edges] == ["module:os"]


def test_a_variable_with_a_known_type_is_never_taken_for_a_module_of_its_name(tmp_path):
    files = {"shop/__init__.py": b"", "shop/order.py": b"def save():\n    pass\n",
             "shop/models.py": b"import ext\nclass Order(ext.Base):\n    pass\n",
             "shop/app.py": b"from shop import order\nfrom shop.models import Order\n\n"
                            b"def f():\n    order = Order()\n    order.save()\n"}
    res = resolve_code([parse_code("r", path, data) for path, data in files.items()], {"r": tmp_path})
    assert edges(res, EdgeKind.CALLS)[("shop/app.py::f", "unresolved:r/call:order.save")] == (False, "")
