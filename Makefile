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
.PHONY: tools help install validate publish test test-fast test-national test-repository check
.PHONY: lint typecheck bench clean check-data release refresh verify
.PHONY: validate-github publish-check diff diff-summary
# The commit a pull request is compared with (`make diff-summary`): CI sets it to the base branch;
# locally, the last commit.
BASE ?= HEAD
# What `make refresh` reads, e.g. REFRESH="--gp-map gp-reg-pat-prac-map.zip --epcn ePCN.xlsx"
REFRESH ?=
# The day `make release` dates the next release (empty: today)
DATE ?=

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

verify: $(STAMP) ## Check every published release in output/ against its hashes and the catalogue
	$(ICS) verify

release: $(STAMP) ## Plan the next release: set the version and date its changes need (DATE=YYYY-MM-DD)
	$(ICS) release $(if $(DATE),--date $(DATE))

refresh: $(STAMP) ## Refresh sources/ from newer NHS files (REFRESH="--gp-map FILE --epcn FILE ...")
	$(ICS) refresh $(REFRESH)

diff: $(STAMP) ## What changed from the newest release to sources/, and the bump it needs
	$(ICS) diff latest sources

diff-summary: $(STAMP) ## What a pull request changes: the newest release of BASE to sources/, as markdown
	@summary="$${GITHUB_STEP_SUMMARY:-/dev/stdout}"; \
	$(ICS) diff "git:$(BASE)" sources --format markdown >> "$$summary"

check-data: $(STAMP) ## The data checks on this repository's data: validate, publish --check, verify, diff
	$(ICS) validate --format $(if $(GITHUB_ACTIONS),github,text)
	$(ICS) publish --check
	$(ICS) verify
	@$(MAKE) --no-print-directory diff-summary

test: $(STAMP) $(TOOLS_STAMP) ## Run the tool's test suite (on fixture projects, never on sources/)
	$(BIN)/python -m pytest -m "not national and not repository"

test-fast: $(STAMP) ## The inner loop: the tests not marked slow (no subprocesses, no browser)
	ICS_TEST_QUICK=1 $(BIN)/python -m pytest -m "not slow and not national and not repository" -q

test-national: $(STAMP) ## Init, publish and verify every ICB of England from the national files
	$(BIN)/python -m pytest -m national -q

test-repository: $(STAMP) $(TOOLS_STAMP) ## Acceptance: a month of edits in a copy of the repository; a new project from the wheel
	$(BIN)/python -m pytest -m repository -q

lint: $(STAMP) ## ruff format --check and ruff check
	$(BIN)/ruff format --check pipeline tests
	$(BIN)/ruff check pipeline tests

typecheck: $(STAMP) ## mypy --strict on pipeline/
	$(BIN)/mypy

check: lint typecheck test check-data ## Lint, types, the tool's tests and the data checks

bench: $(STAMP) ## Measure speed and memory (prints figures; writes the goals table into README.md)
	$(BIN)/python -m bench --readme README.md
	$(BIN)/python -m bench.national --readme README.md

clean: ## Remove .venv and caches (never output/)
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
