# Atlas ASV — the two commands a newcomer needs: `make run` and `make test`.
PYTHON_SYS ?= python3
VENV       := .venv
PY         := $(VENV)/bin/python
DB         ?= $(or $(ATLAS_DB),data/atlas.duckdb)
PORT       ?= 8050
HOST       ?= 127.0.0.1
WORKERS    ?= 4
GUNICORN_OPTS ?=
CHROMIUM   ?= /usr/bin/chromium

.PHONY: run test data demo-files bench serve clean system-deps

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON_SYS) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# Build the demo DB when it is missing (or older than the demo files / ETL code).
$(DB): $(VENV)/.installed $(wildcard data/demo/*) $(wildcard etl/*.py etl/*.toml etl/*.sql etl/loaders/*.py etl/demo/*.py)
	$(PY) -m etl --db $(DB) build --demo

data: $(DB)

demo-files: $(VENV)/.installed
	$(PY) -m etl demo --dest data/demo

run: $(DB)
	ATLAS_DB=$(DB) $(PY) app.py --host $(HOST) --port $(PORT)

# Production-style serving: gunicorn, several workers, read-only DB (docs/deployment.md).
# Never (re)builds the DB: a base built from real data must not be replaced by the demo
# because some ETL file is newer than it.
serve: $(VENV)/.installed
	@test -f "$(DB)" || { echo "Base absente : $(DB). Construisez-la d'abord : make data (démo) ou python -m etl build --from DOSSIER."; exit 1; }
	ATLAS_DB=$(DB) exec $(VENV)/bin/gunicorn --workers $(WORKERS) --bind $(HOST):$(PORT) --timeout 120 $(GUNICORN_OPTS) app:server

# Debian's chromium drives the browser tests; install it when missing and we may.
system-deps:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core poppler-utils >/dev/null; \
	  else echo "Chromium absent : installez le paquet Debian « chromium » (sudo apt-get install chromium)"; exit 1; fi; \
	fi

test: $(VENV)/.installed system-deps
	$(PY) -m pytest -q -n 2 --dist loadgroup

# Benchmarks (under 10 minutes on 2 cores): builds its own DBs in a temp folder, writes docs/benchmarks.md.
bench: $(VENV)/.installed system-deps
	$(PY) tests/benchmarks/run.py

clean:
	rm -rf $(VENV) data/atlas.duckdb .pytest_cache
