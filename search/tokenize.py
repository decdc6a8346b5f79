"""A tokenizer that understands code: ``getUserName``, ``get_user_name`` and ``user name`` meet.

Both indexed text and queries go through ``code_tokens``: words are split at
camelCase humps, underscores, and letter/digit boundaries, lower-cased, and a joined
identifier is also kept whole (``getusername``), so an exact identifier still ranks first.
The result is handed to SQLite FTS5 as plain space-separated words; FTS5's porter stemmer
then folds ``retries``/``retry``. ``stem`` is a light Python stemmer used only to say which
query words matched a result.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORD = re.compile(r"[^\W_]+(?:_+[^\W_]+)*", re.UNICODE)
_PIECE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_DIGITS = re.compile(r"[0-9]+|[^0-9]+")

STOPWORDS = frozenset("""
a an and are as at be by do does for from how i in is it of on or that the this to was what
when where which who why with can should my me we you your into about via vs not no
""".split())


def split_identifier(word: str) -> list[str]:
    """Split one identifier into lower-case pieces: ``parseHTTPResponse2`` → parse, http, response, 2."""
    pieces: list[str] = []
    for part in word.split("_"):
        if not part:
            continue
        # Only ASCII words are split at case changes; other scripts only at digits.
        found = _PIECE.findall(part) if part.isascii() else _DIGITS.findall(part)
        pieces.extend(p.lower() for p in found or [part])
    return pieces


def code_tokens(text: str, *, keep_joined: bool = True) -> list[str]:
    """Tokens for indexing or querying, in order.

    Args:
        text: any text or code.
        keep_joined: also emit a multi-piece identifier joined (``get_user_name`` →
            get, user, name, getusername).

    Returns:
        Lower-case tokens; pieces of every word, then the joined form after them.
    """
    out: list[str] = []
    for match in _WORD.finditer(text):
        word = match.group(0)
        pieces = split_identifier(word)
        out.extend(pieces)
        if keep_joined and len(pieces) > 1:
            out.append("".join(pieces))
    return out


def query_terms(query: str) -> list[str]:
    """The distinct search terms of a query, stop words dropped (kept when nothing else is left)."""
    tokens = list(dict.fromkeys(code_tokens(query)))
    content = [t for t in tokens if t not in STOPWORDS]
    return content or tokens


def fts_query(terms: Iterable[str]) -> str:
    """An FTS5 MATCH expression that ORs the terms (each quoted, so no term is an operator)."""
    quoted = ['"' + t.replace('"', '""') + '"' for t in terms if t]
    return " OR ".join(quoted)


def stem(token: str) -> str:
    """A light suffix-stripping stemmer (plural, -ing, -ed), for explaining matches only."""
    for suffix, repl in (("ies", "y"), ("ied", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            if suffix == "s" and token.endswith("ss"):
                return token
            return token[: len(token) - len(suffix)] + repl
    return token


def stems(text_tokens: Iterable[str]) -> frozenset[str]:
    """The stems of a text's distinct tokens (compute once per text, match many queries)."""
    return frozenset(stem(t) for t in set(text_tokens))


def matched_terms(terms: Iterable[str], text_tokens: Iterable[str] | frozenset[str]) -> list[str]:
    """The query terms that occur in a text's tokens (stemmed comparison), in query order.

    Args:
        terms: query terms.
        text_tokens: the text's tokens, or their ``stems`` already computed.
    """
    have = text_tokens if isinstance(text_tokens, frozenset) else stems(text_tokens)
    return [t for t in terms if stem(t) in have]


def shown_matches(query: str, matched: Iterable[str]) -> list[str]:
    """The query's own words that matched, for a reason a user reads.

    ``getUserName`` is shown whole when its joined form or all its pieces matched; when only
    some pieces did, those pieces are shown.
    """
    have = set(matched)
    out: list[str] = []
    for found in _WORD.finditer(query):
        word = found.group(0)
        pieces = [p for p in split_identifier(word) if p not in STOPWORDS or len(have) == 0]
        if not pieces:
            continue
        joined = "".join(split_identifier(word))
        if joined in have or all(p in have for p in pieces):
            shown = [word]
        else:
            shown = [p for p in pieces if p in have]
        out.extend(s for s in shown if s not in out)
    return out
