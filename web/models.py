"""The models page: the registry, held-out metrics against the baseline, training curves.

Curves are drawn here as inline SVG (no plotting library, no script): a polyline per
series, scaled into a fixed box, with a few tick labels. Colours come from CSS classes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from kg.errors import ModelError

log = logging.getLogger(__name__)

WIDTH, HEIGHT, PAD = 480, 200, 40
MAX_POINTS = 400  # longer curves are thinned evenly before drawing


@dataclass
class ModelCard:
    """One registered model as the page shows it."""

    name: str
    kind: str
    created: str
    base: str
    promoted: bool
    metrics: dict[str, Any]
    baseline: dict[str, Any]
    curve: list[dict[str, float]] = field(default_factory=list)
    error: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "created": self.created, "base": self.base,
                "promoted": self.promoted, "metrics": self.metrics, "baseline": self.baseline,
                "curve": self.curve, "error": self.error}

    def origin(self) -> str:
        """What it is, in words: "fine-tuned from all-MiniLM-L6-v2", "static, from random weights"."""
        kind = KIND_WORDS.get(self.kind, self.kind)
        if self.kind == "finetune":
            return f"{kind} from {self.base}" if self.base and self.base != self.kind else kind
        return f"{kind}, from random weights"

    def verdict(self) -> str:
        """How search did with it against the model before, when it was judged ("" if not)."""
        gain, low, high = (self.metrics.get(k) for k in ("ndcg_gain", "ndcg_gain_low", "ndcg_gain_high"))
        if not all(isinstance(v, (int, float)) for v in (gain, low, high)):
            return ""
        queries = self.metrics.get("queries")
        on = f" on {int(queries)} held-out queries" if isinstance(queries, (int, float)) else ""
        before = self.baseline.get("model") or "the model before"
        return (f"search nDCG@10 {gain:+.3f} against {before} (95% interval {low:+.3f} to {high:+.3f}){on}")

    def metric_rows(self) -> list[tuple[str, str, str]]:
        """(metric, this model, baseline) for every numeric held-out metric, as a reader reads them:
        counts as integers, scores to three decimals."""
        names = [k for k, v in self.metrics.items()
                 if isinstance(v, (int, float)) and not isinstance(v, bool) and not k.startswith("ndcg_gain")]
        return [(METRIC_NAMES.get(k, k), readable(self.metrics.get(k)), readable(self.baseline.get(k)))
                for k in names]

    def plot(self) -> Markup:
        """The training curve as inline SVG."""
        return line_chart(curve_series(self.curve), title=f"training curve of {self.name}")


KIND_WORDS = {"finetune": "fine-tuned", "static": "static", "scratch": "trained from scratch"}
METRIC_NAMES = {"ndcg@10": "nDCG@10", "mrr@10": "MRR@10", "recall@10": "Recall@10", "queries": "queries"}


def readable(value: Any) -> str:
    """A metric as a person reads it: an integer count as such, a score to three decimals, "–" for none."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "–"
    if isinstance(value, int) or (float(value).is_integer() and abs(value) > 1):  # 1.0 is a perfect score
        return f"{int(value):,}"
    return f"{value:.3f}"


def model_cards(registry: Any) -> list[ModelCard]:
    """Every registered model, newest first; an unreadable curve is reported, not fatal."""
    if registry is None:
        return []
    cards = []
    for record in reversed(registry.list()):
        card = ModelCard(name=record.name, kind=record.kind, created=record.created, base=record.base,
                         promoted=record.promoted, metrics=dict(record.metrics),
                         baseline=dict(record.baseline))
        try:
            card.curve = list(registry.curve(record.name))
        except (OSError, ValueError, ModelError) as exc:
            card.error = f"no training curve ({exc})"
        cards.append(card)
    return cards


def curve_series(curve: Sequence[dict[str, float]]) -> dict[str, list[tuple[float, float]]]:
    """Points per measured quantity, x = ``step`` (or the point's index)."""
    series: dict[str, list[tuple[float, float]]] = {}
    for i, point in enumerate(curve):
        x = float(point.get("step", i))
        for key, value in point.items():
            if key in ("step", "epoch", "time", "seconds") or not isinstance(value, (int, float)):
                continue
            if math.isfinite(value):
                series.setdefault(key, []).append((x, float(value)))
    return {k: _thin(v) for k, v in series.items()}


def _thin(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(points) <= MAX_POINTS:
        return points
    step = len(points) / MAX_POINTS
    return [points[int(i * step)] for i in range(MAX_POINTS)] + [points[-1]]


def line_chart(series: dict[str, list[tuple[float, float]]], *, title: str = "") -> Markup:
    """An SVG line chart of one or more series, sharing axes."""
    points = [p for pts in series.values() for p in pts]
    if not points:
        return Markup('<p class="muted">No training curve recorded.</p>')
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1)

    def sx(x: float) -> float:
        return PAD + (x - x0) / (x1 - x0) * (WIDTH - 2 * PAD)

    def sy(y: float) -> float:
        return HEIGHT - PAD + (y - y0) / (y1 - y0) * (2 * PAD - HEIGHT)

    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>",
             f'<line class="axis" x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}"/>',
             f'<line class="axis" x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}"/>']
    for value in (y0, (y0 + y1) / 2, y1):
        parts.append(f'<text class="tick" x="{PAD - 4}" y="{sy(value) + 4:.1f}" text-anchor="end">{value:.3g}</text>')
    for value in (x0, x1):
        parts.append(f'<text class="tick" x="{sx(value):.1f}" y="{HEIGHT - PAD + 16}" text-anchor="middle">{value:.0f}</text>')
    for n, (name, pts) in enumerate(sorted(series.items())):
        line = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        parts.append(f'<polyline class="series s{n % 6}" fill="none" points="{line}"/>')
        parts.append(f'<text class="legend s{n % 6}" x="{WIDTH - PAD}" y="{PAD - 8 + 14 * n}" '
                     f'text-anchor="end">{escape(name)}</text>')
    parts.append(f'<text class="tick" x="{WIDTH / 2}" y="{HEIGHT - 6}" text-anchor="middle">step</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
