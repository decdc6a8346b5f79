"""kg's links over a vault, per link, set against ``bench.vault.reference``.

kg is run in-process without a store or a model: discover, ``parse_note`` for every note,
one ``LinkIndex`` over the vault, and each LINKS_TO / EMBEDS ref resolved on its own by
``resolve_links`` (so no two links merge into one edge); an edge the pipeline would drop
(``check_pair``) counts as no link. A heading or block source counts for its note.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from bench.vault.reference import Resolved, reference_links, unresolved
from ingest.discover import discover
from ingest.links import LinkIndex, resolve_links
from ingest.obsidian import parse_note
from ingest.pipeline import IngestOptions
from kg.model import EdgeKind, NodeKind, check_pair

ROOT = "vault"
T = TypeVar("T")


@dataclass(frozen=True)
class KgLink:
    """One of kg's link refs and the edge it resolved to."""

    source: str
    line: int
    target: str
    subpath: str
    dst: str  # a vault path, 'unresolved:<name>' or '' when the edge is dropped
    section: str  # '', 'found' (a heading or block node) or 'missing'
    kind: str  # 'link' or 'embed'


@dataclass
class Comparison:
    """The two sides and what differs between them."""

    reference: list[Resolved]
    kg: list[KgLink]
    counts: dict[str, object] = field(default_factory=dict)
    mismatches: list[dict[str, object]] = field(default_factory=list)


def kg_links(root: Path) -> list[KgLink]:
    """Every LINKS_TO / EMBEDS ref of every note under ``root``, as kg resolves it."""
    found = discover(root, max_bytes=IngestOptions().max_file_bytes)
    parsed = [parse_note(ROOT, f.path, f.abs_path.read_bytes().decode("utf-8", errors="replace"))
              for f in found.files if f.kind == "note"]
    index = LinkIndex.build(parsed, {ROOT: [f.path for f in found.files]}, {ROOT: root})
    out = []
    for pf in parsed:
        for ref in pf.refs:
            if ref.kind not in (EdgeKind.LINKS_TO, EdgeKind.EMBEDS):
                continue
            edges = resolve_links([replace(pf, refs=[ref])], index).edges
            kind = "embed" if ref.kind is EdgeKind.EMBEDS else "link"
            subpath = str(ref.props.get("subpath") or "")
            dst, section = _where(edges[0]) if edges else ("", "")
            if edges and not check_pair(edges[0].kind, edges[0].src_kind, edges[0].dst_kind):
                dst, section = "", ""
            if subpath and not section and dst:
                section = "missing"
            out.append(KgLink(pf.path, ref.line or 0, ref.target, subpath, dst, section, kind))
    return out


def _where(edge: object) -> tuple[str, str]:
    dst, kind = edge.dst, edge.dst_kind  # type: ignore[attr-defined]
    body = dst.split(":", 1)[1].removeprefix(ROOT + "/")
    if kind is NodeKind.UNRESOLVED:
        return unresolved(body), ""
    if kind is NodeKind.HEADING:
        return body[: body.index(".md#") + 3], "found"
    if kind is NodeKind.BLOCK:
        return body[: body.index("#^")], "found"
    return body, ""


def compare(root: Path) -> Comparison:
    """The reference and kg over the vault at ``root``, and their differences."""
    ref = reference_links(root)[1]
    kg = kg_links(root)
    result = Comparison(ref, kg)
    ref_keys = Counter((r.link.source, r.dst, r.kind) for r in ref)
    kg_keys = Counter((k.source, k.dst, k.kind) for k in kg)
    both = sum((ref_keys & kg_keys).values())
    ref_set, kg_set = set(ref_keys), set(kg_keys)
    sub_ref = Counter((r.link.source, r.dst, r.kind, r.link.subpath, r.section) for r in ref if r.link.subpath)
    sub_kg = Counter((k.source, k.dst, k.kind, k.subpath, k.section) for k in kg if k.subpath)
    sub_both = sum((sub_ref & sub_kg).values())
    result.counts = {
        "notes": len({r.link.source for r in ref} | {k.source for k in kg}),
        "reference_links": len(ref), "kg_links": len(kg), "matched": both,
        "recall": _ratio(both, len(ref)), "precision": _ratio(both, len(kg)),
        "distinct": {"reference": len(ref_set), "kg": len(kg_set), "matched": len(ref_set & kg_set),
                     "recall": _ratio(len(ref_set & kg_set), len(ref_set)),
                     "precision": _ratio(len(ref_set & kg_set), len(kg_set))},
        "subpaths": {"reference": sum(sub_ref.values()), "kg": sum(sub_kg.values()), "matched": sub_both,
                     "recall": _ratio(sub_both, sum(sub_ref.values())),
                     "precision": _ratio(sub_both, sum(sub_kg.values())),
                     "reference_missing": sum(1 for r in ref if r.section == "missing"),
                     "kg_missing": sum(1 for k in kg if k.section == "missing")},
        "reference_ambiguous": sum(1 for r in ref if r.ambiguous),
        "reference_unresolved": sum(1 for r in ref if r.dst.startswith("unresolved:")),
        "kg_unresolved": sum(1 for k in kg if k.dst.startswith("unresolved:")),
    }
    result.mismatches = _mismatches(root, ref, kg)
    return result


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 5) if whole else 1.0


def _mismatches(root: Path, ref: list[Resolved], kg: list[KgLink]) -> list[dict[str, object]]:
    """Links whose (note, target, kind, subpath, section) differ, paired by note and line where
    both sides have a link there."""
    only_ref = _unmatched(ref, [_ref_key(r) for r in ref], Counter(map(_kg_key, kg)))
    only_kg = _unmatched(kg, [_kg_key(k) for k in kg], Counter(map(_ref_key, ref)))
    out = []
    lines: dict[str, list[str]] = {}
    for r in only_ref:
        partner = next((k for k in only_kg if (k.source, k.line) == (r.link.source, r.link.line)), None)
        if partner is not None:
            only_kg.remove(partner)
        out.append(_row(root, lines, r.link.source, r.link.line, r.link.raw,
                        f"{r.kind} → {r.dst}{_sec(r.link.subpath, r.section)}", _kg_says(partner)))
    for k in only_kg:
        out.append(_row(root, lines, k.source, k.line, "", "(no link)", _kg_says(k)))
    return sorted(out, key=lambda m: (str(m["file"]), int(m["line"])))  # type: ignore[call-overload]


def _ref_key(r: Resolved) -> tuple[str, ...]:
    return (r.link.source, r.dst, r.kind, r.link.subpath, r.section)


def _kg_key(k: KgLink) -> tuple[str, ...]:
    return (k.source, k.dst, k.kind, k.subpath, k.section)


def _unmatched(items: list[T], keys: list[tuple[str, ...]], other: Counter[tuple[str, ...]]) -> list[T]:
    """The items left once each takes one of its key from ``other`` (a multiset)."""
    left, out = Counter(other), []
    for item, key in zip(items, keys):
        if left[key] > 0:
            left[key] -= 1
        else:
            out.append(item)
    return out


def _sec(subpath: str, section: str) -> str:
    return f" #{subpath} ({section})" if subpath else ""


def _kg_says(k: KgLink | None) -> str:
    if k is None:
        return "(no link)"
    return f"{k.kind} → {k.dst or '(edge dropped)'}{_sec(k.subpath, k.section)} [target {k.target!r}]"


def _row(root: Path, cache: dict[str, list[str]], path: str, line: int, raw: str, ref: str,
         kg: str) -> dict[str, object]:
    if path not in cache:
        cache[path] = (root / path).read_text(encoding="utf-8", errors="replace").splitlines()
    text = cache[path][line - 1].strip() if 0 < line <= len(cache[path]) else ""
    return {"file": path, "line": line, "raw": raw or text[:160], "line_text": text[:240],
            "reference": ref, "kg": kg}


def write_report(result: Comparison, json_path: Path | None) -> str:
    """The report as text; with ``json_path``, every link and mismatch written there too."""
    c = result.counts
    lines = [f"notes {c['notes']}, links: reference {c['reference_links']}, kg {c['kg_links']}, "
             f"matched {c['matched']}",
             f"recall {c['recall']:.4%}  precision {c['precision']:.4%}  (per link: note, target, kind)",
             f"distinct (note, target, kind): {json.dumps(c['distinct'])}",
             f"subpaths: {json.dumps(c['subpaths'])}",
             f"reference ambiguous {c['reference_ambiguous']}, unresolved: reference "
             f"{c['reference_unresolved']}, kg {c['kg_unresolved']}",
             f"mismatches: {len(result.mismatches)}"]
    for m in result.mismatches:
        lines.append(f"  {m['file']}:{m['line']}  {m['raw']}\n      reference: {m['reference']}\n"
                     f"      kg:        {m['kg']}")
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        data = {"counts": c, "mismatches": result.mismatches,
                "reference": [dict(asdict(r.link), dst=r.dst, section=r.section, ambiguous=r.ambiguous)
                              for r in result.reference],
                "kg": [asdict(k) for k in result.kg]}
        json_path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return "\n".join(lines)
