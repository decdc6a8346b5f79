"""What a search may be asked to do: the pipeline's settings (``SearchConfig``, with the
baselines ``kg eval`` puts beside kg as presets) and the filters a query may carry.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kg.errors import ConfigError
from kg.model import is_test_path
from search.units import Item
from search.rank import Ranker

KIND_GROUPS: dict[str, tuple[str, ...]] = {
    "note": ("Note",), "heading": ("Heading",), "block": ("Block",), "file": ("File",),
    "class": ("Class",), "function": ("Function",),
    "code": ("File", "Class", "Function"), "vault": ("Note", "Heading", "Block"),
}


def _default_kind_weights() -> dict[str, float]:
    return {"Note": 1.0, "Heading": 1.0, "Block": 0.9, "File": 0.85, "Class": 1.1, "Function": 1.0}


def _default_edge_weights() -> dict[str, float]:
    return {"CONTAINS": 0.35, "LINKS_TO": 0.6, "EMBEDS": 0.6, "CALLS": 0.45, "IMPORTS": 0.2,
            "INHERITS": 0.45, "MENTIONS": 0.6}


@dataclass
class SearchConfig:
    """Every knob of the pipeline, with the values tuned on bench/search's labelled queries."""

    use_bm25: bool = True
    use_vector: bool = True
    expand: bool = True
    dedupe: bool = True
    cutoff: bool = True
    fusion: str = "linear"  # "linear" (normalised scores) or "rrf"
    vector_floor: float | None = None  # linear: cosine that counts as 0 (None: the last candidate's)
    bm25_candidates: int = 100
    vector_candidates: int = 100
    bm25_weight: float = 0.5
    vector_weight: float = 0.5
    rrf_k: int = 60
    column_weights: tuple[float, float, float] = (8.0, 3.0, 1.0)  # FTS5 name, path, body
    kind_weights: dict[str, float] = field(default_factory=_default_kind_weights)
    edge_weights: dict[str, float] = field(default_factory=_default_edge_weights)
    expand_seeds: int = 8
    expand_hops: int = 1  # 2 reaches a callee's callee; it scored no better on the bench
    hop_decay: float = 0.5
    expand_weight: float = 0.3
    max_expanded: int = 400
    dedupe_ratio: float = 1.0  # an ancestor replaces its descendant when it scores this much higher
    cutoff_relative: float = 0.3  # drop results below this fraction of the top score
    cutoff_gap: float = 0.55  # stop where a score falls below this fraction of the one before
    min_cosine: float = 0.1  # vector candidates below this are not candidates at all
    explain_cosine: float = 0.3  # say "similar meaning" from this cosine up ...
    explain_vector_rank: int = 20  # ... for the vector list's top this many
    # Learned weights and trees (search/ranker.json); with them, the list stops at the ranker's
    # margin below the top result ...
    ranker: Ranker | None = field(default_factory=Ranker.load)
    # ... and a query has no good match when no candidate comes this close in meaning (every
    # tune-half query had one at 0.38 or above; no nonsense query one above 0.33) and none
    # carries at least this share of the query's terms in its name (no nonsense query had a
    # candidate with any; a query worded unlike the corpus keeps its results by its names).
    no_match_cosine: float = 0.35
    no_match_names: float = 0.5

    @classmethod
    def preset(cls, name: str) -> SearchConfig:
        """The configurations ``kg eval --compare`` puts side by side.

        Raises:
            ConfigError: an unknown preset name.
        """
        plain = cls(expand=False, dedupe=False, cutoff=False, kind_weights={}, ranker=None)
        presets = {  # the three baselines are plain: no kind weights, expansion, de-duplication or cut-off
            "bm25": plain.with_(use_vector=False),
            "vector": plain.with_(use_bm25=False),
            "rrf": plain.with_(fusion="rrf", bm25_weight=1.0, vector_weight=1.0),
            "kg": cls(),
        }
        if name not in presets:
            raise ConfigError(f"unknown search configuration {name!r}; choose from {', '.join(presets)}")
        return presets[name]

    def with_(self, **changes: Any) -> SearchConfig:
        return replace(self, **changes)


PRESETS = ("bm25", "vector", "rrf", "kg")


def resolve_kinds(kinds: Sequence[str] | None) -> list[str] | None:
    """Turn user kinds (note, heading, block, file, class, function, code, vault) into NodeKind values.

    Raises:
        ConfigError: an unknown kind.
    """
    if not kinds:
        return None
    out: list[str] = []
    for kind in kinds:
        for part in str(kind).split(","):
            key = part.strip().lower()
            if not key:
                continue
            if key not in KIND_GROUPS:
                raise ConfigError(f"unknown kind {part!r}; use one of {', '.join(KIND_GROUPS)}")
            out.extend(k for k in KIND_GROUPS[key] if k not in out)
    return out or None


def path_kept(item: Item, paths: Sequence[str] | None, exclude_tests: bool) -> bool:
    """Whether an item passes the path filters of a search (see ``Searcher._search``)."""
    if exclude_tests and is_test_path(item.path):
        return False
    if not paths:
        return True
    where = (item.path, f"{item.root}/{item.path}")
    for pattern in paths:
        folder = pattern.strip().rstrip("/")
        if not folder:
            continue
        if any(w == folder or w.startswith(folder + "/") or fnmatch.fnmatchcase(w, folder) for w in where):
            return True
    return False
