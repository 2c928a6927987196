# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXAMPLES := $(wildcard examples/*/pyproject.toml)

.PHONY: run test test-sqlite test-postgres migrate bench bench-anchors resilience clean lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# setuptools notes that an editable install of our package-dir layout uses an import finder:
# expected, so hidden (only that note, only from that module).
EDITABLE := PYTHONWARNINGS=ignore::UserWarning:setuptools.command.editable_wheel

$(VENV)/.installed: $(BIN)/python pyproject.toml setup.py
	@echo "Installing VetrAI and its dependencies into $(VENV) (a minute or two the first time)"
	$(EDITABLE) $(BIN)/pip install --progress-bar on -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed $(EXAMPLES)
	$(EDITABLE) $(BIN)/pip install --quiet -e ".[test]" $(foreach example,$(EXAMPLES),-e $(dir $(example)))
	touch $@

run: $(VENV)/.installed
	@echo "The command line is $(BIN)/vetrai (try $(BIN)/vetrai --help)"
	@$(BIN)/vetrai serve --migrate

migrate: $(VENV)/.installed
	$(BIN)/vetrai migrate

# Both backends at once (each pass has its own databases, queues and key prefixes);
# --output-sync keeps each pass's report in one piece.
test: $(VENV)/.installed-test
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

test-sqlite: $(VENV)/.installed-test
	$(BIN)/python -m pytest --durations=25

test-postgres: $(VENV)/.installed-test
	VETRAI_TEST_BACKEND=postgres $(BIN)/python -m pytest --durations=25

# Benchmarks and the full resilience suite: not part of `make test` (see README, Performance).
bench: $(VENV)/.installed-test
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	cd bench && for script in api engine fairness streams login startup; do ../$(BIN)/python $$script.py || exit 1; done
	cd bench && ../$(BIN)/python readme_tables.py

# LangGraph's dev server and Aegra (each in its own venv under bench/.anchors) against VetrAI on
# the same graphs with the same client; then the README's tables from bench/results.
bench-anchors: $(VENV)/.installed-test
	cd bench && ../$(BIN)/python anchors.py && ../$(BIN)/python readme_tables.py

resilience: $(VENV)/.installed-test
	VETRAI_RESILIENCE=full VETRAI_TEST_BACKEND=postgres $(BIN)/python -m pytest --durations=25 tests/resilience

clean:
	rm -rf $(VENV) .vetrai

# mypy finds the package `vetrai` (this folder, see setup.py) through a link in the venv.
lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@mkdir -p $(VENV)/mypy-path && ln -sfn $(CURDIR) $(VENV)/mypy-path/vetrai
	$(BIN)/mypy -p vetrai.core -p vetrai.engine
