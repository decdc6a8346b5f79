"""The full-page graph's server-side layout on a dense graph: nodes apart, shown labels clear
of every other node and label, and the drawing fills a narrow box rather than a band of it."""

from __future__ import annotations

from typing import Any

from web.graph_layout import label_box, layout, node_box


def _dense(hubs: int = 4, leaves: int = 30) -> dict[str, Any]:
    """Hubs linked to one another and each to its own leaves and some of the next hub's:
    a force layout piles such hubs on top of one another."""
    nodes, edges = [], []
    for h in range(hubs):
        nodes.append({"key": f"h{h}", "id": f"file:h{h}.py", "label": f"hub_number_{h}.py", "kind": "File",
                      "cluster": f"c{h % 2}", "degree": leaves + hubs})
        edges += [{"src": f"h{h}", "dst": f"h{g}", "weight": 5} for g in range(hubs) if g != h]
        for i in range(leaves):
            key = f"l{h}.{i}"
            nodes.append({"key": key, "id": f"def:{key}", "label": f"leaf_function_{h}_{i}", "kind": "File",
                          "cluster": f"c{h % 2}", "degree": 2})
            edges += [{"src": f"h{h}", "dst": key, "weight": 1},
                      {"src": f"h{(h + 1) % hubs}", "dst": key, "weight": 1}]
    return {"mode": "overview", "nodes": nodes, "edges": edges,
            "clusters": [{"key": "c0", "label": "src/a"}, {"key": "c1", "label": "src/b"}]}


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_nodes_do_not_overlap_and_shown_labels_sit_on_nothing() -> None:
    for width, height in ((1160.0, 710.0), (380.0, 700.0)):
        nodes = layout(_dense(), width, height)["nodes"]
        for i, a in enumerate(nodes):
            assert 0 <= a["x"] <= width and 0 <= a["y"] <= height
            for b in nodes[i + 1:]:
                apart = ((a["x"] - b["x"]) ** 2 + (a["y"] - b["y"]) ** 2) ** 0.5
                assert apart >= (a["size"] + b["size"]) / 2, (width, a["key"], b["key"])
        shown = [n for n in nodes if n["labelled"]]
        assert len(shown) >= (5 if width > 1000 else 2), (width, len(shown))
        for n in shown:
            box = label_box(n)
            assert not any(_overlap(box, node_box(m)) for m in nodes if m is not n), (width, n["key"])
            assert not any(_overlap(box, label_box(m)) for m in shown if m is not n), (width, n["key"])


def test_a_narrow_box_gets_a_tall_drawing() -> None:
    nodes = layout(_dense(), 380.0, 700.0)["nodes"]
    xs, ys = [n["x"] for n in nodes], [n["y"] for n in nodes]
    assert max(ys) - min(ys) > 1.2 * (max(xs) - min(xs))


def test_the_centre_of_a_local_graph_is_always_labelled() -> None:
    data = _dense()
    data.update(mode="local", center="h0", clusters=[])
    nodes = layout(data, 380.0, 300.0)["nodes"]
    assert next(n for n in nodes if n["key"] == "h0")["labelled"]
