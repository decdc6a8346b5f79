"""A small, hand-built graph over real files: two roots (a vault and a code folder).

Built by hand (not by the ingest pipeline) so the web tests control every node and edge;
``test_ingested.py`` covers a graph the real pipeline built. The vault holds a note with
XSS payloads: the tests check none of them survives rendering.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from kg.model import (Edge, EdgeKind, Node, NodeKind, attachment_id, def_id, file_id, heading_id,
                      module_id, note_id, tag_id, unresolved_id)

E, N = EdgeKind, NodeKind

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")

XSS_NOTE = """# Payloads

<script>window.__xss = 1</script>

<img src=x onerror="window.__xss = 2">

[click me](javascript:window.__xss=3)

[[Home|<img src=x onerror=window.__xss=4>]]

[[<script>window.__xss=5</script>]]

<a href="javascript:window.__xss=6">raw link</a>

<svg onload="window.__xss=7"></svg>

`inline <b>code</b>` and a [data link](data:text/html,<script>alert(8)</script>)
"""

FILES = {
    "vault/Home.md": (
        "---\ntags: [moc]\n---\n# Home\n\nStart with [[Retry and Backoff]] and its "
        "[[Retry and Backoff#Jitter|jitter section]]. See also [[Missing Note]].\n\n"
        "![[Glossary]]\n\n![[diagram.png]]\n\nA [relative link](Glossary.md) and `[[not a link]]`.\n"),
    "vault/Retry and Backoff.md": (
        "# Retry and Backoff\n\nRetry failed calls with exponential backoff.\n\n## Jitter\n\n"
        "Add random jitter so clients do not retry in lockstep. The code is `retry` in "
        "[[resilience.py]].\n"),
    "vault/Glossary.md": "# Glossary\n\nIdempotency: doing a thing twice is the same as once.\n",
    "vault/Payloads.md": XSS_NOTE,
    "code/resilience.py": (
        'import time\n\n\ndef retry(fn, attempts=3):\n    """Call fn until it succeeds, backing off."""\n'
        "    for n in range(attempts):\n        try:\n            return fn()\n        except OSError:\n"
        "            time.sleep(Backoff().delay(n))\n\n\nclass Backoff:\n    def delay(self, n):\n"
        "        return 2 ** n\n"),
}


def write_files(base: Path) -> dict[str, Path]:
    """Write the two roots under ``base``; return root name → folder."""
    for rel, text in FILES.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (base / "vault" / "diagram.png").write_bytes(PNG)
    (base / "secret.txt").write_text("TOP SECRET outside every root", encoding="utf-8")
    return {"vault": base / "vault", "code": base / "code"}


def _note(path: str, text: str) -> Node:
    return Node(id=note_id("vault", path), kind=N.NOTE, name=path[:-3], root="vault", path=path, text=text)


def nodes() -> list[Node]:
    v = "vault"
    out = [_note(p.split("/", 1)[1], t) for p, t in FILES.items() if p.startswith("vault/")]
    out += [
        Node(id=heading_id(v, "Retry and Backoff.md", ["Retry and Backoff", "Jitter"]), kind=N.HEADING,
             name="Jitter", heading="Jitter", root=v, path="Retry and Backoff.md", start_line=5, end_line=7,
             text="Add random jitter so clients do not retry in lockstep."),
        Node(id=tag_id("moc"), kind=N.TAG, name="moc"),
        Node(id=attachment_id(v, "diagram.png"), kind=N.ATTACHMENT, name="diagram.png", root=v, path="diagram.png"),
        Node(id=unresolved_id(v, "Missing Note"), kind=N.UNRESOLVED, name="Missing Note", root=v),
        Node(id=file_id("code", "resilience.py"), kind=N.FILE, name="resilience.py", root="code",
             path="resilience.py", lang="python", text=FILES["code/resilience.py"]),
        Node(id=def_id("code", "resilience.py", "retry"), kind=N.FUNCTION, name="retry", qualname="retry",
             root="code", path="resilience.py", start_line=4, end_line=10, lang="python",
             signature="def retry(fn, attempts=3)", doc="Call fn until it succeeds, backing off.",
             text="retry: Call fn until it succeeds, backing off."),
        Node(id=def_id("code", "resilience.py", "Backoff"), kind=N.CLASS, name="Backoff", qualname="Backoff",
             root="code", path="resilience.py", start_line=13, end_line=15, lang="python", text="class Backoff"),
        Node(id=def_id("code", "resilience.py", "Backoff.delay"), kind=N.FUNCTION, name="delay",
             qualname="Backoff.delay", root="code", path="resilience.py", start_line=14, end_line=15,
             lang="python", text="delay: 2 ** n"),
        Node(id=module_id("time"), kind=N.EXTERNAL_MODULE, name="time"),
    ]
    return out


def edges() -> list[Edge]:
    home, retry_note = note_id("vault", "Home.md"), note_id("vault", "Retry and Backoff.md")
    jitter = heading_id("vault", "Retry and Backoff.md", ["Retry and Backoff", "Jitter"])
    f, fn = file_id("code", "resilience.py"), def_id("code", "resilience.py", "retry")
    cls, meth = def_id("code", "resilience.py", "Backoff"), def_id("code", "resilience.py", "Backoff.delay")
    return [
        Edge(home, E.LINKS_TO, retry_note, N.NOTE, N.NOTE, line=5),
        Edge(home, E.LINKS_TO, jitter, N.NOTE, N.HEADING, alias="jitter section", subpath="Jitter", line=5),
        Edge(home, E.LINKS_TO, unresolved_id("vault", "Missing Note"), N.NOTE, N.UNRESOLVED, resolved=False, line=6),
        Edge(home, E.EMBEDS, note_id("vault", "Glossary.md"), N.NOTE, N.NOTE, line=8),
        Edge(home, E.EMBEDS, attachment_id("vault", "diagram.png"), N.NOTE, N.ATTACHMENT, line=10),
        Edge(home, E.TAGGED, tag_id("moc"), N.NOTE, N.TAG),
        Edge(note_id("vault", "Payloads.md"), E.LINKS_TO, home, N.NOTE, N.NOTE, line=9),
        Edge(retry_note, E.CONTAINS, jitter, N.NOTE, N.HEADING),
        Edge(jitter, E.MENTIONS, fn, N.HEADING, N.FUNCTION, how="code span"),
        Edge(jitter, E.MENTIONS, f, N.HEADING, N.FILE, how="wikilink"),
        Edge(f, E.CONTAINS, fn, N.FILE, N.FUNCTION),
        Edge(f, E.CONTAINS, cls, N.FILE, N.CLASS),
        Edge(cls, E.CONTAINS, meth, N.CLASS, N.FUNCTION),
        Edge(fn, E.CALLS, meth, N.FUNCTION, N.FUNCTION, line=10),
        Edge(f, E.IMPORTS, module_id("time"), N.FILE, N.EXTERNAL_MODULE, line=1),
    ]


def write_graph(db: Path) -> None:
    """These nodes and edges in a real embedded store at ``db/graph``."""
    from kg.store.ladybug import LadybugStore

    store = LadybugStore.open(db / "graph")
    try:
        store.migrate()
        store.upsert_nodes(nodes())
        store.upsert_edges(edges())
    finally:
        store.close()


def static_model(db: Path, name: str) -> Any:
    """A tiny real static model (it loads as sentence-transformers) registered in ``db/models``."""
    from embed.registry import Registry
    from embed.scratch import build_static, train_tokenizer

    model = build_static(train_tokenizer(["retry backoff jitter graph note"] * 3, vocab_size=100), dim=8)
    return Registry(db / "models").add(model, name=name, kind="static", fingerprint="f00d", curve=[],
                                       metrics={"ndcg@10": 0.5, "queries": 40}, base="random weights")
