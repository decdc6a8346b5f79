"""The console on the embedded store: reading statements only, in a process that can be killed.

Two things the read-only transaction alone does not give (both were exploited):

- **What a statement does** is decided by the database's own planner. The statement is
  prepared as ``EXPLAIN <statement>`` and every operator of the physical plan must be on
  an allow-list of operators that only read the graph; a table function must be on an
  allow-list of functions that only read the catalogue. Anything else is refused before
  it runs: ``LOAD FROM`` a file (``READ_CSV``, ``READ_PARQUET``...), ``COPY``, ``EXPORT`` /
  ``IMPORT DATABASE``, ``INSTALL`` / ``LOAD EXTENSION``, ``ATTACH``, ``CALL setting=...``,
  ``CHECKPOINT``, transaction control, and every write. An unknown operator is refused.
- **A time limit that holds.** LadybugDB checks its timeout and ``interrupt()`` only between
  chunks of work, so one huge expression (``UNWIND range(1, 400000000)``) runs on for tens
  of seconds. The statement therefore runs in a child process that opens the database
  read-only; the parent kills it when the limit has passed. The answer is capped in rows
  and in bytes (its rows as compact JSON).

The parent and the child speak JSON lines: the parent writes one request on stdin; the
child answers ``{"ready"}``, then ``{"columns"}``, one line per row, and ``{"done"}``, or an
``{"error"}`` line at any point.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import IO, Any, cast

from kg.errors import QueryError, QueryTimeout, ReadOnlyViolation, StoreUnavailable
from kg.store.base import QueryResult

# Physical operators that only read the graph (or compute over what was read).
READING_OPERATORS = frozenset({
    "RESULT_COLLECTOR", "PROJECTION", "FILTER", "FLATTEN", "LIMIT", "SKIP", "UNWIND",
    "SCAN_NODE_TABLE", "SCAN_REL_TABLE", "PRIMARY_KEY_SCAN_NODE_TABLE", "EMPTY_RESULT",
    "HASH_JOIN_BUILD", "HASH_JOIN_PROBE", "INTERSECT_BUILD", "INTERSECT", "CROSS_PRODUCT",
    "AGGREGATE", "AGGREGATE_FINALIZE", "AGGREGATE_SCAN", "ORDER_BY", "ORDER_BY_MERGE",
    "ORDER_BY_SCAN", "TOP_K", "TOP_K_SCAN", "UNION_ALL_SCAN", "RECURSIVE_EXTEND",
    "PATH_PROPERTY_PROBE", "SEMI_MASKER", "MULTIPLICITY_REDUCER", "OFFSET",
    "TABLE_FUNCTION_CALL",  # only with a function from READING_FUNCTIONS
    "DUMMY_SINK", "DUMMY_SIMPLE_SINK", "COUNT_REL_TABLE", "PARTITIONER",
})
# Table functions that read no file, setting or network: the catalogue and internal scans.
READING_FUNCTIONS = frozenset({
    "READ_FTABLE", "SHOW_TABLES", "TABLE_INFO", "SHOW_CONNECTION", "SHOW_FUNCTIONS",
    "DB_VERSION", "SHOW_INDEXES", "SHOW_WARNINGS",
})
STARTUP_LIMIT_S = 30.0  # opening the database in the child; beyond that it is stuck
BOX = "│┌┐└┘─┬┴├┤┼ "


def plan_steps(plan: str) -> list[tuple[str, str]]:
    """The operators of an ``EXPLAIN`` plan as ``(OPERATOR, function or "")``, top down.

    The plan is LadybugDB's own rendering: one box per operator, titled ``NAME[n]``; a
    ``TABLE_FUNCTION_CALL`` box carries a ``Function: NAME`` line.
    """
    steps: list[tuple[str, str]] = []
    for raw in plan.splitlines():
        line = raw.strip(BOX)
        if line.endswith("]") and "[" in line and " " not in line:
            name, _, index = line[:-1].partition("[")
            if index.isdigit() and name.replace("_", "").isalpha() and name.isupper():
                steps.append((name, ""))
        elif line.startswith("Function:") and steps:
            steps[-1] = (steps[-1][0], line.split(":", 1)[1].strip().upper())
    return steps


def check_plan(plan: str) -> None:
    """Refuse a plan that does anything but read the graph.

    Raises:
        ReadOnlyViolation: an operator or table function is not on the allow-lists (named).
    """
    steps = plan_steps(plan)
    if not steps:
        raise ReadOnlyViolation("the console only reads the graph: the database gave no plan for "
                                "this statement, so it was not run")
    for operator, function in steps:
        if operator not in READING_OPERATORS:
            raise ReadOnlyViolation(
                f"the console only reads the graph: the database plans this statement as "
                f"{operator}, which is refused (no writes, files, extensions, settings or "
                "transaction control)")
        if operator == "TABLE_FUNCTION_CALL" and function not in READING_FUNCTIONS:
            raise ReadOnlyViolation(
                f"the console only reads the graph: the table function {function or '?'} is "
                "refused (it reads files or settings, or is not on the console's allow-list)")


def run(db_path: Path, cypher: str, params: dict[str, Any], *, timeout_ms: int, max_rows: int,
        max_bytes: int) -> QueryResult:
    """Run one console statement in a child process over the database at ``db_path``.

    Raises:
        ReadOnlyViolation: the statement does more than read the graph.
        QueryTimeout: it ran past ``timeout_ms`` and was stopped.
        QueryError: the database rejected it (its message is kept).
        StoreUnavailable: the child could not open the database.
    """
    request = {"db": str(db_path), "query": cypher, "params": params, "timeout_ms": timeout_ms,
               "max_rows": max_rows, "max_bytes": max_bytes}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "kg.store.ladybug_console"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    stdin, stdout = cast(IO[bytes], proc.stdin), cast(IO[bytes], proc.stdout)
    killer = _Killer(proc)
    try:
        killer.arm(STARTUP_LIMIT_S)
        stdin.write(json.dumps(request).encode())
        stdin.close()
        ready = _message(stdout)
        if ready is None:
            raise StoreUnavailable(f"the console could not open the graph database at {db_path}")
        _raise_error(ready, timeout_ms)
        # Kill once the database's own timeout has had its chance to stop the statement.
        killer.arm(timeout_ms * 1.5 / 1000 + 0.3)
        result = _collect(stdout, killer, timeout_ms, max_bytes, started)
        result.columns = [column_name(c, cypher) for c in result.columns]
        return result
    finally:
        killer.cancel()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        stdout.close()


_LABEL_ARGS = re.compile(r"\b(LABEL)\((\w+)\._ID,\[[^\]]*\]\)", re.IGNORECASE)
_INTERNAL_ID = re.compile(r"\b(\w+)\._ID\b")


def column_name(column: str, cypher: str) -> str:
    """A result column as the user wrote it: the database names an unaliased expression by its
    rewritten form (``LABEL(e._ID,[,,CONTAINS,...])``, ``COUNT(s._ID)``); this undoes the
    rewriting and takes the spelling from the statement when it is there (``label(e)``).
    Only a display name: nothing here decides what runs."""
    name = _INTERNAL_ID.sub(r"\1", _LABEL_ARGS.sub(r"\1(\2)", column))
    if name in cypher:
        return name
    at = cypher.lower().find(name.lower())
    return cypher[at:at + len(name)] if at >= 0 else name


def _collect(stdout: IO[bytes], killer: _Killer, timeout_ms: int, max_bytes: int,
             started: float) -> QueryResult:
    head = _message(stdout)
    if head is None and killer.fired:
        raise QueryTimeout(f"the query ran past its time limit of {timeout_ms} ms and was stopped")
    _raise_error(head, timeout_ms)
    columns = list(head["columns"]) if head else []
    rows: list[list[Any]] = []
    size, truncated_by = 0, ""
    while True:
        line = stdout.readline()
        if not line:
            if killer.fired:
                raise QueryTimeout(f"the query ran past its time limit of {timeout_ms} ms and was stopped")
            raise QueryError("the console's query process ended without an answer")
        message = _decode(line)
        if isinstance(message, list):
            size += len(line)
            if size > max_bytes:  # the child stops first; this only guards the parent
                truncated_by = "bytes"
                break
            rows.append(message)
            continue
        _raise_error(message, timeout_ms)
        truncated_by = message.get("truncated_by", "")
        break
    return QueryResult(columns=columns, rows=rows, truncated_by=truncated_by,
                       elapsed_ms=(time.perf_counter() - started) * 1000)


def _message(stdout: IO[bytes]) -> dict[str, Any] | None:
    line = stdout.readline()
    return _decode(line) if line else None


def _decode(line: bytes) -> Any:
    try:
        return json.loads(line)
    except ValueError as exc:
        raise QueryError(f"the console's query process answered something unreadable: {line[:80]!r}") from exc


def _raise_error(message: dict[str, Any] | None, timeout_ms: int) -> None:
    if not message or "error" not in message:
        return
    kind, text = message["error"], message.get("message", "")
    if kind == "refused":
        raise ReadOnlyViolation(text)
    if kind == "timeout":
        raise QueryTimeout(f"the query ran past its time limit of {timeout_ms} ms and was stopped ({text})")
    if kind == "open":
        raise StoreUnavailable(text)
    raise QueryError(text)


class _Killer:
    """Kills the child when a deadline passes; remembers that it did."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.fired = False
        self._timer: threading.Timer | None = None

    def arm(self, seconds: float) -> None:
        self.cancel()
        self._timer = threading.Timer(seconds, self._kill)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _kill(self) -> None:
        self.fired = True
        if self.proc.poll() is None:
            self.proc.kill()


# -- the child ----------------------------------------------------------------------------

def _child() -> None:
    import kg.store.ladybug  # noqa: F401  (imported before "ready": the time limit is the query's alone)

    request = json.loads(sys.stdin.read())
    out = sys.stdout
    try:
        conn = _open(request["db"], request["timeout_ms"])
    except RuntimeError as exc:
        _send(out, {"error": "open", "message": f"cannot open the graph database at {request['db']}: {exc}"})
        return
    _send(out, {"ready": True})
    try:
        _answer(conn, request, out)
    except (ReadOnlyViolation, QueryError) as exc:
        _send(out, {"error": "refused" if isinstance(exc, ReadOnlyViolation) else "query", "message": str(exc)})
    except RuntimeError as exc:
        text = str(exc)
        kind = "timeout" if "Interrupted" in text or "timeout" in text.lower() else "query"
        _send(out, {"error": kind, "message": text})


def _open(db: str, timeout_ms: int) -> Any:
    import ladybug

    database = ladybug.Database(db, read_only=True, buffer_pool_size=256 * 1024 * 1024)
    conn = ladybug.Connection(database)
    conn.set_query_timeout(timeout_ms)
    return conn


def _answer(conn: Any, request: dict[str, Any], out: IO[str]) -> None:
    from kg.store.ladybug import jsonable

    params = request["params"] or {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        explained = conn.prepare("EXPLAIN " + request["query"])  # one statement: the DB refuses several
        if not explained.is_success():
            raise _refusal_or_error(explained.get_error_message())
        check_plan(str(conn.execute(explained, params).get_next()[0]))
        prepared = conn.prepare(request["query"])
        if not prepared.is_success():
            raise QueryError(prepared.get_error_message())
        result = conn.execute(prepared, params)
    _send(out, {"columns": result.get_column_names()})
    size, count, truncated_by = 0, 0, ""
    while result.has_next():
        if count >= request["max_rows"]:
            truncated_by = "rows"
            break
        line = json.dumps(jsonable(result.get_next()), default=str, separators=(",", ":"))
        size += len(line.encode()) + 1
        if size > request["max_bytes"]:
            truncated_by = "bytes"
            break
        out.write(line + "\n")
        count += 1
    _send(out, {"done": True, "truncated_by": truncated_by})


def _refusal_or_error(message: str) -> QueryError:
    # The child's database is opened read-only, so the binder itself refuses a write.
    if "read-only database" in message:
        return ReadOnlyViolation(f"the console only reads the graph: {message}")
    return QueryError(message)


def _send(out: IO[str], message: dict[str, Any]) -> None:
    out.write(json.dumps(message, default=str) + "\n")
    out.flush()


if __name__ == "__main__":
    _child()
