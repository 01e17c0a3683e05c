# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := app

.PHONY: run dev prepare test bench lock browser clean-db

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Pinned installs (constraints.txt); redone when the project's dependencies change.
$(VENV)/.installed-run: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt pip setuptools wheel
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt --no-build-isolation -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt pip setuptools wheel
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt --no-build-isolation -e ".[test]"
	touch $@ $(VENV)/.installed-run

# The production server (gunicorn, gunicorn.conf.py: WEB_WORKERS x WEB_THREADS, PORT); `make dev` runs
# Flask's development server instead (reloads on changes, debugger on errors; never in production).
# The job worker (`flask worker`: imports, large downloads, the daily assessment, check and purge)
# runs beside it and stops with it.
run: prepare
	@echo "The register is at http://127.0.0.1:$(PORT)/ with its job worker (Ctrl-C stops both)"
	@$(BIN)/flask worker & worker=$$!; trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	  PORT=$(PORT) $(BIN)/gunicorn --config gunicorn.conf.py

dev: prepare
	@echo "The register (development server) is at http://127.0.0.1:$(PORT)/; jobs run in its requests (Ctrl-C stops it)"
	LOG_FORMAT=text JOBS_IMMEDIATE=1 $(BIN)/flask run --debug --host 127.0.0.1 --port $(PORT)

# What both do first: migrate, load the demo into an empty register, print the demo logins.
prepare: $(VENV)/.installed-run
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo --if-empty

# Browser tests drive Debian's chromium and export tests LibreOffice Calc; install them when missing
# and allowed (root). Otherwise those tests are skipped (on CI they fail instead).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); } || \
	  echo "chromium is not installed: browser tests will be skipped (CI fails instead)"
	@command -v soffice >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libreoffice-calc-nogui >/dev/null); } || \
	  echo "LibreOffice is not installed: its export check will be skipped (CI fails instead)"

# One worker per CPU (pytest-xdist); PYTEST_WORKERS=0 runs the suite in this process.
PYTEST_WORKERS ?= auto
test: $(VENV)/.installed-test browser
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS)

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

# Refresh the pins after changing pyproject.toml dependencies.
lock: $(VENV)/.installed-test
	{ echo "# Exact versions a fresh machine installs (make run / make test); CI tested these."; \
	  echo "# Regenerate after changing dependencies: make lock"; \
	  $(BIN)/python -m pip freeze --all --exclude-editable | grep -v '^-e\|^transfer-register'; } > constraints.txt

clean-db:
	rm -f instance/register.sqlite instance/register.sqlite-wal instance/register.sqlite-shm instance/demo-logins.txt
