# Fresh Debian machine with Python 3.11: `make run` starts the app, `make test` runs the tests.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
# Portable llama.cpp build: the native (AMX) build segfaults on some Sapphire Rapids CPUs.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
export OMP_NUM_THREADS ?= 1
export TOKENIZERS_PARALLELISM ?= false
PORT ?= 8501

.PHONY: setup llm run build test lint browser-deps postgres-deps bench clean-cache

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip wheel
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

# The embedded LLM backend: compiles llama.cpp (5-7 minutes on 2 cores, once; pip caches the wheel).
llm: $(VENV)/.llm-installed

$(VENV)/.llm-installed: requirements-llm.txt $(VENV)/.installed
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install -r requirements-llm.txt
	touch $@

# What the default coding path needs (no embedding: the dense retrieval index is built on first use, or with --dense).
build: setup
	$(BIN)/python -m core build

# The first page does not wait for the llama.cpp compile: it runs in the background (one at a time, log in
# $(VENV)/llm-install.log) and the embedded backend is usable when it ends.
# `make run` also starts WORKERS pre-coding workers (python -m core worker) on the same store, stopped with the app;
# `make run WORKERS=0` starts none (e.g. when workers run on other machines against a shared PostgreSQL store).
WORKERS ?= 1
run: build
	@test -f $(VENV)/.llm-installed || { \
	  echo "llama.cpp (embedded LLM backend) compiles in the background, 5-7 minutes once: tail -f $(VENV)/llm-install.log"; \
	  nohup flock -n $(VENV)/.llm-install.lock $(MAKE) --no-print-directory llm >>$(VENV)/llm-install.log 2>&1 & }
	@pids=""; trap 'kill $$pids 2>/dev/null' EXIT INT TERM; \
	for i in $$(seq 1 $(WORKERS)); do $(BIN)/python -m core worker -q & pids="$$pids $$!"; done; \
	$(BIN)/python -m streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT)

# Chromium for the browser test (Debian package); skipped quietly where apt is unavailable.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "warning: could not install chromium; the browser test will be skipped"; \
	  else echo "warning: chromium missing and apt-get unavailable; the browser test will be skipped"; fi; }

# PostgreSQL server binaries for the decision-store test on a real server; skipped quietly where apt is unavailable.
postgres-deps:
	@{ command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
	    || echo "warning: could not install postgresql; the PostgreSQL store test will be skipped"; \
	  else echo "warning: PostgreSQL server missing and apt-get unavailable; the PostgreSQL store test will be skipped"; fi; }

test: setup llm browser-deps postgres-deps
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .

bench: build
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/retrieval.py

clean-cache:
	rm -rf $${XDG_CACHE_HOME:-$$HOME/.cache}/clinical-coder
