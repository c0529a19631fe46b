# The two commands a newcomer needs: `make run` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Ralph (the LRS of the xAPI tests) in a virtual env of its own: its dependencies never meet ours.
RALPH_VENV := .venv-ralph
RALPH_STAMP := $(RALPH_VENV)/.installed
PORT ?= 8000
# `make test` runs the suite on this many pytest-xdist workers (most tests wait on servers, workers and
# browsers, so two overlap well even on 2 cores); PYTEST_WORKERS=0 runs it serially in one process.
PYTEST_WORKERS ?= 2
# The sandbox platforms (Canvas-like, Moodle-like) beside the tool; `make run SANDBOX=0` leaves them off.
SANDBOX ?= 1

.PHONY: run test check lint format typecheck migrations-check bench bench-run clean ralph messages

$(STAMP): requirements.txt requirements-dev.txt
	@# pip is quiet, so say what the minute of silence is (and that it happens once).
	@echo "Setting up $(VENV): installing the tool's Python packages (about a minute, only the first time"
	@echo "and after requirements*.txt change)..."
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)
	@echo "Packages installed."

$(RALPH_STAMP): requirements-ralph.txt
	@echo "Setting up $(RALPH_VENV): Ralph, the Learning Record Store the xAPI tests send statements to (once)..."
	test -x $(RALPH_VENV)/bin/python || $(PYTHON) -m venv $(RALPH_VENV)
	$(RALPH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(RALPH_VENV)/bin/python -m pip install --quiet -r requirements-ralph.txt
	touch $(RALPH_STAMP)

ralph: $(RALPH_STAMP)  ## Ralph LRS in .venv-ralph (the xAPI tests and bench/xapi.py start it)

messages: $(STAMP)  ## compile locale/*/LC_MESSAGES/*.po to .mo in Python (no GNU gettext needed; docs/translation.md)
	$(BIN)/python -m lms_tool.core.messages locale

run: $(STAMP) messages  ## serve the tool with the embedded default (SQLite, filesystem broker, worker + beat) and the sandbox
	LMS_TOOL_MODE=development $(BIN)/python manage.py secret_init
	LMS_TOOL_MODE=development PORT=$(PORT) SANDBOX=$(SANDBOX) $(BIN)/python manage.py run_embedded

test: $(STAMP) $(RALPH_STAMP) messages  ## run the whole test suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set)
	@# Tests keep their own var/ (secret, SQLite files, the filesystem broker's queue): tasks that test
	@# launches queue must never reach the worker of `make run`.
	rm -rf var/test && mkdir -p var/test
	@# Each worker takes whole files (--dist loadfile): a module's server-starting fixtures start once.
	@# tests/mode.py gives each worker its own var/test/gwN, Redis database and cache key prefix.
	LMS_TOOL_MODE=test VAR_DIR=$(CURDIR)/var/test $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check lms_tool lti_config tests bench
	$(BIN)/ruff format --check lms_tool lti_config tests bench

format: $(STAMP)
	$(BIN)/ruff format lms_tool lti_config tests bench
	$(BIN)/ruff check --fix lms_tool lti_config tests bench

typecheck: $(STAMP)
	$(BIN)/mypy lms_tool

migrations-check: $(STAMP)
	$(BIN)/python manage.py makemigrations --check --dry-run

check: lint typecheck migrations-check test  ## ruff, mypy, migrations check, tests

# Helpers, not benchmarks: the shared module, the profiler (no baseline), the median of several runs, the report
# and the simulated cohort bench/risk.py evaluates on.
BENCH_SCRIPTS := $(filter-out bench/_common.py bench/launch_profile.py bench/results_median.py bench/report.py bench/risk_cohort.py bench/burst.py,$(wildcard bench/*.py))
# Every headline figure is the median of BENCH_RUNS runs of its script, with the spread (bench/results_median.py),
# except for the scripts that alternate ours and the baseline over rounds themselves and print the median of their
# rounds with its spread (BENCH_OWN_ROUNDS). The class-start burst runs BURST_RUNS times.
BENCH_RUNS ?= 3
BENCH_OWN_ROUNDS := bench/launch.py bench/passback.py
BURST_RUNS ?= $(BENCH_RUNS)
# The benchmarks run as a deployment does, on PostgreSQL + Redis (each script makes a database of its own on this
# server and drops it at the end); BENCH_DATABASE_URL= BENCH_REDIS_URL= runs them on the embedded default instead,
# where bench/burst.py and bench/faults.py cannot run.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/3
# `make bench QUICK=1`: a smoke run of the whole chain in minutes (--quick where a script has it, small data sets);
# its report goes to var/bench/benchmarks-quick.md, never to docs/.
QUICK ?=
BENCH_QUICK_FLAG = $(if $(QUICK),--quick,)

bench: $(STAMP) $(RALPH_STAMP)  ## all benchmarks, then docs/benchmarks.md written from their output (bench/report.py)
	@mkdir -p var/bench
	@bash -o pipefail -c '$(MAKE) --no-print-directory bench-run 2>&1 | tee var/bench/make-bench$(if $(QUICK),-quick,).log'
	$(BIN)/python bench/report.py var/bench/make-bench$(if $(QUICK),-quick,).log > var/bench/benchmarks-new.md
	mv var/bench/benchmarks-new.md $(if $(QUICK),var/bench/benchmarks-quick.md,docs/benchmarks.md)

bench-run: export DATABASE_URL = $(BENCH_DATABASE_URL)
bench-run: export REDIS_URL = $(BENCH_REDIS_URL)
ifneq ($(QUICK),)
bench-run: export BENCH_FLASHCARDS_LEARNERS = 500
bench-run: export BENCH_QUIZ_ATTEMPTS = 300
endif
bench-run:
	@echo "== make bench"
	@echo "started: $$(date -u '+%Y-%m-%d %H:%M UTC'); commit: $$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$$(git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo ' (with uncommitted changes)')"
	@echo "database: $${DATABASE_URL:-embedded SQLite}; cache: $${REDIS_URL:-database cache}"
	@echo "load average at the start: $$(cut -d' ' -f1-3 /proc/loadavg) on $$(nproc) CPUs"
	@rm -f var/bench/runs-*.log
	@for script in $(BENCH_SCRIPTS) bench/burst.py; do \
		quick=$$(grep -q '"--quick"' $$script && echo $(BENCH_QUICK_FLAG)); \
		runs=$(BENCH_RUNS); case " $(BENCH_OWN_ROUNDS) " in *" $$script "*) runs=1;; esac; \
		[ $$script = bench/burst.py ] && runs=$(BURST_RUNS); \
		[ $$runs = 0 ] && continue; \
		if [ $$runs = 1 ]; then echo "== $$script"; $(BIN)/python $$script $$quick || exit 1; continue; fi; \
		name=$$(basename $$script .py); \
		for i in $$(seq 1 $$runs); do echo "== $$script, run $$i of $$runs"; \
			$(BIN)/python $$script $$quick > var/bench/runs-$$name-$$i.log; rc=$$?; cat var/bench/runs-$$name-$$i.log; \
			[ $$rc = 0 ] || exit 1; done; \
		echo "== bench/results_median.py: the median of the $$runs runs of $$script"; \
		$(BIN)/python bench/results_median.py var/bench/runs-$$name-*.log || exit 1; \
	done
	@echo "== make bench ended: $$(date -u '+%Y-%m-%d %H:%M UTC'); load average $$(cut -d' ' -f1-3 /proc/loadavg)"

clean:
	rm -rf $(VENV) $(RALPH_VENV) var .pytest_cache .mypy_cache .ruff_cache staticfiles
