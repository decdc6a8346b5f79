"""The parser's version: what a parsed file in the ingest state was parsed with.

It is a digest of the ingest code (every module of ``ingest/``, the query files, the node
model) and of the versions of the parsing libraries, so that any change to how files
are parsed reaches files that did not change on disk: ``IngestState`` parses every file
again when the version it stored differs. Nobody has to remember to bump a number.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from ingest.languages import LANGUAGES

_HERE = Path(__file__).parent
_LIBRARIES = ("markdown-it-py", "mdit-py-plugins", "python-frontmatter", "PyYAML", "tree-sitter",
              *sorted({spec.module.replace("_", "-") for spec in LANGUAGES.values()}))  # the grammars


@lru_cache(maxsize=1)
def parser_version() -> str:
    digest = hashlib.sha1()
    # Every module of ingest (a change to resolution alone costs one needless re-parse; a
    # parsing module left off a list would cost wrong graphs), every query, and the model.
    files = sorted(_HERE.glob("*.py")) + sorted((_HERE / "queries").glob("*.scm"))
    files.append(_HERE.parent / "kg" / "model.py")
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for name in _LIBRARIES:
        try:
            digest.update(f"{name}=={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name} missing".encode())
    return digest.hexdigest()[:16]
