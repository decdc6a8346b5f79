"""Which language a source file is in, and the tree-sitter grammar and query for it.

Grammars come from the individual ``tree-sitter-<lang>`` packages (wheels with the compiled
grammar inside); nothing is downloaded at run time. What a language *means* to the code
graph lives in ``ingest/queries/<name>.scm``; the few facts a query cannot express are the
fields of ``LanguageSpec`` below, and they are data, not branches in the parser.
"""

from __future__ import annotations

import importlib
import logging
import re
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
        modules: how an import names what it imports, for languages without a finder of their
            own in ``ingest.code_modules``: ``"package"`` (a package or namespace that files
            declare with ``@file.package``: Java, C#, PHP) or ``"path"`` (a file path, relative to
            the importing file or to any folder of the root: C/C++ ``#include``, Ruby ``require``).
        module_separator: how an import writes the parts of a module (``\\`` in PHP).
        module_extensions: the file extensions a ``"path"`` import may leave out or name.
        imports_all: whether an import brings every name of the imported file into scope
            (``#include``, ``require``) rather than the names it lists.
        global_functions: whether a function name is global across the program (C linkage), so
            a call to the one function of that name in the root is resolved by that rule.
        super_names: receivers that mean "the base class" (``super()``, ``super``, ``base``).
        members_in_scope: whether a method sees its class's members by their bare names
            (Java, C#, C++, Ruby: ``log()`` in a method is ``this.log()``; not Python or JS).
        member_prefix: how the language marks a variable of the object (Ruby's ``@log``).
        outer_members: whether a nested class also sees the members of the classes around it
            (Java, C#, C++; not Ruby, whose nested module does not see its class's methods).
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
    modules: str = ""
    module_separator: str = "."
    module_extensions: tuple[str, ...] = ()
    imports_all: bool = False
    global_functions: bool = False
    super_names: tuple[str, ...] = ()
    members_in_scope: bool = False
    member_prefix: str = ""
    outer_members: bool = False


_C_EXTENSIONS = (".h", ".c", ".hpp", ".hh", ".hxx", ".cpp", ".cc", ".cxx")

LANGUAGES: dict[str, LanguageSpec] = {
    "python": LanguageSpec("python", "tree_sitter_python", family="python", self_names=("self", "cls"),
                           comment_docs=False, dotted_relative=True, super_names=("super()",)),
    "javascript": LanguageSpec("javascript", "tree_sitter_javascript", family="javascript",
                               self_names=("this",), super_names=("super",)),
    "typescript": LanguageSpec("typescript", "tree_sitter_typescript", "language_typescript",
                               family="javascript", self_names=("this",), super_names=("super",)),
    "tsx": LanguageSpec("tsx", "tree_sitter_typescript", "language_tsx", family="javascript",
                        self_names=("this",), super_names=("super",), query_file="typescript"),
    "go": LanguageSpec("go", "tree_sitter_go", family="go"),
    "rust": LanguageSpec("rust", "tree_sitter_rust", family="rust", self_names=("self", "Self"),
                         path_separator="::"),
    "java": LanguageSpec("java", "tree_sitter_java", family="java", self_names=("this",), modules="package",
                         super_names=("super",), members_in_scope=True, outer_members=True),
    "csharp": LanguageSpec("csharp", "tree_sitter_c_sharp", family="csharp", self_names=("this",),
                           modules="package", super_names=("base",), members_in_scope=True, outer_members=True),
    "c": LanguageSpec("c", "tree_sitter_c", family="c", modules="path", module_separator="/",
                      module_extensions=_C_EXTENSIONS, imports_all=True, global_functions=True),
    "cpp": LanguageSpec("cpp", "tree_sitter_cpp", family="c", self_names=("this",), path_separator="::",
                        modules="path", module_separator="/", module_extensions=_C_EXTENSIONS,
                        imports_all=True, members_in_scope=True, outer_members=True),
    "ruby": LanguageSpec("ruby", "tree_sitter_ruby", family="ruby", self_names=("self",), comment_docs=True,
                         path_separator="::", modules="path", module_separator="/",
                         module_extensions=(".rb",), imports_all=True, members_in_scope=True,
                         member_prefix="@"),
    "php": LanguageSpec("php", "tree_sitter_php", "language_php", family="php", self_names=("$this", "self", "static"),
                        path_separator="::", modules="package", module_separator="\\", super_names=("parent",)),
}

EXTENSIONS: dict[str, str] = {
    ".py": "python", ".pyi": "python",
    ".js": "javascript", ".jsx": "javascript", ".mjs": "javascript", ".cjs": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".cs": "csharp",
    ".c": "c", ".h": "c",
    ".cpp": "cpp", ".cc": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp",
    ".rb": "ruby",
    ".php": "php",
}


# Extensions two languages share: the other language when the text shows it (C++ headers
# named .h), after GitHub linguist's heuristics. Read only the first 64 kB.
SHARED_EXTENSIONS: dict[str, tuple[str, re.Pattern[bytes]]] = {
    ".h": ("cpp", re.compile(
        rb"^[ \t]*#[ \t]*include[ \t]*<(?:cstdint|cstddef|cstring|string|string_view|vector|map|set|list|array|"
        rb"memory|functional|utility|algorithm|unordered_map|unordered_set|optional|tuple|(?:i|o|io)stream)>"
        rb"|^[ \t]*template[ \t]*<|^[ \t]*(?:class|(?:using[ \t]+)?namespace)[ \t]+\w+"
        rb"|^[ \t]*(?:private|public|protected):[ \t]*$|\bstd::\w+", re.M)),
}


def language_for(path: str, source: bytes | None = None) -> str | None:
    """The language of a source file, from its extension (and its text, for a shared one).

    Args:
        path: a file path (only the suffix is read).
        source: the file's bytes, to tell apart languages that share an extension (a ``.h``
            header is C++ when it declares a class, a namespace or a template).

    Returns:
        A key of ``LANGUAGES`` (``"python"``, ``"tsx"``...), or None for other files.
    """
    suffix = PurePosixPath(path).suffix.lower()
    shared = SHARED_EXTENSIONS.get(suffix)
    if shared is not None and source is not None and shared[1].search(source[:65536]):
        return shared[0]
    return EXTENSIONS.get(suffix)


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
