"""Code resolution redone for what a change reaches gives what a fresh resolution gives.

The cases (``tests/fixtures/resolution_cases.json``) are the dependencies a review found the
first reach rules missed: re-exports through other modules, a ``src`` layout made a package,
a C++ class whose namesake appears elsewhere, a Rust ``impl`` by path, Go embedding, an
aliased subclass whose base changed. Each adds empty files so that the change reaches less
than half of them (else everything is resolved again and nothing is tested).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ingest.code import parse_code
from ingest.code_resolve import CodeResolution, resolve_code
from ingest.resolution_cache import ResolutionCache

CASES = json.loads((Path(__file__).parents[1] / "fixtures" / "resolution_cases.json").read_text(encoding="utf-8"))


def _rows(res: CodeResolution) -> list[tuple[Any, ...]]:
    edges = [(e.src, e.kind.value, e.dst, e.dst_kind.value, e.how, e.resolved, round(e.confidence, 4),
              repr(sorted(e.props.items()))) for e in res.edges]
    return sorted(edges) + sorted((n.id, n.lang, repr(n.props)) for n in res.nodes)  # type: ignore[misc]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_an_edit_resolved_incrementally_matches_a_fresh_resolution(case: dict[str, Any], tmp_path: Path) -> None:
    filler = {f"zz/fill{i}.{case['ext']}": "" for i in range(20)}
    before, after = {**filler, **case["before"]}, {**filler, **case["after"]}
    root, roots = case["root"], {case["root"]: tmp_path}
    parsed = {p: parse_code(root, p, text.encode()) for p, text in before.items()}
    cache = ResolutionCache()
    cache.code(list(parsed.values()), roots)
    now = [parsed[p] if before.get(p) == text else parse_code(root, p, text.encode()) for p, text in after.items()]
    incremental = cache.code(now, roots)
    assert 0 < cache.resolved_files <= len(after) // 2  # the partial path ran
    assert _rows(incremental) == _rows(resolve_code(now, roots))
