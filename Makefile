# Two commands on a fresh machine: `make demo` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SIZE ?= 100000
# pytest workers of `make test`: most tests wait on processes, emulators and servers, so more
# workers than CI's 2 cores; the tests marked serial (time, rates, peaks) then run alone.
TEST_WORKERS ?= 4

.PHONY: demo test lint typecheck imports bench install clean browser screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m syncer.demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The layer contracts in pyproject.toml ([tool.importlinter]).
imports: $(STAMP)
	$(BIN)/lint-imports

# The web admin's browser tests drive Debian's headless Chromium through its chromedriver:
# installed here when missing and running as root (CI); otherwise those tests skip, saying so
# (and fail when CI=true).
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	  else echo "browser tests need chromium and chromium-driver (apt-get install as root)"; fi; \
	fi

# Tests marked xdist_group(name) run on one worker (a module's costly fixture made once).
# Bytecode is cached even where PYTHONDONTWRITEBYTECODE is set: every worker and every `syncer`
# process a test starts would otherwise compile the whole package again.
test: $(STAMP) lint typecheck imports browser
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup -m "not serial"
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -m serial

# The web admin's pages as PNG in docs/web/ (taken by the browser test).
screenshots: $(STAMP) browser
	SYNCER_WEB_SCREENSHOTS=docs/web $(BIN)/pytest tests/web/test_web_browser.py tests/web/test_web_segment_builder.py -q

bench: $(STAMP)
	$(BIN)/python -m bench --size $(SIZE)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
