"""Note → code mentions: exactly one definition or file, or nothing (and a count)."""

from __future__ import annotations

from pathlib import Path

from ingest.code import parse_code
from ingest.mentions import resolve_mentions
from ingest.types import ParsedFile, Ref
from kg.model import EdgeKind, NodeKind

CODE = Path(__file__).parent.parent / "fixtures" / "code"


def code_files() -> list[ParsedFile]:
    root = CODE / "python"
    return [parse_code("py", p.relative_to(root).as_posix(), p.read_bytes()) for p in sorted(root.rglob("*.py"))]


def note(*targets: str, src_kind: NodeKind = NodeKind.NOTE) -> ParsedFile:
    src = "note:vault/Design.md" if src_kind is NodeKind.NOTE else "heading:vault/Design.md#Models"
    refs = [Ref(src, src_kind, EdgeKind.MENTIONS, t, i + 1, {"code": True}) for i, t in enumerate(targets)]
    return ParsedFile(root="vault", path="Design.md", kind="note", refs=refs)


def resolved(*targets: str, src_kind: NodeKind = NodeKind.NOTE) -> dict[str, tuple[str, str]]:
    res = resolve_mentions([*code_files(), note(*targets, src_kind=src_kind)])
    return {e.props["text"]: (e.dst, e.how) for e in res.edges}


def test_qualified_name_simple_name_and_path():
    assert resolved("Order.submit", "retry()", "src/shop/utils.py", "shop.models.Order.Line.cost") == {
        "Order.submit": ("def:py/src/shop/models.py::Order.submit", "qualname"),
        "retry()": ("def:py/src/shop/utils.py::retry", "name"),
        "src/shop/utils.py": ("file:py/src/shop/utils.py", "path"),
        "shop.models.Order.Line.cost": ("def:py/src/shop/models.py::Order.Line.cost", "qualname"),
    }


def test_unique_path_tail():
    assert resolved("shop/app.py") == {"shop/app.py": ("file:py/src/shop/app.py", "path")}


def test_ambiguous_common_and_short_names_are_left_out():
    extra = parse_code("other", "lib/retry.py", b"def retry():\n    pass\n")
    refs = note("retry", "main", "Base", "save", "x", "for i in range(3)", "NoSuchThing")
    res = resolve_mentions([*code_files(), extra, refs])
    assert [e.props["text"] for e in res.edges] == ["Base"]  # one def named Base, 4 letters
    assert res.stats["ambiguous"] == 1  # retry: in two roots
    assert res.stats["too_common"] == 3  # main, save, x
    assert res.stats["mentions"] == 7 and res.stats["mentions_resolved"] == 1


def test_heading_source_and_merge():
    res = resolve_mentions([*code_files(), note("Order", "Order()", src_kind=NodeKind.HEADING)])
    (edge,) = res.edges
    assert (edge.src_kind, edge.dst_kind, edge.how) == (NodeKind.HEADING, NodeKind.CLASS, "name")
    assert edge.props["count"] == 2
