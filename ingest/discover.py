"""Discovery: which files of a root are ingested, which are skipped and why.

Honours ``.gitignore`` files (at any depth), a ``.kgignore`` at the root, Obsidian's
"Excluded files" (``.obsidian/app.json``, ``userIgnoreFilters``), and skips vendored and
generated trees, files over a size limit, symlink loops, names that are not UTF-8 and
symlinks that lead outside the root (unless ``follow_symlinks``: a link inside a vault must
not pull ``~/.ssh`` into the graph). Every skip has a reason; an ignore file with a bad
line is a warning, and only that line is dropped.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from ingest.languages import EXTENSIONS

log = logging.getLogger(__name__)

NOTE_EXTENSIONS = {".md"}
# Trees that are vendored, generated or tool state: never ingested.
SKIP_DIRS = {".git", ".hg", ".svn", ".obsidian", ".trash", "node_modules", "vendor", ".venv",
             "venv", "dist", "build", "target", "__pycache__", ".kg", ".mypy_cache",
             ".pytest_cache", ".ruff_cache", ".tox", ".idea", ".vscode", "site-packages"}


@dataclass
class Found:
    """A file to consider: ``kind`` is 'note', 'code' or 'attachment'."""

    path: str  # relative to the root, forward slashes
    where: str  # the file's own path as the walk found it (a Path only when it is read: see abs_path)
    kind: str
    size: int
    mtime_ns: int

    @property
    def abs_path(self) -> Path:
        return Path(self.where)


@dataclass
class Discovery:
    files: list[Found] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (path, message)


def kind_of(path: str) -> str:
    suffix = os.path.splitext(path)[1].lower()
    if suffix in NOTE_EXTENSIONS:
        return "note"
    if suffix in EXTENSIONS:
        return "code"
    return "attachment"


def _obsidian_filters(root: Path, follow_symlinks: bool) -> list[str]:
    config = root / ".obsidian" / "app.json"
    if not follow_symlinks and outside_root(config, root) is not None:
        return []
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


def outside_root(path: Path | str, root: Path) -> str | None:
    """Where ``path`` really leads when that is outside ``root``, else None.

    Args:
        path: a path inside the root as written (it may be, or pass through, a symlink).
        root: the root folder, already resolved.

    Returns:
        The resolved target (printable, for messages) when it is not ``root`` or below it.
    """
    target = os.path.realpath(path)
    if Path(target).is_relative_to(root):
        return None
    return printable(target)


def printable(name: str) -> str:
    """A file name as text that can be printed and stored (undecodable bytes as ``\\xNN``)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def discover(root: Path, *, max_bytes: int, follow_symlinks: bool = False) -> Discovery:
    """Walk ``root`` and classify every file.

    Args:
        root: the root folder (a vault or a repository).
        max_bytes: files larger than this are skipped with the reason "too large".
        follow_symlinks: also take symlinks that lead outside the root (by default they are
            skipped with the reason "symlink to outside the root: <target>").

    Returns:
        The files to ingest (sorted by path), the skipped paths with reasons, and warnings
        about ignore files.
    """
    walker = _Walker(root.resolve(), max_bytes, follow_symlinks)
    walker.walk(walker.root, "", [])
    walker.out.files.sort(key=lambda f: f.path)
    return walker.out


Specs = list[tuple[str, pathspec.PathSpec]]  # (dir prefix, spec), inherited downwards


class _Walker:
    """One walk over a root: the rules found so far and what was found."""

    def __init__(self, root: Path, max_bytes: int, follow_symlinks: bool) -> None:
        self.root, self.max_bytes, self.follow_symlinks = root, max_bytes, follow_symlinks
        self.out = Discovery()
        self.obsidian = _obsidian_filters(root, follow_symlinks)
        self.kgignore = self.ignore_file(root, "", ".kgignore")
        self.visited: dict[tuple[int, int], str] = {}  # folder (device, inode) -> its path
        self.open: set[tuple[int, int]] = set()  # the folders being walked, root down

    def walk(self, directory: Path, rel_dir: str, specs: Specs) -> None:
        try:
            stat = directory.stat()
            # Real entries before symlinks, so a folder is named by its own path, not a link's.
            entries = sorted(os.scandir(directory), key=lambda e: (e.is_symlink(), e.name))
        except OSError as exc:
            self.out.skipped.append((rel_dir or ".", f"unreadable folder: {exc.strerror or exc}"))
            return
        key = (stat.st_dev, stat.st_ino)
        if key in self.visited:
            reason = "symlink loop" if key in self.open else f"same folder as {self.visited[key] or '.'}"
            self.out.skipped.append((rel_dir, reason))
            return
        self.visited[key] = rel_dir
        self.open.add(key)
        own = self.ignore_file(directory, rel_dir, ".gitignore")
        if own is not None:
            specs = specs + [(rel_dir + "/" if rel_dir else "", own)]
        for entry in entries:
            self.entry(entry, rel_dir, specs)
        self.open.discard(key)

    def entry(self, entry: os.DirEntry[str], rel_dir: str, specs: Specs) -> None:
        rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
        reason = self.refusal(entry)
        if reason is not None:
            self.out.skipped.append((printable(rel), reason))
            return
        try:
            is_dir = entry.is_dir()  # follows symlinks
        except OSError as exc:
            self.out.skipped.append((rel, f"unreadable: {exc.strerror or exc}"))
            return
        if is_dir and entry.name in SKIP_DIRS:
            if entry.name not in (".git", ".obsidian", ".trash", "__pycache__", ".kg"):
                self.out.skipped.append((rel, "vendored or generated folder"))
            return
        reason = _ignored(rel, is_dir, specs, self.kgignore)
        if reason is None and _excluded_by_obsidian(rel, self.obsidian):
            reason = "Obsidian excluded files"
        if reason is not None:
            self.out.skipped.append((rel, f"ignored by {reason}"))
        elif is_dir:
            self.walk(Path(entry.path), rel, specs)
        else:
            _add_file(entry, rel, self.max_bytes, self.out)

    def refusal(self, entry: os.DirEntry[str]) -> str | None:
        """Why an entry is skipped before anything else is looked at, or None."""
        try:
            entry.name.encode("utf-8")
        except UnicodeEncodeError:
            return "the name is not valid UTF-8 (rename it to ingest it)"
        if self.follow_symlinks or not entry.is_symlink():
            return None
        target = outside_root(entry.path, self.root)
        return None if target is None else f"symlink to outside the root: {target}"

    def ignore_file(self, directory: Path, rel_dir: str, name: str) -> pathspec.PathSpec | None:
        """The rules of ``directory/name``; a line pathspec rejects is a warning and is dropped."""
        path = directory / name
        # The folders above were checked on the way down; only the file itself can escape.
        if not self.follow_symlinks and path.is_symlink() and outside_root(path, self.root) is not None:
            return None  # reported as skipped when the walk reaches it
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return None
        try:
            return pathspec.PathSpec.from_lines("gitignore", lines)
        except ValueError:
            pass
        good = []
        for number, line in enumerate(lines, 1):
            try:
                pathspec.PathSpec.from_lines("gitignore", [line])
            except ValueError:
                rel = f"{rel_dir}/{name}" if rel_dir else name
                self.out.warnings.append((rel, f"line {number}: {line!r} is not a valid pattern; "
                                               "the line is ignored"))
                continue
            good.append(line)
        return pathspec.PathSpec.from_lines("gitignore", good)


def _ignored(rel: str, is_dir: bool, specs: Specs, kgignore: pathspec.PathSpec | None) -> str | None:
    probe = rel + "/" if is_dir else rel
    for prefix, spec in specs:
        if spec.match_file(probe[len(prefix):]):
            return ".gitignore"
    if kgignore is not None and kgignore.match_file(probe):
        return ".kgignore"
    return None


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
    out.files.append(Found(path=rel, where=entry.path, kind=kind, size=st.st_size, mtime_ns=st.st_mtime_ns))
