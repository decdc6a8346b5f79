"""Which language a source file is in, and the tree-sitter grammar and query for it.

Grammars come from the individual ``tree-sitter-<lang>`` packages (wheels with the compiled
grammar inside); nothing is downloaded at run time. What a language *means* to the code
graph lives in ``ingest/queries/<name>.scm``; the few facts a query cannot express are the
fields of ``LanguageSpec`` below, and they are data, not branches in the parser.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath

from tree_sitter import Language, Parser, Query

from kg.errors import IngestError

log = logging.getLogger(__name__)

QUERY_DIR = Path(__file__).parent / "queries"


@dataclass(frozen=True)
class LanguageSpec:
    """What the language-agnostic parser needs to know about one language.

    Attributes:
        name: the language name stored on nodes (``lang``) and the query file's stem.
        module: the Python package that holds the compiled grammar.
        function: the function of ``module`` that returns the grammar pointer.
        family: languages that resolve imports alike share a family (``ts`` and ``tsx``
            resolve like ``javascript``).
        self_names: receiver names that mean "the enclosing class" in a call (``self.x``).
        comment_docs: whether the comment block right above a definition is its doc.
        dotted_relative: whether a module written with leading dots is relative to the
            importing package (Python: ``from ..pkg import x`` has level 2).
        path_separator: how the language writes a path inside a name (``::`` in Rust).
        query_file: the stem of its query file when it shares another's (TSX uses TypeScript's).
    """

    name: str
    module: str
    function: str = "language"
    family: str = ""
    self_names: tuple[str, ...] = ()
    comment_docs: bool = True
    dotted_relative: bool = False
    path_separator: str = "."
    query_file: str = ""


LANGUAGES: dict[str, LanguageSpec] = {
    "python": LanguageSpec("python", "tree_sitter_python", family="python", self_names=("self", "cls"),
                           comment_docs=False, dotted_relative=True),
    "javascript": LanguageSpec("javascript", "tree_sitter_javascript", family="javascript",
                               self_names=("this",)),
    "typescript": LanguageSpec("typescript", "tree_sitter_typescript", "language_typescript",
                               family="javascript", self_names=("this",)),
    "tsx": LanguageSpec("tsx", "tree_sitter_typescript", "language_tsx", family="javascript",
                        self_names=("this",), query_file="typescript"),
    "go": LanguageSpec("go", "tree_sitter_go", family="go"),
    "rust": LanguageSpec("rust", "tree_sitter_rust", family="rust", self_names=("self", "Self"),
                         path_separator="::"),
}

EXTENSIONS: dict[str, str] = {
    ".py": "python", ".pyi": "python",
    ".js": "javascript", ".jsx": "javascript", ".mjs": "javascript", ".cjs": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
}


def language_for(path: str) -> str | None:
    """The language of a source file, from its extension.

    Args:
        path: a file path (only the suffix is read).

    Returns:
        A key of ``LANGUAGES`` (``"python"``, ``"tsx"``...), or None for other files.
    """
    return EXTENSIONS.get(PurePosixPath(path).suffix.lower())


@lru_cache(maxsize=None)
def grammar(name: str) -> Language:
    """The tree-sitter ``Language`` for a language name.

    Raises:
        IngestError: the language is unknown or its grammar package is not installed.
    """
    spec = _spec(name)
    try:
        module = importlib.import_module(spec.module)
    except ImportError as exc:
        raise IngestError(f"the grammar for {name} is missing: pip install "
                          f"{spec.module.replace('_', '-')}") from exc
    return Language(getattr(module, spec.function)())


@lru_cache(maxsize=None)
def query(name: str) -> Query:
    """The compiled tag query of ``ingest/queries/<name>.scm``.

    Raises:
        IngestError: the query file is missing or does not compile against the grammar.
    """
    path = QUERY_DIR / f"{spec(name).query_file or name}.scm"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise IngestError(f"cannot read the query file {path}: {exc.strerror or exc}") from exc
    try:
        return Query(grammar(name), text)
    except Exception as exc:  # tree_sitter.QueryError and friends: report the file
        raise IngestError(f"{path} does not compile: {exc}") from exc


def parser(name: str) -> Parser:
    """A new tree-sitter ``Parser`` for a language (parsers are cheap; not shared)."""
    return Parser(grammar(name))


def spec(name: str) -> LanguageSpec:
    """The ``LanguageSpec`` of a language name.

    Raises:
        IngestError: the name is not in ``LANGUAGES``.
    """
    return _spec(name)


def _spec(name: str) -> LanguageSpec:
    try:
        return LANGUAGES[name]
    except KeyError:
        raise IngestError(f"no code parser for language {name!r}; known: "
                          f"{', '.join(sorted(LANGUAGES))}") from None
