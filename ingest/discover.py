"""Discovery: which files of a root are ingested, which are skipped and why.

Honours ``.gitignore`` files (at any depth), a ``.kgignore`` at the root, Obsidian's
"Excluded files" (``.obsidian/app.json``, ``userIgnoreFilters``), and skips vendored and
generated trees, files over a size limit and symlink loops. Every skip has a reason.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

log = logging.getLogger(__name__)

NOTE_EXTENSIONS = {".md"}
CODE_EXTENSIONS = {".py", ".pyi", ".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts",
                   ".go", ".rs"}
# Trees that are vendored, generated or tool state: never ingested.
SKIP_DIRS = {".git", ".hg", ".svn", ".obsidian", ".trash", "node_modules", "vendor", ".venv",
             "venv", "dist", "build", "target", "__pycache__", ".kg", ".mypy_cache",
             ".pytest_cache", ".ruff_cache", ".tox", ".idea", ".vscode", "site-packages"}


@dataclass
class Found:
    """A file to consider: ``kind`` is 'note', 'code' or 'attachment'."""

    path: str  # relative to the root, forward slashes
    abs_path: Path
    kind: str
    size: int
    mtime_ns: int


@dataclass
class Discovery:
    files: list[Found] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def kind_of(path: str) -> str:
    suffix = os.path.splitext(path)[1].lower()
    if suffix in NOTE_EXTENSIONS:
        return "note"
    if suffix in CODE_EXTENSIONS:
        return "code"
    return "attachment"


def _obsidian_filters(root: Path) -> list[str]:
    config = root / ".obsidian" / "app.json"
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    filters = data.get("userIgnoreFilters") if isinstance(data, dict) else None
    return [f for f in filters or [] if isinstance(f, str) and f]


def _excluded_by_obsidian(rel: str, filters: list[str]) -> bool:
    for flt in filters:
        if len(flt) > 2 and flt.startswith("/") and flt.endswith("/"):
            try:
                if re.search(flt[1:-1], rel):
                    return True
            except re.error:
                continue
        elif rel == flt.rstrip("/") or rel.startswith(flt if flt.endswith("/") else flt + "/") \
                or (not flt.endswith("/") and rel.startswith(flt)):
            return True
    return False


def _spec_for(directory: Path, name: str) -> pathspec.PathSpec | None:
    try:
        lines = (directory / name).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return pathspec.PathSpec.from_lines("gitignore", lines)


def discover(root: Path, *, max_bytes: int) -> Discovery:
    """Walk ``root`` and classify every file.

    Args:
        root: the root folder (a vault or a repository).
        max_bytes: files larger than this are skipped with the reason "too large".

    Returns:
        The files to ingest (sorted by path) and the skipped paths with reasons.
    """
    root = root.resolve()
    out = Discovery()
    obsidian = _obsidian_filters(root)
    specs: list[tuple[str, pathspec.PathSpec]] = []  # (dir prefix, spec), inherited downwards
    kgignore = _spec_for(root, ".kgignore")
    visited: set[tuple[int, int]] = set()
    _walk(root, root, "", specs, kgignore, obsidian, visited, max_bytes, out)
    out.files.sort(key=lambda f: f.path)
    return out


def _ignored(rel: str, is_dir: bool, specs: list[tuple[str, pathspec.PathSpec]],
             kgignore: pathspec.PathSpec | None) -> str | None:
    probe = rel + "/" if is_dir else rel
    for prefix, spec in specs:
        if spec.match_file(probe[len(prefix):]):
            return ".gitignore"
    if kgignore is not None and kgignore.match_file(probe):
        return ".kgignore"
    return None


def _walk(root: Path, directory: Path, rel_dir: str, specs: list[tuple[str, pathspec.PathSpec]],
          kgignore: pathspec.PathSpec | None, obsidian: list[str], visited: set[tuple[int, int]],
          max_bytes: int, out: Discovery) -> None:
    try:
        stat = directory.stat()
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as exc:
        out.skipped.append((rel_dir or ".", f"unreadable folder: {exc.strerror or exc}"))
        return
    if (stat.st_dev, stat.st_ino) in visited:
        out.skipped.append((rel_dir, "symlink loop"))
        return
    visited.add((stat.st_dev, stat.st_ino))
    own = _spec_for(directory, ".gitignore")
    if own is not None:
        specs = specs + [(rel_dir + "/" if rel_dir else "", own)]
    for entry in entries:
        rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
        try:
            is_dir = entry.is_dir()  # follows symlinks
        except OSError as exc:
            out.skipped.append((rel, f"unreadable: {exc.strerror or exc}"))
            continue
        if is_dir and entry.name in SKIP_DIRS:
            if entry.name not in (".git", ".obsidian", ".trash", "__pycache__", ".kg"):
                out.skipped.append((rel, "vendored or generated folder"))
            continue
        reason = _ignored(rel, is_dir, specs, kgignore)
        if reason is None and _excluded_by_obsidian(rel, obsidian):
            reason = "Obsidian excluded files"
        if reason is not None:
            out.skipped.append((rel, f"ignored by {reason}"))
            continue
        if is_dir:
            _walk(root, Path(entry.path), rel, specs, kgignore, obsidian, visited, max_bytes, out)
            continue
        _add_file(entry, rel, max_bytes, out)


def _add_file(entry: os.DirEntry[str], rel: str, max_bytes: int, out: Discovery) -> None:
    if entry.name.startswith(".") and kind_of(rel) == "attachment":
        return  # dotfiles (.gitignore, .DS_Store...) are not content
    try:
        if not entry.is_file():
            out.skipped.append((rel, "not a regular file"))
            return
        st = entry.stat()
    except OSError as exc:
        out.skipped.append((rel, f"unreadable: {exc.strerror or exc}"))
        return
    kind = kind_of(rel)
    if kind != "attachment" and st.st_size > max_bytes:
        out.skipped.append((rel, f"too large ({st.st_size:,} bytes > {max_bytes:,})"))
        return
    out.files.append(Found(path=rel, abs_path=Path(entry.path), kind=kind, size=st.st_size,
                           mtime_ns=st.st_mtime_ns))
