"""The feedback log: searches, opens, dwell, judgements."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.errors import ConfigError
from kg.feedback import FeedbackLog, Judgement


def test_judgements_skip_what_was_above_the_open(tmp_path: Path) -> None:
    log = FeedbackLog.open(tmp_path / "feedback.sqlite")
    sid = log.record_search("retry backoff", ["a", "b", "c", "d"])
    log.record_open(sid, "c", 2)
    open_id = log.record_open(sid, "a", 0)
    log.record_dwell(open_id, 4_000)
    got = list(log.judgements())
    assert got == [Judgement("retry backoff", "c", ["b"], 2, None),
                   Judgement("retry backoff", "a", [], 0, 4_000)]
    assert log.counts() == {"searches": 1, "opens": 2}


def test_the_log_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite"
    log = FeedbackLog.open(path)
    log.record_open(log.record_search("q", ["x", "y"]), "y", 1)
    log.close()
    assert [j.opened for j in FeedbackLog.open(path).judgements()] == ["y"]


def test_position_comes_from_the_logged_results(tmp_path: Path) -> None:
    log = FeedbackLog.open(tmp_path / "f.sqlite")
    sid = log.record_search("q", ["x", "y", "z"])
    log.record_open(sid, "z", 0)  # the client got it wrong: the log knows z was third
    assert next(log.judgements()).position == 2


def test_bad_events_are_refused(tmp_path: Path) -> None:
    log = FeedbackLog.open(tmp_path / "f.sqlite")
    with pytest.raises(ConfigError, match="no search has id"):
        log.record_open(99, "x", 0)
    sid = log.record_search("q", ["x"])
    with pytest.raises(ConfigError, match="not among the results"):
        log.record_open(sid, "elsewhere", 0)
    with pytest.raises(ConfigError, match="1 to"):
        log.record_search("   ", ["x"])
    with pytest.raises(ConfigError, match="at most"):
        log.record_search("q", [str(i) for i in range(101)])
    with pytest.raises(ConfigError, match="no opened result"):
        log.record_dwell(42, 10)
