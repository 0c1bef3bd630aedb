# Every target installs the project into .venv on first use, so on a fresh machine with
# Python 3.11+ and make, `make test` (or `make publish`) is the first and only command.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TOOLS := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed
ICS := $(BIN)/ics-data

.DEFAULT_GOAL := help
.PHONY: tools help install validate publish test test-fast test-national check lint typecheck
.PHONY: bench clean
.PHONY: validate-github publish-check diff diff-summary

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the project with its dev tools

$(TOOLS_STAMP): tests/tools-requirements.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --upgrade pip
	$(TOOLS)/bin/python -m pip install --quiet -r tests/tools-requirements.txt
	@touch $(TOOLS_STAMP)

tools: $(TOOLS_STAMP) ## Create .venv-tools: programs the tests run (datasette), apart from .venv

validate: $(STAMP) ## Validate sources/ against schemas/
	$(ICS) validate

publish: $(STAMP) ## Validate and publish the release declared in sources/package.yaml into output/
	$(ICS) publish

validate-github: $(STAMP) ## Validate, as GitHub annotations on the lines (CI)
	$(ICS) validate --format github

publish-check: $(STAMP) ## Everything publish does but write: immutability and the version policy
	$(ICS) publish --check

diff: $(STAMP) ## What changed from the newest release to sources/, and the bump it needs
	$(ICS) diff latest sources

diff-summary: $(STAMP) ## The same as markdown, appended to the GitHub job summary when in CI
	@summary="$${GITHUB_STEP_SUMMARY:-/dev/stdout}"; \
	if $(ICS) releases | grep -q '^no releases'; then \
		echo "No release in output/ yet: nothing to compare the sources with." >> "$$summary"; \
	else \
		$(ICS) diff latest sources --format markdown >> "$$summary"; \
	fi

test: $(STAMP) $(TOOLS_STAMP) ## Run the test suite (and verify every committed release)
	$(BIN)/python -m pytest -m "not national"

test-fast: $(STAMP) ## The inner loop: the tests not marked slow (no subprocesses, no browser)
	ICS_TEST_QUICK=1 $(BIN)/python -m pytest -m "not slow and not national" -q

test-national: $(STAMP) ## Init, publish and verify every ICB of England from the national files
	$(BIN)/python -m pytest -m national -q

lint: $(STAMP) ## ruff format --check and ruff check
	$(BIN)/ruff format --check pipeline tests
	$(BIN)/ruff check pipeline tests

typecheck: $(STAMP) ## mypy --strict on pipeline/
	$(BIN)/mypy

check: lint typecheck test ## Everything CI checks: lint, types, tests

bench: $(STAMP) ## Measure speed and memory (prints figures; writes the goals table into README.md)
	$(BIN)/python -m bench --readme README.md
	$(BIN)/python -m bench.national --readme README.md

clean: ## Remove .venv and caches (never output/)
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
