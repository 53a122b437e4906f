# Lightning Flows: `make up` installs and starts the platform; `make test` runs every check.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
NODE_DIR := adaptor_tasks/node
UI_DIR := ui_extension
PYTEST_ARGS ?=

.PHONY: up install node ui check lint types scan test test-postgres screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

$(NODE_DIR)/node_modules/.installed: $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node ui  ## Python and Node dependencies, the UI bundle

node: $(NODE_DIR)/node_modules/.installed

# The builder's front end: npm packages bundled by esbuild into ui_extension/static/dist
# (gitignored; served from /static, never from a CDN).
$(UI_DIR)/node_modules/.installed: $(UI_DIR)/package-lock.json
	cd $(UI_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(UI_DIR)/static/dist/.built: $(UI_DIR)/node_modules/.installed $(wildcard $(UI_DIR)/static/src/*)
	cd $(UI_DIR) && npm run --silent build
	touch $@

ui: $(UI_DIR)/static/dist/.built  ## Build the UI bundle (npm ci + esbuild)

up: install  ## Migrate and start API/UI, embedded Prefect server and worker
	$(BIN)/lightning-flows up

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: install
	$(BIN)/mypy lightning_flows adaptor_tasks ui_extension

scan: install
	$(BIN)/bandit -q -c pyproject.toml -r lightning_flows adaptor_tasks ui_extension

check: lint types scan  ## Lint, type-check and security scan

test: check  ## Every check, then the whole pytest suite with coverage
	$(BIN)/python -m pytest --cov --cov-report=term:skip-covered $(PYTEST_ARGS)

screenshots: install  ## Retake the screenshots in docs/ (the browser tests, writing into docs/)
	LIGHTNING_UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/ui_extension

test-postgres: check  ## The suite against the local PostgreSQL
	LIGHTNING_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \
	  $(BIN)/python -m pytest --cov --cov-report=term:skip-covered $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(NODE_DIR)/node_modules $(UI_DIR)/node_modules $(UI_DIR)/static/dist .lightning .pytest_cache .mypy_cache .ruff_cache .coverage
