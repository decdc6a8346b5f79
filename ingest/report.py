"""What an ingest did, for the summary a user reads (``kg ingest``, ``--json``).

Every skipped file is named with its reason and every warning names its file, on every
run: warnings of files that did not change come from the ingest state, not from parsing
them again.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from kg.model import Edge

# Skips that follow from the user's own rules; listed after the files that are bad.
_RULE_REASONS = ("ignored by ", "vendored or generated folder")


@dataclass
class IngestReport:
    """What an ingest did.

    Attributes:
        files: counts of added / changed / removed / unchanged / failed files.
        skipped: (root/path, reason) for every file or folder not taken.
        warnings: "root/path: message" (or "root/path:line: message") for every problem
            found in a file that was taken, or in a link or config file during resolution.
        nodes, edges: the graph's totals by kind.
        written: nodes and edges written and deleted by this run.
        resolution: link, import and call resolution counts.
        seconds: how long the run took.
        touched: ids of the nodes this run wrote or deleted (what the search index has to
            look at again).
        edges_put, edges_gone: the edges this run wrote (new or changed) and the keys of
            those it removed (detached ones included): what a searcher patches its graph with.
        graph_versions: the graph's version (``IngestState.graph_version``) before and after
            this run: ``touched`` is all that differs between the two.
    """

    files: Counter[str] = field(default_factory=Counter)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    nodes: Counter[str] = field(default_factory=Counter)
    edges: Counter[str] = field(default_factory=Counter)
    written: Counter[str] = field(default_factory=Counter)
    resolution: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    touched: set[str] = field(default_factory=set)
    edges_put: list[Edge] = field(default_factory=list)
    edges_gone: list[tuple[str, str, str]] = field(default_factory=list)
    graph_versions: tuple[str, str] = ("", "")

    def skipped_in_order(self) -> list[tuple[str, str]]:
        """The skipped paths, bad files first and those left out by ignore rules last."""
        return sorted(self.skipped, key=lambda item: item[1].startswith(_RULE_REASONS))

    def as_dict(self) -> dict[str, object]:
        """The summary as JSON-ready data; it lists every skipped file and every warning."""
        return {
            "files": dict(self.files), "skipped": len(self.skipped),
            "skipped_by_reason": dict(Counter(reason_key(r) for _, r in self.skipped)),
            "skipped_files": [{"path": p, "reason": r} for p, r in self.skipped_in_order()],
            "warnings": len(self.warnings), "warning_messages": list(self.warnings),
            "nodes": dict(self.nodes), "edges": dict(self.edges),
            "written": dict(self.written), "resolution": dict(self.resolution),
            "seconds": round(self.seconds, 3),
        }


def reason_key(reason: str) -> str:
    """The kind of a skip reason, without its details ("too large (3 bytes > 2)" → "too large")."""
    return reason.split(" (")[0].split(":")[0]
