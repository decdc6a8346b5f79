"""Code and mention resolution, kept by a long-lived pipeline while their inputs stay the same.

Resolving calls, imports and bases reads every code file of the database and a few config
files (``go.mod``, ``tsconfig.json``...: whatever it read or looked for last time, checked
by size and mtime, ignored or not), so an edit to a note, which changes none of them, reuses
the last result as it is. Mentions are resolved per note against an index of the code files:
while no code file changes, only the notes that changed are resolved again. Parsed files are
recognised by identity: every version of one is a new object.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ingest.code_resolve import CodeResolution, resolve_code
from ingest.mentions import MentionResolution, MentionResolver, merge_mentions
from ingest.types import ParsedFile

class ResolutionCache:
    """The last code resolution and each note's mentions, with what they were made from."""

    def __init__(self) -> None:
        self._inputs: list[ParsedFile] = []
        self._roots: dict[str, Path] = {}
        self._configs: list[tuple[int, int] | None] = []  # (size, mtime) of each file it read
        self._code: CodeResolution | None = None
        self._resolver: MentionResolver | None = None
        self._notes: dict[int, tuple[ParsedFile, MentionResolution]] = {}

    def code(self, parsed: Sequence[ParsedFile], roots: dict[str, Path]) -> CodeResolution:
        """``resolve_code`` of the code files, again only when they (or the config files, or
        the roots) are not the very ones of last time."""
        code = [pf for pf in parsed if pf.kind == "code"]
        same = self._code is not None and roots == self._roots and len(code) == len(self._inputs) \
            and all(a is b for a, b in zip(code, self._inputs)) \
            and self._configs == _stats(self._code.read, roots)
        if not same:
            self._inputs, self._roots = code, dict(roots)
            self._code = resolve_code(code, roots)
            self._configs = _stats(self._code.read, roots)
            self._resolver, self._notes = MentionResolver(code), {}
        assert self._code is not None
        return self._code

    def mentions(self, parsed: Sequence[ParsedFile]) -> MentionResolution:
        """Every note's mentions (call ``code`` first: it says which code they resolve against)."""
        if self._resolver is None:
            self._resolver = MentionResolver(pf for pf in parsed if pf.kind == "code")
        notes: dict[int, tuple[ParsedFile, MentionResolution]] = {}
        for pf in parsed:
            if pf.kind != "note":
                continue
            kept = self._notes.get(id(pf))
            notes[id(pf)] = kept if kept is not None and kept[0] is pf else (pf, self._resolver.note(pf))
        self._notes = notes
        return merge_mentions(part for _, part in notes.values())


def _stats(files: list[tuple[str, str]], roots: dict[str, Path]) -> list[tuple[int, int] | None]:
    out: list[tuple[int, int] | None] = []
    for root, rel in files:
        try:
            st = (Path(roots[root]) / rel).stat()
            out.append((st.st_size, st.st_mtime_ns))
        except (OSError, KeyError):
            out.append(None)
    return out
