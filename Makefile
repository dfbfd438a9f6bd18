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
$(STAMP): pyproject.toml
	test -x $(PY) || $(PY_SYS) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
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
