# Everything runs from a local virtual environment in .venv, created on first use with python3.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
REPORT ?= report

.PHONY: venv test verify lint benchmark clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## test: the whole suite, in parallel, under the 'ci' Hypothesis profile
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --hypothesis-profile=ci

## verify: check every claim on the default profile; writes $(REPORT)/report.json
verify: $(STAMP)
	$(BIN)/byzpgd verify --out $(REPORT)

lint: $(STAMP)
	$(BIN)/ruff check byzpgd theory algorithms oracles properties reports experiments audit tests benchmarks

benchmark: $(STAMP)
	$(BIN)/python benchmarks/lambda_min_certificate.py
	$(BIN)/python benchmarks/aggregators.py

clean:
	rm -rf $(VENV) $(REPORT) .pytest_cache .hypothesis .ruff_cache
