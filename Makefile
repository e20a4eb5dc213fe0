# The course's two commands (see README):  make course   |   make test
# Each creates .venv and installs the package with everything it needs the first time
# (and again whenever pyproject.toml changes).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: course test setup train train-v2 notebooks bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("llmkit needs Python 3.10+") if sys.version_info < (3, 10) else None'
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "make: '$(PYTHON) -m venv' failed. On Debian/Ubuntu the venv module is a package of its own:"; \
	  echo "      sudo apt install python3-venv    (then run make again)"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip "setuptools>=70.1" wheel
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

course: $(STAMP)  ## set up, then JupyterLab on notebooks/ with the gateway running
	$(BIN)/llmkit course

# each pass runs hermetic: none of the shell's keys, base URLs or LLMKIT_* settings, offline forced,
# a throw-away data folder, and no process may outlive it (see tools/hermetic.py)
HERMETIC := $(BIN)/python tools/hermetic.py

test: $(STAMP)  ## set up, then the whole test suite (package, SDKs, CLI, notebooks; then stored outputs)
	$(HERMETIC) $(BIN)/python -m pytest --durations=15 tests
	$(HERMETIC) --no-dotenv $(BIN)/python -m pytest -p no:cacheprovider --durations=15 \
	  --nbval --nbval-sanitize-with notebooks/sanitize.cfg notebooks

train: $(STAMP)  ## retrain offline model v1 (the n-gram model, seconds) from llmkit/engine/corpus/
	$(BIN)/llmkit train

train-v2: $(STAMP)  ## retrain offline model v2 (the transformer; installs torch, about an hour on 2 cores)
	$(BIN)/python -m pip install --quiet -e '.[train]'
	$(BIN)/llmkit train transformer-v2

notebooks: $(STAMP)  ## regenerate exercises/ from solutions/, re-execute the lesson notebooks offline and store their outputs
	$(BIN)/python tools/make_exercises.py
	$(BIN)/python tools/run_notebooks.py

bench: $(STAMP)  ## benchmarks: print figures, never fail on them
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info
