"""The code-aware tokenizer: identifiers in any case style meet plain words."""

from __future__ import annotations

from search.tokenize import code_tokens, fts_query, matched_terms, query_terms, shown_matches, split_identifier


def test_camel_snake_and_words_share_pieces() -> None:
    camel, snake, words = code_tokens("getUserName"), code_tokens("get_user_name"), code_tokens("user name")
    assert {"user", "name"} <= set(camel) & set(snake) & set(words)
    assert "getusername" in camel and "getusername" in snake  # the whole identifier is kept too


def test_acronyms_and_digits_are_split() -> None:
    assert split_identifier("parseHTTPResponse2") == ["parse", "http", "response", "2"]
    assert split_identifier("IOError") == ["io", "error"]


def test_non_ascii_words_stay_whole() -> None:
    assert code_tokens("naïve café") == ["naïve", "café"]


def test_query_terms_drop_stop_words_unless_nothing_is_left() -> None:
    assert query_terms("how do I retry with backoff") == ["retry", "backoff"]
    assert query_terms("the") == ["the"]


def test_fts_query_quotes_terms_so_operators_are_words() -> None:
    assert fts_query(["not", 'a"b']) == '"not" OR "a""b"'


def test_matches_are_stemmed_and_shown_as_the_user_typed_them() -> None:
    assert matched_terms(["retries", "backoff"], ["retry", "later"]) == ["retries"]
    assert shown_matches("getUserName", ["getusername"]) == ["getUserName"]
    assert shown_matches("user names", ["user"]) == ["user"]
