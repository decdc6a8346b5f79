"""A small hand-built graph with topical structure, for mining and training tests.

Each topic has its own vocabulary; notes link to notes of the same topic, functions call
functions of the same topic, and notes mention their topic's code. A model that learns
from the positives should therefore tell topics apart on held-out nodes.
"""

from __future__ import annotations

import random

from kg.model import Edge, EdgeKind, Node, NodeKind, def_id, file_id, heading_id, note_id

TOPICS = {
    "retry": "retry backoff jitter attempt exponential delay transient failure".split(),
    "cache": "cache eviction lru expiry stale hit miss memoize".split(),
    "parser": "parser token grammar lexer syntax ast node precedence".split(),
    "graph": "graph vertex traversal breadth depth shortest path cycle".split(),
    "auth": "auth token login password session credential oauth permission".split(),
    "queue": "queue producer consumer broker message ack offset partition".split(),
    "render": "render template html layout widget style theme view".split(),
    "storage": "storage disk write flush fsync journal block sector".split(),
}
COMMON = "the system handles this part when needed and also uses it".split()


def _sentence(rng: random.Random, words: list[str], n: int = 10) -> str:
    picked = [rng.choice(words) if rng.random() < 0.6 else rng.choice(COMMON) for _ in range(n)]
    return " ".join(picked).capitalize() + "."


def build_graph(notes_per_topic: int = 6, seed: int = 0) -> tuple[list[Node], list[Edge]]:
    """Nodes and edges of the toy graph (deterministic for a seed)."""
    rng = random.Random(seed)
    nodes: list[Node] = []
    edges: list[Edge] = []
    for topic, words in TOPICS.items():
        note_ids = []
        for i in range(notes_per_topic):
            _add_note(rng, topic, words, i, notes_per_topic, nodes, edges)
            note_ids.append(note_id("vault", f"{topic}/{topic} {i}.md"))
        funcs = _add_code(rng, topic, words, nodes, edges)
        for i, nid in enumerate(note_ids[:3]):
            edges.append(Edge(nid, EdgeKind.MENTIONS, funcs[i % len(funcs)], NodeKind.NOTE, NodeKind.FUNCTION))
    return nodes, edges


def _add_note(rng: random.Random, topic: str, words: list[str], i: int, count: int,
              nodes: list[Node], edges: list[Edge]) -> None:
    path = f"{topic}/{topic} {i}.md"
    nid = note_id("vault", path)
    target = f"{topic} {(i + 1) % count}"
    lines = [f"# {topic} {i}", _sentence(rng, words),
             f"See [[{target}]] for the {rng.choice(words)} {rng.choice(words)} details.",
             _sentence(rng, words)]
    nodes.append(Node(nid, NodeKind.NOTE, f"{topic} {i}", root="vault", path=path, text="\n".join(lines),
                      start_line=1, props={"aliases": [f"{words[i % len(words)]} {topic} note {i}"]}))
    edges.append(Edge(nid, EdgeKind.LINKS_TO, note_id("vault", f"{topic}/{target}.md"),
                      NodeKind.NOTE, NodeKind.NOTE, line=3))
    for h in range(2):
        heading = f"{words[(i + h) % len(words)].title()} {h}"
        hid = heading_id("vault", path, [heading])
        text = f"## {heading}\n{_sentence(rng, words, 14)} {_sentence(rng, words, 14)}"
        nodes.append(Node(hid, NodeKind.HEADING, heading, root="vault", path=path, text=text, heading=heading))
        edges.append(Edge(nid, EdgeKind.CONTAINS, hid, NodeKind.NOTE, NodeKind.HEADING))


def _add_code(rng: random.Random, topic: str, words: list[str], nodes: list[Node],
              edges: list[Edge]) -> list[str]:
    path = f"{topic}.py"
    fid = file_id("code", path)
    nodes.append(Node(fid, NodeKind.FILE, path, root="code", path=path, text=f"# {topic} module", lang="python"))
    cls = f"{topic.title()}Manager"
    cid = def_id("code", path, cls)
    nodes.append(Node(cid, NodeKind.CLASS, cls, root="code", path=path, qualname=cls, lang="python",
                      doc=f"Manage {topic} {words[0]} and {words[1]}.",
                      text=f"class {cls}:\n    \"\"\"Manage {topic} {words[0]} and {words[1]}.\"\"\""))
    edges.append(Edge(fid, EdgeKind.CONTAINS, cid, NodeKind.FILE, NodeKind.CLASS))
    funcs = []
    for k in range(4):
        a, b = words[k], words[k + 3]
        qual = f"{cls}.{a}_{b}"
        fn = def_id("code", path, qual)
        doc = f"{_sentence(rng, words, 8)}"
        body = f"def {a}_{b}(self, {b}):\n    \"\"\"{doc}\"\"\"\n    {a} = self.{b}({b})\n    return {a}"
        nodes.append(Node(fn, NodeKind.FUNCTION, f"{a}_{b}", root="code", path=path, qualname=qual,
                          signature=f"({b})", doc=doc, text=body, lang="python"))
        edges.append(Edge(cid, EdgeKind.CONTAINS, fn, NodeKind.CLASS, NodeKind.FUNCTION))
        if funcs:
            edges.append(Edge(fn, EdgeKind.CALLS, funcs[-1], NodeKind.FUNCTION, NodeKind.FUNCTION))
        funcs.append(fn)
    return funcs
