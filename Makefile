# Everything runs from a local virtual environment in .venv, created on first use with python3.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
REPORT ?= report

.PHONY: venv test verify faults faults-ci lint benchmark clean wheel-check

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,dask,fast,pep]'
	touch $(STAMP)

venv: $(STAMP)

## test: the whole suite, in parallel, under the 'ci' Hypothesis profile; BYZPGD_REQUIRE_PEP=1 makes
## tests/test_pep.py fail (not skip) without PEPit
test: $(STAMP)
	BYZPGD_REQUIRE_PEP=1 $(BIN)/python -m pytest -n auto --hypothesis-profile=ci

## verify: check every claim on the default profile; writes $(REPORT)/report.json
verify: $(STAMP)
	$(BIN)/byzpgd verify --out $(REPORT)

## faults: the whole seeded-fault campaign on the ci profile; writes $(FAULTS)/faults.{json,md,html}
FAULTS ?= faults
faults: $(STAMP)
	$(BIN)/byzpgd faults --profile ci --out $(FAULTS)

## faults-ci: the catalogue's small 'ci' subset on the quick profile (a few minutes)
faults-ci: $(STAMP)
	$(BIN)/byzpgd faults --profile quick --subset --out $(FAULTS)

## wheel-check: python -m build (wheel + sdist in dist/), install the wheel in a fresh venv
## ($(WHEELCHECK)) and run byzpgd --help, byzpgd claims, the pytest plugin and docs/examples there
WHEELCHECK ?= /tmp/byzpgd-wheel-check
wheel-check: $(STAMP)
	$(BIN)/python tests/wheel_check.py --venv $(WHEELCHECK) --dist dist

lint: $(STAMP)
	$(BIN)/ruff check byzpgd theory algorithms oracles properties reports experiments audit tests benchmarks

benchmark: $(STAMP)
	$(BIN)/python benchmarks/lambda_min_certificate.py
	$(BIN)/python benchmarks/aggregators.py

clean:
	rm -rf $(VENV) $(REPORT) $(FAULTS) .pytest_cache .hypothesis .ruff_cache
