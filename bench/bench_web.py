"""Benchmark: /api/search latency through the real HTTP server, idle and while an ingest runs.

Graphs:
  example  tests/fixtures/vault + docs/, ingested by the real pipeline.
  10k      a generated vault of 1,666 notes, each a title heading and four sections (six
           nodes a note: ~10,000 nodes, ~6,700 links), written as Markdown and ingested by
           the real pipeline.

For each graph the app runs in this process on a threaded werkzeug server (127.0.0.1, a
free port), over a read-write LadybugStore, exactly as ``create_app`` wires it. Clients are
threads issuing GET /api/search over HTTP (keep-alive off, as browsers' fetches mostly are
on a fresh page), 1 and 8 at a time.

"While an ingest runs": LadybugDB allows one read-write process, so the ingest runs in the
same process: a thread calls ``Pipeline.ingest`` over and over on a separate "churn" root
(300 notes, every note rewritten before each round, so each round parses and writes),
through the same store the server reads. Search latency is measured while that thread is
busy; the number of ingest rounds completed is reported.

The encoder is the tiny deterministic test encoder (``--encoder tiny``, default: the
benchmark is about the web path, not the model) or the general model (``--encoder general``).

Usage: python -m bench.bench_web [--requests 200] [--out bench/out/web.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("bench_web")

REPO = Path(__file__).resolve().parents[1]
WORDS = ("retry backoff jitter graph embedding vector search index note link heading cache queue "
         "token parser schema migration latency throughput replica shard lease timeout").split()


@dataclass
class Run:
    graph: str
    nodes: int
    clients: int
    ingest: bool
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    mean_ms: float
    rps: float
    ingest_rounds: int = 0


def generate_vault(folder: Path, notes: int, seed: int = 0) -> None:
    """``notes`` notes, a title and four section headings each, with wikilinks between random notes."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(notes):
        lines = [f"# Note {i}", "", f"About {' '.join(rng.sample(WORDS, 4))}. Tag #topic/{i % 17}.", ""]
        for h in range(4):
            other = rng.randrange(notes)
            lines += [f"## Section {h} of {i}", "",
                      f"{' '.join(rng.sample(WORDS, 6))} see [[Note {other}]].", ""]
        (folder / f"Note {i}.md").write_text("\n".join(lines), encoding="utf-8")


def churn(folder: Path, round_: int, notes: int = 300) -> None:
    """Rewrite every churn note so the next ingest round has work to do."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(notes):
        text = f"# Churn {i}\n\nRound {round_}: {WORDS[(i + round_) % len(WORDS)]} and [[Churn {(i + 1) % notes}]].\n"
        (folder / f"Churn {i}.md").write_text(text, encoding="utf-8")


def build(db: Path, roots: list[tuple[str, Path]], encoder: Any) -> Any:
    """Ingest ``roots`` into a fresh store at ``db`` and sync the search index."""
    from ingest.pipeline import Pipeline
    from kg.store.ladybug import LadybugStore
    from search.index import SearchIndex

    store = LadybugStore.open(db / "graph")
    store.migrate()
    started = time.perf_counter()
    pipeline = Pipeline(store, db / "ingest.sqlite")
    pipeline.ingest(roots)
    pipeline.close()
    SearchIndex.open(db / "search").sync(store, encoder)
    log.info("built %s in %.1fs", db, time.perf_counter() - started)
    return store


class Server:
    """The app on a free port, in a thread."""

    def __init__(self, app: Any) -> None:
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(5)


def one_request(url: str, query: str) -> tuple[float, bool]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(f"{url}/api/search?{urllib.parse.urlencode({'q': query, 'k': 10})}",
                                    timeout=30) as response:
            ok = response.status == 200 and json.loads(response.read())["ok"] is True
    except (urllib.error.URLError, OSError, ValueError):
        ok = False
    return (time.perf_counter() - started) * 1000, ok


def load(url: str, clients: int, requests: int, seed: int = 1) -> tuple[list[float], int, float]:
    rng = random.Random(seed)
    queries = [" ".join(rng.sample(WORDS, rng.randint(1, 3))) for _ in range(requests)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(lambda q: one_request(url, q), queries))
    wall = time.perf_counter() - started
    return [ms for ms, _ in results], sum(1 for _, ok in results if not ok), wall


class Ingester(threading.Thread):
    """Re-ingests the churn root in a loop through the server's store until stopped."""

    def __init__(self, store: Any, db: Path, folder: Path) -> None:
        super().__init__(daemon=True)
        self.store, self.db, self.folder = store, db, folder
        self.stop = threading.Event()
        self.rounds = 0
        self.failures = 0

    def run(self) -> None:
        from ingest.pipeline import Pipeline

        pipeline = Pipeline(self.store, self.db / "ingest.sqlite")
        try:
            while not self.stop.is_set():
                churn(self.folder, self.rounds)
                try:
                    pipeline.ingest([("churn", self.folder)])
                    self.rounds += 1
                except Exception:  # counted and reported: the benchmark must finish
                    self.failures += 1
                    log.exception("ingest round failed")
        finally:
            pipeline.close()


def measure(name: str, db: Path, store: Any, encoder: Any, requests: int, base: Path) -> list[Run]:
    from kg.settings import Settings
    from search.engine import Searcher
    from search.index import SearchIndex
    from web import create_app

    searcher = Searcher(store, SearchIndex.open(db / "search"), encoder)
    app = create_app(Settings(db=db), store=store, searcher=searcher)
    server = Server(app)
    nodes = store.counts().as_dict()["total_nodes"]
    runs = []
    try:
        load(server.url, 2, 20)  # warm up: the searcher loads its vectors on first use
        for ingest in (False, True):
            ingester = Ingester(store, db, base / f"churn-{name}") if ingest else None
            if ingester:
                ingester.start()
                time.sleep(1.0)
            for clients in (1, 8):
                times, errors, wall = load(server.url, clients, requests)
                runs.append(Run(graph=name, nodes=nodes, clients=clients, ingest=ingest, requests=len(times),
                                errors=errors, p50_ms=round(statistics.median(times), 1),
                                p95_ms=round(statistics.quantiles(times, n=20)[18], 1),
                                mean_ms=round(statistics.fmean(times), 1), rps=round(len(times) / wall, 1),
                                ingest_rounds=ingester.rounds if ingester else 0))
                log.info("%s", runs[-1])
            if ingester:
                ingester.stop.set()
                ingester.join(120)
    finally:
        server.close()
    return runs


def encoder_for(name: str) -> Any:
    if name == "general":
        from embed.encoder import load_encoder

        return load_encoder(None)
    from tests.support.encoders import tiny_encoder

    return tiny_encoder()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="Requests per measurement.")
    parser.add_argument("--notes", type=int, default=1666, help="Notes in the generated graph (6 nodes each).")
    parser.add_argument("--encoder", choices=("tiny", "general"), default="tiny")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "web.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    encoder = encoder_for(args.encoder)
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="kg-bench-web-") as tmp:
        base = Path(tmp)
        example = build(base / "example", [("vault", REPO / "tests" / "fixtures" / "vault"),
                                           ("docs", REPO / "docs")], encoder)
        runs += measure("example", base / "example", example, encoder, args.requests, base)
        example.close()
        generate_vault(base / "gen", args.notes)
        big = build(base / "big", [("gen", base / "gen")], encoder)
        runs += measure(f"{round(args.notes * 6 / 1000)}k", base / "big", big, encoder, args.requests, base)
        big.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps([asdict(r) for r in runs], indent=2), encoding="utf-8")
    header = f"{'graph':8} {'nodes':>6} {'clients':>7} {'ingest':>6} {'p50 ms':>7} {'p95 ms':>7} {'req/s':>6} {'errors':>6} {'rounds':>6}"
    lines = [header] + [f"{r.graph:8} {r.nodes:6} {r.clients:7} {str(r.ingest):>6} {r.p50_ms:7.1f} {r.p95_ms:7.1f} "
                        f"{r.rps:6.1f} {r.errors:6} {r.ingest_rounds:6}" for r in runs]
    log.info("results (%s):\n%s", args.out, "\n".join(lines))


if __name__ == "__main__":
    main()
