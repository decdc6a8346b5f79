"""Positions and label choice for the full-page graph, computed once on the server.

The browser draws what it is given (cytoscape's ``preset`` layout), so the picture is the
same on every load and labels never pile up:

- Each folder cluster starts around its own point on a circle, held together by an
  undrawn anchor node linked to each of its members; a force layout (Fruchterman-Reingold,
  from fixed starting points, so deterministic) then pulls linked nodes together, so clusters stay
  grouped and sit near the clusters they link to. The cluster's caption goes where its
  anchor ends up. Nodes with no edge at all are left out of an overview that has linked
  ones (``drop_unlinked``, counted in ``unlinked``): drawn, they only push the rest into a
  corner.
- The drawing is turned to lie the way the box does and stretched to fill it (up to twice
  as much one way as the other), so a narrow window gets a tall picture; then nodes that
  overlap are pushed apart.
- Labels are chosen greedily, best connected first: a node's label is shown only when its
  box, below the node or else above it, overlaps neither a label already shown nor another
  node (at any zoom; the centre of a local graph always says its name). The others appear when
  the reader zooms in.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np

WIDTH, HEIGHT = 1200.0, 800.0
CHAR_WIDTH = 0.58  # of the font size: the average glyph of the UI font
CAPTION = 15.0  # px: a cluster's caption
STRETCH = 2.0  # the most the drawing is stretched one way more than the other, to fill the box


def font_size(degree: int, top: int) -> float:
    """Label size in px: 10 for the least connected, up to 16 for the best."""
    return 10.0 + 6.0 * (math.sqrt(degree / top) if top else 0.0)


def _jitter(key: str) -> tuple[float, float]:
    digest = hashlib.sha256(key.encode()).digest()
    return digest[0] / 255.0 - 0.5, digest[1] / 255.0 - 0.5


def drop_unlinked(data: dict[str, Any]) -> dict[str, Any]:
    """Leave out the nodes of a graph view's JSON that have no edge, counted in ``unlinked``,
    unless none has one (a tag or folder whose notes don't link each other still shows
    them). Returns ``data``."""
    linked = {e["src"] for e in data["edges"]} | {e["dst"] for e in data["edges"]}
    kept = [n for n in data["nodes"] if n["key"] in linked]
    data["unlinked"] = len(data["nodes"]) - len(kept) if kept else 0
    if kept:
        data["nodes"], data["shown"] = kept, len(kept)
    return data


def layout(data: dict[str, Any], width: float = WIDTH, height: float = HEIGHT) -> dict[str, Any]:
    """Add ``x``, ``y`` (px), ``size`` and ``labelled`` to every node of a graph view's JSON
    (``GraphView.as_json``); clusters get ``x``, ``y`` for their caption. Returns ``data``."""
    nodes = data["nodes"]
    if not nodes:
        return data
    clusters = [c["key"] for c in data.get("clusters", [])] or [""]
    spot = {c: (math.cos(2 * math.pi * i / len(clusters)), math.sin(2 * math.pi * i / len(clusters)))
            for i, c in enumerate(clusters)}
    if len(clusters) == 1:
        spot = {clusters[0]: (0.0, 0.0)}
    keys = [n["key"] for n in nodes]
    anchors = {c: f"\0cluster:{c}" for c in clusters} if len(clusters) > 1 else {}
    index = {k: i for i, k in enumerate(keys + list(anchors.values()))}
    start = np.zeros((len(index), 2))
    for n in nodes:
        cx, cy = spot.get(n.get("cluster", ""), (0.0, 0.0))
        jx, jy = _jitter(n["key"])
        start[index[n["key"]]] = (cx + 0.6 * jx, cy + 0.6 * jy)
    pull = np.zeros((len(index), len(index)))
    for e in data["edges"]:
        if e["src"] != e["dst"] and e["src"] in index and e["dst"] in index:
            a, b = index[e["src"]], index[e["dst"]]
            pull[a, b] = pull[b, a] = pull[a, b] + math.log1p(e.get("weight", 1))
    for c, anchor in anchors.items():
        start[index[anchor]] = spot[c]
    for n in nodes if anchors else ():
        a, b = index[n["key"]], index[anchors.get(n.get("cluster", ""), anchors[clusters[0]])]
        pull[a, b] = pull[b, a] = 0.8
    if data.get("center") in index:
        start[index[data["center"]]] = (0.0, 0.0)
    placed_at = force_layout(start, pull, k=1.6 / math.sqrt(max(1, len(nodes))))
    xs, ys = placed_at[: len(keys), 0], placed_at[: len(keys), 1]  # the nodes' extent, not the anchors'
    if (np.ptp(xs) > np.ptp(ys)) != (width > height):  # turned a quarter to lie the way the box does
        placed_at = placed_at[:, ::-1]
        xs, ys = ys, xs
    pos = {k: (float(placed_at[i, 0]), float(placed_at[i, 1])) for k, i in index.items()}
    x0, x1, y0, y1 = float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max())
    sx, sy = (width - 120) / ((x1 - x0) or 1.0), (height - 80) / ((y1 - y0) or 1.0)
    sx, sy = min(sx, STRETCH * sy), min(sy, STRETCH * sx)  # fill the box, within a limit
    top = max((n.get("degree", 0) for n in nodes), default=0)
    for n in nodes:
        x, y = pos[n["key"]]
        n["x"], n["y"] = 60 + (x - x0) * sx, 40 + (y - y0) * sy
        n["size"] = round(10 + 22 * (math.sqrt(n.get("degree", 0) / top) if top else 0.0), 1)
        n["font"] = round(font_size(n.get("degree", 0), top), 1)
    _spread(nodes, width, height)
    placed: list[tuple[float, float, float, float]] = []
    _place_labels(nodes, data.get("center", ""), placed)
    bodies = [node_box(n) for n in nodes]
    for c in data.get("clusters", []):  # a folder's caption where its anchor ended, unless something is there
        if c["key"] in anchors:
            x, y = pos[anchors[c["key"]]]
            half = CHAR_WIDTH * CAPTION * len(c["label"]) / 2
            c["x"] = round(min(max(60 + (x - x0) * sx, half + 10), width - half - 10), 1)
            c["y"] = round(min(max(40 + (y - y0) * sy, 20.0), height - 20), 1)
            box = (c["x"] - half, c["y"] - CAPTION * 0.65, c["x"] + half, c["y"] + CAPTION * 0.65)
            c["labelled"] = not any(_overlap(box, b) for b in placed + bodies)
            if c["labelled"]:
                placed.append(box)
    return data


def _spread(nodes: list[dict[str, Any]], width: float, height: float, gap: float = 4.0, rounds: int = 60) -> None:
    """Push apart nodes whose discs (plus ``gap``) overlap, half the overlap each per round,
    keeping them inside the box; rounds ``x`` and ``y``. A force layout settles hubs and
    their neighbours on top of one another, which hides both nodes and labels."""
    pos = np.array([(n["x"], n["y"]) for n in nodes], dtype=np.float64)
    radius = np.array([n["size"] / 2 for n in nodes])
    need = radius[:, None] + radius[None, :] + gap
    np.fill_diagonal(need, 0.0)
    nudge = np.array([_jitter(n["key"]) for n in nodes])  # a direction for nodes on the same spot
    for _ in range(rounds if len(nodes) > 1 else 0):
        delta = pos[:, None, :] - pos[None, :, :]
        distance = np.sqrt(np.einsum("ijk,ijk->ij", delta, delta))
        short = np.clip(need - distance, 0.0, None)
        if not short.any():
            break
        same = distance < 1e-6
        if (same & (short > 0)).any():
            delta[same] = (nudge[:, None, :] - nudge[None, :, :])[same]
            distance[same] = np.maximum(np.linalg.norm(delta[same], axis=-1), 1e-6)
        pos += 0.5 * np.einsum("ijk,ij->ik", delta, short / np.maximum(distance, 1e-6))
        pos[:, 0] = np.clip(pos[:, 0], 30 + radius, width - 30 - radius)
        pos[:, 1] = np.clip(pos[:, 1], 20 + radius, height - 40 - radius)
    for n, (x, y) in zip(nodes, pos, strict=True):
        n["x"], n["y"] = round(float(x), 1), round(float(y), 1)


def force_layout(start: np.ndarray, pull: np.ndarray, k: float, iterations: int = 80) -> np.ndarray:
    """Fruchterman-Reingold from ``start`` (n × 2): every pair repels by k²/d, linked pairs
    attract by ``pull``·d²/k, and each step moves a node at most the temperature, which
    cools linearly from a tenth of the drawing's extent. Dense (n² memory), which is fast
    for the few hundred nodes a page draws."""
    pos = start.astype(np.float64, copy=True)
    if len(pos) < 2:
        return pos
    temperature = 0.1 * float(max(np.ptp(pos[:, 0]), np.ptp(pos[:, 1]), 1e-3))
    cooling = temperature / (iterations + 1)
    for _ in range(iterations):
        delta = pos[:, None, :] - pos[None, :, :]
        distance = np.maximum(np.linalg.norm(delta, axis=-1), 0.01)
        force = k * k / distance**2 - pull * distance / k
        step = np.einsum("ijk,ij->ik", delta, force)
        length = np.linalg.norm(step, axis=-1)
        length[length < 0.01] = 0.1
        pos += step * (temperature / length)[:, None]
        temperature -= cooling
    return pos


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def label_box(n: dict[str, Any], where: str | None = None) -> tuple[float, float, float, float]:
    """The box (left, top, right, bottom) a node's label takes, centred below the node, or
    above it where ``where`` (else the node's ``label_at``) is "above"."""
    text_w = CHAR_WIDTH * n["font"] * len(str(n.get("label", "")))
    if (where or n.get("label_at")) == "above":
        top = n["y"] - n["size"] / 2 - 2 - 1.25 * n["font"]
    else:
        top = n["y"] + n["size"] / 2 + 2
    return n["x"] - text_w / 2, top, n["x"] + text_w / 2, top + 1.25 * n["font"]


def node_box(n: dict[str, Any]) -> tuple[float, float, float, float]:
    """The box (left, top, right, bottom) a node's disc or square takes."""
    half = n["size"] / 2
    return n["x"] - half, n["y"] - half, n["x"] + half, n["y"] + half


def _place_labels(nodes: list[dict[str, Any]], center: str, placed: list[tuple[float, float, float, float]]) -> None:
    bodies = [(n["key"], node_box(n)) for n in nodes]
    for n in sorted(nodes, key=lambda n: (n["key"] != center, -n.get("degree", 0), n["key"])):
        n["labelled"], n["label_at"] = n["key"] == center, "below"
        for where in () if n["labelled"] else ("below", "above"):  # below the node, else above it
            box = label_box(n, where)
            if not (any(_overlap(box, b) for b in placed) or any(_overlap(box, b) for k, b in bodies if k != n["key"])):
                n["labelled"], n["label_at"] = True, where
                break
        if n["labelled"]:
            placed.append(label_box(n))
