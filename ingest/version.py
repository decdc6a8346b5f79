"""The parser's version: what a parsed file in the ingest state was parsed with.

It is a digest of the parsing code (the Obsidian and code parsers, their query files, the
node model) and of the versions of the parsing libraries, so that any change to how files
are parsed reaches files that did not change on disk: ``IngestState`` parses every file
again when the version it stored differs. Nobody has to remember to bump a number.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import metadata
from pathlib import Path

_HERE = Path(__file__).parent
_PARSING = ("obsidian.py", "markdown_syntax.py", "code.py", "code_source.py", "code_refs.py", "languages.py",
            "types.py", "version.py")
_LIBRARIES = ("markdown-it-py", "mdit-py-plugins", "python-frontmatter", "PyYAML", "tree-sitter",
              "tree-sitter-python", "tree-sitter-javascript", "tree-sitter-typescript", "tree-sitter-go",
              "tree-sitter-rust", "tree-sitter-java", "tree-sitter-c-sharp", "tree-sitter-c", "tree-sitter-cpp",
              "tree-sitter-ruby", "tree-sitter-php")


@lru_cache(maxsize=1)
def parser_version() -> str:
    digest = hashlib.sha1()
    files = [_HERE / name for name in _PARSING] + sorted((_HERE / "queries").glob("*.scm"))
    files.append(_HERE.parent / "kg" / "model.py")
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for name in _LIBRARIES:
        try:
            digest.update(f"{name}=={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name} missing".encode())
    return digest.hexdigest()[:16]
