# One-command entry points. Each target creates the virtual environment first if needed.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python

.PHONY: reports test lint estimates benchmark benchmark-build r-fixtures clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

## reports: create the environment and build every report from the embedded demo into reports/
reports: $(VENV)/.installed
	$(PY) run_all.py

## test: create the environment, check formatting, lint and types (make lint), run the test suite
test: lint
	$(PY) -m pytest

## lint: formatter check, linter, type checker, and notebooks stored without outputs
lint: $(VENV)/.installed
	$(VENV)/bin/ruff format --check analysis tests benchmarks run_all.py
	$(VENV)/bin/ruff check analysis tests benchmarks run_all.py
	$(VENV)/bin/mypy
	$(VENV)/bin/nbstripout --verify notebooks/*.ipynb

## estimates: compute the estimates table from the embedded demo into reports/data
estimates: $(VENV)/.installed
	$(PY) -m analysis estimates --out reports/data

## benchmark: time the estimation on a 1,000,000-respondent demo survey against a pandas baseline
benchmark: $(VENV)/.installed
	$(PY) benchmarks/bench_estimates.py

## benchmark-build: time the full report build against a naive one-by-one CLI loop
benchmark-build: $(VENV)/.installed
	$(PY) benchmarks/bench_build.py

## r-fixtures: regenerate the R reference values (needs r-base-core r-cran-survey r-cran-metafor
## r-cran-clubsandwich r-cran-sandwich r-cran-lmtest)
r-fixtures:
	cd tests/fixtures/r_survey && Rscript make_sample.R && Rscript reference.R
	cd tests/fixtures/r_overdispersion && Rscript make_data.R && Rscript reference.R
	cd tests/fixtures/r_waves && Rscript reference.R
	cd tests/fixtures/r_sae && Rscript make_data.R && Rscript reference.R && Rscript make_gaps.R && Rscript reference_gaps.R
	cd tests/fixtures/r_api && Rscript reference.R
	cd tests/fixtures/r_trends && Rscript reference.R
	cd tests/fixtures/r_evaluation && Rscript make_sample.R && Rscript reference.R

clean:
	rm -rf $(VENV) reports .pytest_cache
