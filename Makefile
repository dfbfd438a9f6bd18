# gaoxin — two commands: `make run` and `make test`. Everything else is a step they call.
SHELL := /bin/bash
PY_SYS ?= python3
VENV := .venv
PY := $(VENV)/bin/python
GAOXIN := $(VENV)/bin/gaoxin
STAMP := $(VENV)/.installed

.PHONY: run test setup models index lint bench eval browser clean

run: index
	$(GAOXIN) serve --host 127.0.0.1 --port 7860

test: index browser
	$(VENV)/bin/ruff check rag ui tests benchmarks
	$(VENV)/bin/pytest -q tests

setup: $(STAMP)

# torch first, from the local CPU wheel: anything that resolves torch later must find it installed,
# or pip drags in a multi-GB CUDA build.
# llama.cpp is built for a portable x86-64 level (AVX2/FMA/F16C), not -march=native: a native build on a
# CPU that reports AMX crashed with SIGILL (tilezero) inside a VM that does not enable AMX tiles, and
# pip's wheel cache would hand a native wheel to any later machine. The wheel is kept, keyed by flags.
LLAMA_VERSION := 0.3.36
LLAMA_CMAKE := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
LLAMA_WHEELS := $(HOME)/.cache/gaoxin/wheels/llama-$(LLAMA_VERSION)-avx2

$(STAMP): pyproject.toml
	test -x $(PY) || $(PY_SYS) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	ls $(LLAMA_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1 || CMAKE_ARGS="$(LLAMA_CMAKE)" \
	  $(PY) -m pip wheel -q --no-deps --no-cache-dir -w $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_VERSION)
	$(PY) -m pip install -q --no-deps --force-reinstall $(LLAMA_WHEELS)/llama_cpp_python-*.whl
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

models: $(STAMP)
	$(GAOXIN) models fetch

# No-op when the manifest matches seeds, model and chunking settings.
index: models
	$(GAOXIN) index build --quiet

# Debian's Chromium for the end-to-end UI test (no browser download from the web).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; \
	  else echo "chromium missing: sudo apt-get install chromium"; fi; }

lint: $(STAMP)
	$(VENV)/bin/ruff check rag ui tests benchmarks

eval: index
	$(GAOXIN) eval --retrieval ../shared/eval/dev.jsonl
	$(GAOXIN) eval ../shared/eval/dev.jsonl

# Writes benchmarks/report.md + report.png; `make bench BENCH_ARGS=--quick` for a smoke run.
bench: index
	$(PY) benchmarks/run_all.py $(BENCH_ARGS)

clean:
	rm -rf index/CURRENT index/g-* index/.tmp-*
