# kg: two commands do everything on a fresh machine.
#   make run   set up, ingest the bundled example (docs/ vault + this repository's code), serve the UI
#   make test  set up, run the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
KG := $(VENV)/bin/kg
STAMP := $(VENV)/.installed
DB ?= .kg
HOST ?= 127.0.0.1
PORT ?= 5000
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup run example test browser bench static clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned: a bare requirement pulls a multi-GB CUDA build on CPU machines
	$(PY) -m pip install --quiet torch==2.13.0
	# -qq: setuptools reports every editable install of a flat layout with a warning banner
	$(PY) -m pip install -qq -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# The example: the docs vault and the code of this repository (see .kgignore).
example: setup
	$(KG) --db $(DB) ingest docs . --name docs --name kg
	$(KG) --db $(DB) stats
	$(KG) --db $(DB) cypher "MATCH (s)-[:LINKS_TO]->(m:Note) RETURN m.name AS note, count(s) AS backlinks ORDER BY backlinks DESC LIMIT 5"

run: example
	$(KG) --db $(DB) serve --host $(HOST) --port $(PORT)

# Headless Chromium for the browser tests (Debian packages; needs root, as on CI).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	  || echo "warning: could not install chromium; browser tests will be skipped"; fi

# The layer rule first (contracts in pyproject.toml), then every test.
test: setup browser
	$(VENV)/bin/lint-imports --no-logo --no-cache
	$(PY) -m pytest -q

# The main benchmarks (minutes each); the others are listed in README.md.
bench: setup
	$(PY) bench/bench_ingest.py
	$(PY) -m bench.bench_code

# Re-vendor cytoscape.js from npm (the vendored copy is committed; only needed to upgrade it).
static:
	bash web/build_static.sh

clean:
	rm -rf $(VENV) $(DB) .pytest_cache test-output
