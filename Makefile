# eventflow: `make run` sets everything up and serves the demo; `make test` sets up and runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
HOST   ?= 127.0.0.1
PORT   ?= 5000
# demo only: every demo user gets this password (README lists them)
DEMO_PASSWORD ?= eventflow-demo
# the demo's month of simulated history (eventflow simulate, engine/simulation.py): a small month, so the
# set-up stays within a couple of minutes (about 3 reports/s on one core); only into a database with no events
SIM_EVENTS ?= 300

.PHONY: install run test lint lint-bpmn chromium nginx bench bench-year clean translations

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

# the bytecode of our own modules written here (only what changed): where the environment sets
# PYTHONDONTWRITEBYTECODE, Python never writes it, and every process (each CLI command, each gunicorn worker,
# the tests' servers) would compile our sources again, about 0.2 s at each start
install: $(STAMP) web/frontend/dist/modeler.js tools/lint-bpmn/node_modules/.package-lock.json
	$(BIN)/pybabel compile -d web/translations
	$(BIN)/python -m compileall -q engine web catalogs handlers bench tests

# the web app's browser libraries (bpmn-js viewer, Leaflet), served from the app's own origin; bpmnlint,
# which deploy runs on every diagram (engine/lint.py)
web/frontend/node_modules/.package-lock.json: web/frontend/package-lock.json
	cd web/frontend && npm ci --silent --no-audit --no-fund

# the process modeler (bpmn-js + properties panel + eventflow's fields), and 上报's drafts kept on the phone and
# the service worker (idb, Workbox: docs/offline.md), bundled by esbuild from src/ into dist/
web/frontend/dist/modeler.js: web/frontend/node_modules/.package-lock.json $(wildcard web/frontend/src/*)
	cd web/frontend && npm run --silent build

run: install
	$(BIN)/eventflow init-db
	$(BIN)/eventflow load-catalogs
	$(BIN)/eventflow deploy processes
	$(BIN)/eventflow demo-data --password $(DEMO_PASSWORD)
	$(BIN)/eventflow simulate --if-empty --events $(SIM_EVENTS) --password $(DEMO_PASSWORD)
	$(BIN)/eventflow serve --host $(HOST) --port $(PORT)   # gunicorn, with eventflow worker (sweep, jobs) beside it

# after changing words on a page: collect them (web/, and the engine's words marked N_) into the catalogs,
# then write the English in web/translations/en/LC_MESSAGES/messages.po
translations: $(STAMP)
	$(BIN)/pybabel extract -F web/babel.cfg -k _l -o web/translations/messages.pot .
	$(BIN)/pybabel update -i web/translations/messages.pot -d web/translations --no-fuzzy-matching -w 120

tools/lint-bpmn/node_modules/.package-lock.json: tools/lint-bpmn/package-lock.json
	cd tools/lint-bpmn && npm ci --silent --no-audit --no-fund

lint-bpmn: tools/lint-bpmn/node_modules/.package-lock.json
	cd tools/lint-bpmn && npx --no-install bpmnlint ../../processes/*.bpmn

# The browser tests (bpmn-js and the web app in a real Chromium) use Debian's chromium package, and a
# Chinese font so the pages (and their screenshots) show characters; apt as root, else sudo.
chromium:
	@{ command -v chromium >/dev/null && [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; } || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y -q chromium fonts-wqy-microhei || { $$SUDO apt-get update -q && \
	    $$SUDO apt-get install -y -q chromium fonts-wqy-microhei; }; }

# The deployment tests (tests/ops) run Debian's nginx from a configuration of their own (no /etc, no root
# needed) in front of `eventflow serve` with TLS (deploy/nginx/eventflow.conf), and follow docs/deploy.md:
# rsync (deploy/backup.sh), pg_dump/pg_restore (postgresql-client); apt as root, else sudo.
nginx:
	@{ command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; } && command -v rsync >/dev/null && \
	  command -v pg_restore >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y -q nginx rsync postgresql-client || { $$SUDO apt-get update -q && \
	    $$SUDO apt-get install -y -q nginx rsync postgresql-client; }; }

# Runs on SQLite and on the PostgreSQL server at 127.0.0.1:5432 (EVENTFLOW_TEST_PG_URL to change it);
# the PostgreSQL half is skipped, with the reason printed, only when no server answers. One worker per core
# (pytest-xdist; at least 2, at most 8: each runs a Chromium), each with its own SQLite templates and PostgreSQL
# database (tests/conftest.py). TEST_WORKERS=N to choose.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -lt 2 ] && n=2; [ $$n -gt 8 ] && n=8; echo $$n)
test: install lint-bpmn chromium nginx lint
	$(BIN)/pytest -q -n $(TEST_WORKERS)

# ruff (pyproject.toml [tool.ruff]) and the import rules between packages (pyproject.toml [tool.importlinter])
lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# the quick benchmarks (a few minutes each; numbers and ratios printed, aims said met or NOT met):
# bench.peer runs eventflow against spiff-arena's backend over HTTP on SQLite and PostgreSQL (it installs the
# peer kit ../shared/peers/spiff-arena into ~/.cache/eventflow/spiff-arena the first time, and prints
# eventflow's numbers alone when the kit is absent); bench.throughput and bench.timers run `eventflow serve`
# on a PostgreSQL database of their own (127.0.0.1:5432, or EVENTFLOW_BENCH_PG_URL)
bench: install
	$(BIN)/python -m bench.lifecycle
	$(BIN)/python -m bench.sweep
	$(BIN)/python -m bench.latency
	$(BIN)/python -m bench.peer
	$(BIN)/python -m bench.throughput
	$(BIN)/python -m bench.timers

# the long ones (an hour or more on a 2-core box): a year of 20,000 and 200,000 events on each database,
# starts and GET /api/tasks at 100,000 events, bytes per closed event, timers among 1,000,000 open instances
BENCH_PG ?= postgresql+psycopg://postgres@127.0.0.1:5432
bench-year: install
	$(BIN)/python -m bench.year --events 20000,200000
	psql -q "$(BENCH_PG:postgresql+psycopg%=postgresql%)/test" -c "DROP DATABASE IF EXISTS eventflow_bench_year" \
	  -c "CREATE DATABASE eventflow_bench_year"
	$(BIN)/python -m bench.year --events 20000,200000 --database-url $(BENCH_PG)/eventflow_bench_year
	$(BIN)/python -m bench.growth --events 100000
	$(BIN)/python -m bench.storage
	$(BIN)/python -m bench.timers --sizes 10000,100000,1000000

clean:
	rm -rf $(VENV) instance tools/lint-bpmn/node_modules .pytest_cache
