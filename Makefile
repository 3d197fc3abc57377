# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test lint bench load-test bench-browser screenshots chromium clean models serve-replicas

$(VENV)/.runtime: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	$(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.headless true \
		--browser.gatherUsageStats false

# Debian's Chromium for the browser tests (Playwright cannot download a browser here).
chromium:
	@command -v chromium >/dev/null 2>&1 && { command -v nginx || test -x /usr/sbin/nginx; } >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium nginx; \
		else echo "chromium or nginx missing: run 'sudo apt-get install -y chromium nginx' for the browser and replica tests"; fi; }

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .

test: $(VENV)/.dev chromium lint
	$(PY) -m pytest -n 2 --dist loadgroup

# Every part runs even when an earlier one misses a goal; the target fails if any did.
BENCHES = benchmarks/bench_core.py|benchmarks/bench_training.py|benchmarks/bench_stateful.py|benchmarks/bench_seq2seq.py|benchmarks/bench_recording.py|benchmarks/bench_analysis.py|benchmarks/bench_models.py|scripts/soak.py|scripts/load_test.py --sessions 1,8,30 --seconds 90
bench: $(VENV)/.dev
	@failed=""; parts='$(BENCHES)'; IFS='|'; for part in $$parts; do \
	  IFS=' '; echo "== $(PY) $$part"; $(PY) $$part || failed="$$failed\n  $$part"; IFS='|'; \
	done; \
	if [ -n "$$failed" ]; then printf "make bench: goals missed in:$$failed\n"; exit 1; fi

# A classroom on one server: N simulated students over Streamlit's websocket protocol.
load-test: $(VENV)/.dev
	$(PY) scripts/load_test.py --sessions 1,8,30 --seconds 90 --play 20

bench-browser: $(VENV)/.dev chromium
	$(PY) scripts/bench_browser.py

# N replicas (default: one per core) behind nginx on $(PORT), sticky sessions by cookie.
serve-replicas: $(VENV)/.runtime
	$(PY) deploy/serve.py --port $(PORT)

# Trains every shipped model into assets/models/: the built-in tasks (~1 min), the Your model
# page's example tagger (~15 s), the Stateful page's four LSTMs (~1.5 min), the Encoder → decoder
# page's LSTM and GRU (~5 min) and the three char models (~1 hour on 2 cores).
# `scripts/make_models.py --tasks`, `--examples`, `--stateful`, `--seq2seq` or `--text` for one part.
models: $(VENV)/.runtime
	$(PY) scripts/make_models.py

screenshots: $(VENV)/.dev chromium
	$(PY) scripts/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
