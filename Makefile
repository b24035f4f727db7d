# The README's two commands: `make demo` (the main job) and `make test`.
# Both set up everything first: a virtualenv with the Python dependencies
# and the Neo4j jars from Maven Central (cached outside the clone).

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.graphrails-installed

.PHONY: demo test lint install clean

demo: install
	$(BIN)/graphrails demo

test: install lint
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

install: $(STAMP)

$(STAMP): pyproject.toml graph/neo4j-pom.xml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: graphrails needs Python 3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	VIRTUAL_ENV=$(abspath $(VENV)) $(BIN)/uv pip install --quiet -e '.[dev]'
	$(BIN)/graphrails neo4j install
	@# Headless Chromium and its driver for the browser tests (Debian packages, never a download).
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	  else \
	    echo "chromium or chromedriver is missing and this is not root with apt-get: install the"; \
	    echo "chromium and chromium-driver packages, or set GRAPHRAILS_SKIP_BROWSER_TESTS=1"; \
	  fi; }
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
