# Two commands do all the set-up: `make sweep` runs the main job, `make test` the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: sweep train test lint bench clean chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev,torch]'
	touch $(STAMP)

sweep: $(STAMP)
	$(BIN)/caviar run

ANCHORS := .venv-anchors
ANCHOR_STAMP := $(ANCHORS)/.installed

test: $(STAMP) $(ANCHOR_STAMP) chromium
	$(BIN)/python -m pytest -q

# The anchors of benchmarks/quality.py (Syne Tune, DEHB) need numpy 1.x: an environment of
# their own, every package pinned and installed with --no-deps (no xgboost, no NCCL).
$(ANCHOR_STAMP): benchmarks/anchors/requirements.txt
	rm -rf $(ANCHORS)
	$(PYTHON) -m venv $(ANCHORS)
	$(ANCHORS)/bin/python -m pip install --quiet --no-deps -r benchmarks/anchors/requirements.txt
	touch $(ANCHOR_STAMP)

# The HTML report's test opens it in headless Chromium (Debian's package). Install it when
# missing and possible; otherwise that one test is skipped and says why.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends chromium >/dev/null; } || \
	  echo "chromium could not be installed; the browser test of the report will be skipped"

lint: $(STAMP)
	$(BIN)/ruff check caviar orchestrator workers caviar_common tests benchmarks
	$(BIN)/mypy caviar orchestrator workers caviar_common benchmarks

clean:
	rm -rf $(VENV) $(ANCHORS) build *.egg-info
