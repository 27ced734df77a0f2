# Two commands do everything on a fresh machine (Python 3, a C compiler, the package index):
#   make test       create .venv, install, build, run the tests
#   make campaign   create .venv, install, build, run the asv benchmark campaign (kernels and
#                   peers), results in .asv/results/, the report in reports/latest/index.html
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
PYTEST_ARGS ?=
# make campaign: PROFILE=quick|full, BENCH=<regex> (asv run -b), ASV_RUN_ARGS=<more asv run args>,
# MACHINE=<name> (file the results under this name instead of the host name: CI runners),
# REPORT_DIR=<dir> (where make campaign and make report write the report)
PROFILE ?= quick
BENCH ?=
ASV_RUN_ARGS ?=
MACHINE ?=
REPORT_DIR ?= reports/latest
COMPARE_ARGS ?= --quick
# make profiles / campaign: where the profile pass's stage tables go (one file per machine
# and commit; the report reads the folder)
PROFILES ?= .asv/profiles/$(shell hostname)-$(shell git rev-parse --short HEAD 2>/dev/null || echo tree).json
ASV := $(VENV)/bin/asv
export BENCH

.PHONY: test campaign report compare profiles build deps peers info clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.deps-test: $(PY) requirements/build.txt requirements/test.txt
	$(PIP) install --quiet -r requirements/test.txt
	touch $@

$(VENV)/.deps-bench: $(VENV)/.deps-test requirements/bench.txt
	$(PIP) install --quiet -r requirements/bench.txt
	touch $@

# The package, installed editable once (so benchmarks and tools import it from anywhere);
# later builds recompile only what changed.
$(VENV)/.installed: $(VENV)/.deps-test pyproject.toml setup.py
	$(PIP) install --quiet --no-build-isolation --no-deps -e .
	touch $@

deps: $(VENV)/.deps-bench

build: $(VENV)/.installed
	$(PY) setup.py --quiet build_ext --inplace

# PyTorch (CPU), OpenCV, ONNX Runtime and OpenVINO: the test oracle and the benchmark peers.
# Optional.
peers: $(PY)
	$(PIP) install --quiet -r requirements/peers.txt

# pytest exits 5 when it collects no test: that is a broken suite, not a pass.
test: build $(VENV)/.deps-bench
	@$(PY) -m suite info
	$(PY) -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	exit $$status

# asv's description of this machine: asv's own detection (CPU, cores, OS, memory) under the
# host name, or under MACHINE=<name> (`asv machine --machine NAME` alone would record the
# name only: it keeps just the fields that differ from what it detects).
ifeq ($(MACHINE),)
ASV_MACHINE = $(ASV) machine --yes > /dev/null
else
ASV_MACHINE = $(PY) -c "import sys; from asv.machine import Machine, MachineCollection; \
  d = Machine.get_defaults(); d['machine'] = sys.argv[1]; \
  MachineCollection.save(sys.argv[1], d)" "$(MACHINE)"
endif

# The asv campaign of the working tree (README, "Benchmark campaigns"), in .venv: results
# are filed under HEAD's commit in .asv/results/<machine>/ (new files and benchmarks are
# added; re-running a benchmark at the same commit replaces its figures). After the timing
# runs, the profile pass (make profiles) when the package has one; then the report step
# runs `python -m suite report` when the package has one (REPORT_DIR/index.html), then
# `asv publish`.
campaign: build $(VENV)/.deps-bench
	-$(PIP) install --quiet -r requirements/peers.txt || \
	  echo "make campaign: a peer failed to install; its benchmarks are skipped" >&2
	@$(PY) -m suite info
	@git diff --quiet HEAD -- . ':!benchmarks' 2>/dev/null || echo "make campaign:" \
	  "uncommitted changes: the results are filed under HEAD ($$(git rev-parse --short HEAD))" >&2
	$(ASV_MACHINE)
	SUITE_BENCH_PROFILE=$(PROFILE) $(ASV) run --python=same \
	  --set-commit-hash=$$(git rev-parse HEAD) --show-stderr --record-samples \
	  $(if $(MACHINE),--machine "$(MACHINE)",) \
	  $${BENCH:+--bench "$$BENCH"} $(ASV_RUN_ARGS); status=$$?; \
	if $(PY) -c "import importlib.util as u, sys; sys.exit(u.find_spec('suite.bench.profile') is None)"; \
	then $(PY) -m suite profile --catalogue --json $(PROFILES) || status=1; fi; \
	if $(PY) -c "import importlib.util as u, sys; sys.exit(u.find_spec('suite.bench.report') is None)"; \
	then $(PY) -m suite report --out $(REPORT_DIR) || status=1; fi; \
	$(ASV) publish || status=1; \
	exit $$status

# The report of the results already in .asv/results, every machine and commit there (after
# merging several machines' results: reports/README.md): REPORT_DIR/index.html and
# REPORT_DIR/results.csv.gz.
report: build $(VENV)/.deps-bench
	$(PY) -m suite report --results .asv/results --out $(REPORT_DIR)

# The short round-robin peer comparison (python -m suite compare --help).
compare: build $(VENV)/.deps-bench
	-$(PIP) install --quiet -r requirements/peers.txt || \
	  echo "make compare: a peer failed to install; compare reports it as not installed" >&2
	$(PY) -m suite info
	$(PY) -m suite compare $(COMPARE_ARGS)

# The profile pass alone: every catalogue layer's stages by algorithm and thread count
# (python -m suite profile --catalogue), kept in $(PROFILES) for the report.
profiles: build $(VENV)/.deps-bench
	$(PY) -m suite info
	$(PY) -m suite profile --catalogue --json $(PROFILES)

info: build
	$(PY) -m suite info

clean:
	rm -rf build suite/*.so *.egg-info .pytest_cache

# ---------------------------------------------------------------------------------------------
# Reliability (README, "Reliability"): longer and instrumented runs of the kernel tests.
# ---------------------------------------------------------------------------------------------
.PHONY: test-long test-boundscheck test-asan test-slow

KERNEL_TESTS ?= tests/test_conv.py tests/test_upsample.py tests/test_fused.py \
	tests/test_threads.py tests/test_validation.py tests/test_reliability.py \
	tests/test_properties.py tests/test_gemm.py tests/test_col2im_bands.py

# hypothesis's long profile: >= 10,000 fresh examples per kernel property (tens of minutes on
# two cores; failures are kept in .hypothesis/ and replayed first next time).
test-long: build
	SUITE_HYPOTHESIS_PROFILE=long $(PY) -m pytest tests/test_properties.py \
	  --hypothesis-show-statistics $(PYTEST_ARGS)

# The kernel tests on a build with Cython's boundscheck, wraparound and initializedcheck on,
# then the normal build again whatever happened (the tree is left fast); the status of the
# checked build and its tests is kept.
test-boundscheck: $(VENV)/.deps-test
	SUITE_BOUNDSCHECK=1 $(PY) setup.py -q build_ext --inplace --force \
	  && $(PY) -m suite info \
	  && SUITE_EXPECT_BOUNDSCHECK=1 $(PY) -m pytest $(KERNEL_TESTS) $(PYTEST_ARGS); \
	status=$$?; \
	echo "make test-boundscheck: restoring the normal build" >&2; \
	$(PY) setup.py -q build_ext --inplace --force || status=1; \
	exit $$status

# The kernel tests on an AddressSanitizer build made in a throw-away copy of the tree (this
# tree's extensions are never touched): ASan's runtime is preloaded into the venv's Python,
# leak detection is off (CPython's own allocations would drown the report).
test-asan: $(VENV)/.deps-test
	@dir=$$(mktemp -d /tmp/suite-asan.XXXXXX) && echo "make test-asan: building in $$dir" && \
	tar --exclude=./.venv --exclude=./.asv --exclude=./build --exclude='./suite/*.so' \
	  --exclude=./.hypothesis -cf - . | tar -C $$dir -xf - && \
	(cd $$dir && SUITE_CFLAGS="-fsanitize=address -fno-omit-frame-pointer -g" \
	  LDFLAGS="-fsanitize=address" $(abspath $(PY)) setup.py -q build_ext --inplace && \
	  for so in suite/*.so; do ldd $$so | grep -q libasan || \
	    { echo "make test-asan: $$so is not linked with ASan" >&2; exit 1; }; done && \
	  LD_PRELOAD=$$(gcc -print-file-name=libasan.so) \
	  ASAN_OPTIONS=detect_leaks=0:print_summary=1 \
	  $(abspath $(PY)) -m pytest -p no:cacheprovider $(KERNEL_TESTS) $(PYTEST_ARGS)); \
	status=$$?; rm -rf $$dir; exit $$status

# The tests marked slow: sizes past 2**31 elements (about 11 GiB of memory).
test-slow: build
	SUITE_RUN_SLOW=1 $(PY) -m pytest -m slow tests/test_reliability.py $(PYTEST_ARGS)
