"""Search fixtures: a small real LadybugStore graph (a vault and a code root) under tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.model import Edge, EdgeKind, Node, NodeKind, def_id, file_id, heading_id, note_id, tag_id
from kg.store.ladybug import LadybugStore
from search.engine import Searcher
from search.index import SearchIndex
from tests.support.encoders import HashingEncoder, tiny_encoder

K = NodeKind
V, C = "vault", "app"


def _note(path: str, text: str, **props: object) -> Node:
    return Node(id=note_id(V, path), kind=K.NOTE, name=path[:-3].rsplit("/", 1)[-1], root=V,
                path=path, text=text, props=dict(props))


def _heading(path: str, heads: list[str], text: str) -> Node:
    return Node(id=heading_id(V, path, heads), kind=K.HEADING, name=heads[-1], root=V, path=path,
                text=text, heading=heads[-1])


def _def(path: str, qualname: str, kind: NodeKind, text: str, doc: str = "", signature: str = "") -> Node:
    return Node(id=def_id(C, path, qualname), kind=kind, name=qualname.rsplit(".", 1)[-1], root=C,
                path=path, text=text, qualname=qualname, doc=doc, signature=signature, lang="python",
                start_line=1, end_line=5)


def sample_nodes() -> list[Node]:
    """A vault note about backoff that links to a note about jitter, and code that calls it."""
    return [
        _note("Backoff strategies.md", "Backoff strategies\nWhen a request fails, retry with exponential "
              "backoff.\n## Exponential\nDouble the wait after each failure.\nSee [[Jitter]]."),
        _heading("Backoff strategies.md", ["Exponential"], "Double the wait after each failure. See [[Jitter]]."),
        _note("Jitter.md", "Jitter\nRandomise waiting times so that clients do not stampede together."),
        _note("Cooking.md", "Cooking\nA recipe for pancakes: flour, eggs, milk and a pinch of salt.",
              tags=["food"]),
        _heading("Cooking.md", ["Pancakes"], "Whisk flour, eggs and milk; fry in butter."),
        Node(id=file_id(C, "utils/resilience.py"), kind=K.FILE, name="resilience.py", root=C,
             path="utils/resilience.py", text="import time\n\ndef retry(fn, attempts=3): ...", lang="python"),
        _def("utils/resilience.py", "retry", K.FUNCTION,
             "def retry(fn, attempts=3):\n    for i in range(attempts):\n        try: return fn()\n"
             "        except IOError: sleep_with_jitter(i)", doc="Call fn again when it fails.",
             signature="(fn, attempts=3)"),
        _def("utils/resilience.py", "sleep_with_jitter", K.FUNCTION,
             "def sleep_with_jitter(i):\n    time.sleep(random.uniform(0, 2 ** i))",
             signature="(i)"),
        _def("utils/users.py", "UserStore", K.CLASS, "class UserStore:\n    def getUserName(self, uid): ..."),
        _def("utils/users.py", "UserStore.getUserName", K.FUNCTION,
             "def getUserName(self, uid):\n    return self.db[uid].name", signature="(self, uid)"),
        Node(id=file_id(C, "utils/users.py"), kind=K.FILE, name="users.py", root=C, path="utils/users.py",
             text="class UserStore: ...", lang="python"),
        Node(id=tag_id("food"), kind=K.TAG, name="food"),
    ]


def _edge(src: Node | str, kind: EdgeKind, dst: Node | str, sk: NodeKind, dk: NodeKind) -> Edge:
    return Edge(src=getattr(src, "id", src), kind=kind, dst=getattr(dst, "id", dst), src_kind=sk, dst_kind=dk)


def sample_edges() -> list[Edge]:
    backoff, jitter = note_id(V, "Backoff strategies.md"), note_id(V, "Jitter.md")
    expo = heading_id(V, "Backoff strategies.md", ["Exponential"])
    cooking, pancakes = note_id(V, "Cooking.md"), heading_id(V, "Cooking.md", ["Pancakes"])
    res, retry = file_id(C, "utils/resilience.py"), def_id(C, "utils/resilience.py", "retry")
    sleep = def_id(C, "utils/resilience.py", "sleep_with_jitter")
    users, store, getname = (file_id(C, "utils/users.py"), def_id(C, "utils/users.py", "UserStore"),
                             def_id(C, "utils/users.py", "UserStore.getUserName"))
    return [
        _edge(backoff, EdgeKind.CONTAINS, expo, K.NOTE, K.HEADING),
        _edge(expo, EdgeKind.LINKS_TO, jitter, K.HEADING, K.NOTE),
        _edge(cooking, EdgeKind.CONTAINS, pancakes, K.NOTE, K.HEADING),
        _edge(cooking, EdgeKind.TAGGED, tag_id("food"), K.NOTE, K.TAG),
        _edge(res, EdgeKind.CONTAINS, retry, K.FILE, K.FUNCTION),
        _edge(res, EdgeKind.CONTAINS, sleep, K.FILE, K.FUNCTION),
        _edge(retry, EdgeKind.CALLS, sleep, K.FUNCTION, K.FUNCTION),
        _edge(users, EdgeKind.CONTAINS, store, K.FILE, K.CLASS),
        _edge(store, EdgeKind.CONTAINS, getname, K.CLASS, K.FUNCTION),
        _edge(backoff, EdgeKind.MENTIONS, retry, K.NOTE, K.FUNCTION),
    ]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LadybugStore]:
    s = LadybugStore.open(tmp_path / "graph")
    s.migrate()
    s.upsert_nodes(sample_nodes())
    s.upsert_edges(sample_edges())
    yield s
    s.close()


@pytest.fixture
def encoder() -> HashingEncoder:
    return tiny_encoder()


@pytest.fixture
def index(tmp_path: Path, store: LadybugStore, encoder: HashingEncoder) -> Iterator[SearchIndex]:
    idx = SearchIndex.open(tmp_path / "search")
    idx.sync(store, encoder)
    yield idx
    idx.close()


@pytest.fixture
def searcher(store: LadybugStore, index: SearchIndex, encoder: HashingEncoder) -> Searcher:
    return Searcher(store, index, encoder)
