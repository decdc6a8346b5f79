"""Every `kg` command in the README, run as written on the bundled example.

The README's shell blocks are read here, so a command added there is run (or must be named
below with the reason it is only parsed). The bundled example is what `make run` ingests:
the docs/ vault and this repository's code, copied to a temporary folder. `kg serve` (as
written, with KG_PORT=0) owns that database, so every other command goes through it, as a
user's would while the server runs; `~/Notes` and `~/src/myapp` are the test vault and the
Python fixture repository under a temporary home.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Commands only parsed (options and arguments checked by kg's own parser), with the reason.
PARSED_ONLY = {
    "kg train": "15 minutes of CPU by design; `kg train --static --minutes 1` runs",
    "kg train --promote-if-better": "15 minutes of CPU by design (tests/embed/test_cli_train.py promotes a tiny model)",
    "kg train --queries my-queries.jsonl": "15 minutes of CPU by design; my-queries.jsonl is the user's file",
    "kg train --from-scratch --layers 2 --hidden 128": "minutes of CPU (tests/embed trains a tiny one)",
    "kg train --base path/to/model --device cuda": "needs a GPU and the user's model directory",
    "kg serve --watch": "one server per database: `kg serve` runs here, tests/app/test_live.py watches",
    "KG_TOKEN=secret kg serve --host 0.0.0.0": "binds every interface; tests/web/test_security.py checks the token rule",
    "kg --backend neo4j --neo4j-uri bolt://localhost:7687 ingest ~/Notes":
        "needs a Neo4j server (tests/kg/test_real_neo4j.py runs the Bolt path against ArcadeDB)",
    "kg migrate --to neo4j": "needs a Neo4j server, and the database to itself",
}
SERVE = "kg serve"


def readme_commands() -> list[str]:
    """Every line of the README's bash blocks that runs kg, without its comment."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = re.split(r"\s{2,}#", line)[0].strip()  # the README sets comments off by two spaces
            if line.startswith("kg ") or re.match(r"[A-Z_]+=\S+ kg ", line):
                lines.append(line)
    return lines


def expand_options(line: str) -> str:
    """``[--format jsonl|csv|parquet]`` → ``--format jsonl``: the first choice of each optional part."""
    return re.sub(r"\[(--[^\]]+)\]", lambda m: m.group(1).split("|")[0], line)


def words_of(line: str, home: Path) -> list[str]:
    words = shlex.split(line.replace("\\$", "$"), comments=True)
    return [str(home / w[2:]) if w.startswith("~/") else w for w in words]


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    base = tmp_path_factory.mktemp("readme")
    work, home, db = base / "kg", base / "home", base / "db"
    shutil.copytree(REPO, work, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".kg", "__pycache__", "*.egg-info", ".pytest_cache", ".hypothesis", "node_modules", "build",
        "dist", "test-output"))
    shutil.copytree(FIXTURES / "vault", home / "Notes")
    shutil.copytree(FIXTURES / "code" / "python", home / "src" / "myapp")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}  # the README's defaults, not the shell's
    env.update({"HOME": str(home), "KG_DB": str(db), "KG_PORT": "0", "KG_TORCH_THREADS": "1",
                "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(REPO)})
    log = (base / "serve.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "app.main", *words_of(SERVE, home)[1:]], cwd=work, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        up = wait_for(lambda: (db / "server.json").exists() or server.poll() is not None, 120)
        assert up and server.poll() is None, (base / "serve.log").read_text()
        yield {"work": work, "home": home, "env": env, "db": db}
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def run(example: dict[str, object], words: list[str]) -> subprocess.CompletedProcess[str]:
    env = dict(example["env"])  # type: ignore[call-overload]
    while words and "=" in words[0] and words[0].split("=")[0].isupper():
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    assert words[0] == "kg"
    return subprocess.run([sys.executable, "-m", "app.main", *words[1:]], cwd=example["work"], env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_readme_lists_no_command_this_test_does_not_know() -> None:
    commands = readme_commands()
    assert len(commands) > 20 and SERVE in commands
    assert set(PARSED_ONLY) <= set(commands), "a parsed-only command is gone from the README: drop it here"


def test_every_readme_command_runs_as_written_on_the_bundled_example(example: dict[str, object]) -> None:
    home = example["home"]
    ran = []
    for line in readme_commands():
        if line in PARSED_ONLY or line == SERVE:
            continue
        line = expand_options(line)
        if "promote NAME" in line:  # the model `kg train --static --minutes 1` registered above
            models = json.loads(run(example, ["kg", "models", "--json"]).stdout)
            line = line.replace("NAME", models[-1]["name"])
        done = run(example, words_of(line, home))  # type: ignore[arg-type]
        assert done.returncode == 0, f"`{line}` failed:\n{done.stderr}\n{done.stdout}"
        assert done.stdout.strip(), f"`{line}` printed nothing"
        ran.append((line, done.stdout))
    def output(start: str) -> str:
        return next(text for line, text in ran if line.startswith(start))

    assert '"label(e)"' in output('kg cypher "MATCH (n:Note {name')  # the column as written
    assert "# Search" in output("kg show") or "Search.md" in output("kg show")
    assert output("kg models promote").startswith("promoted ")
    assert "kg/" in output('kg search "retry') or "docs/" in output('kg search "retry')
    assert all(re.search(r"^rrf .*\n(.*\n)*^kg ", text, flags=re.M) for line, text in ran if line.startswith("kg eval"))
    assert (example["work"] / "triplets.jsonl").stat().st_size > 0  # type: ignore[operator]


@pytest.mark.parametrize("line", sorted(PARSED_ONLY))
def test_commands_not_run_here_still_parse(line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import click

    from app.main import main

    monkeypatch.chdir(tmp_path)  # the user's own files, as placeholders
    (tmp_path / "Notes").mkdir()
    (tmp_path / "path" / "to" / "model").mkdir(parents=True)
    (tmp_path / "my-queries.jsonl").write_text('{"id": "q", "query": "retry", "relevant": ["x"]}\n')
    words = words_of(line, tmp_path)
    while "=" in words[0]:
        words.pop(0)
    ctx = main.make_context("kg", words[1:])
    with ctx:
        name, command, rest = main.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
        assert command is not None, line
        sub = command.make_context(name or "", rest, parent=ctx)
        assert isinstance(sub, click.Context)
