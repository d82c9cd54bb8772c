# prefkit quick start
#
#   make demo     # venv with base deps, then `prefkit demo` (needs only Python >= 3.11)
#   make test     # installs everything (Debian packages + venv with [test]), checks the import rules
#                 # (lint-imports) and runs all tests
#
# Other targets: install (everything `make test` needs, without running tests), clean.
# Pass extra pytest arguments with PYTEST_ARGS, e.g. make test PYTEST_ARGS="-k storage -x".

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
DEMO_ARGS ?=

.PHONY: help demo test lint-imports install system-deps venv venv-test clean

help:
	@echo "make demo     - create $(VENV) (base deps) and run '$(VENV)/bin/prefkit demo'"
	@echo "make test     - install system deps + $(VENV) with [test] extras, run the whole pytest suite"
	@echo "make install  - everything 'make test' needs, without running the tests"
	@echo "make clean    - remove $(VENV), caches and build output"

system-deps:
	bash scripts/install-system-deps.sh

venv:
	VENV=$(VENV) bash scripts/bootstrap.sh

venv-test:
	VENV=$(VENV) bash scripts/bootstrap.sh test

install: system-deps venv-test

lint-imports:
	$(VENV)/bin/lint-imports

demo: venv
	$(VENV)/bin/prefkit demo $(DEMO_ARGS)

# Import rules first (pyproject.toml [tool.importlinter]): a forbidden import or a cycle fails at once.
# pytest's exit code 5 ("no tests collected") is a failure here too.
test: install
	$(VENV)/bin/lint-imports
	@echo "+ $(PY) -m pytest $(PYTEST_ARGS)"; \
	rc=0; $(PY) -m pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests (exit 5) -> failing" >&2; exit 1; fi; \
	if [ $$rc -ne 0 ]; then echo "make test: pytest failed (exit $$rc)" >&2; fi; \
	exit $$rc

clean:
	if [ -f .pg/data/PG_VERSION ]; then bash scripts/pg-throwaway.sh stop .pg; fi
	rm -rf $(VENV) .pg .pytest_cache .hypothesis .grimp_cache .import_linter_cache build dist artifacts *.egg-info
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
