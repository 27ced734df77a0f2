# Two commands do everything on a fresh machine (Python 3, a C compiler, the package index):
#   make test       create .venv, install, build, run the tests
#   make campaign   create .venv, install, build, measure the kernels against their peers
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
PYTEST_ARGS ?=
CAMPAIGN_ARGS ?= --quick

.PHONY: test campaign build deps peers info clean

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

deps: $(VENV)/.deps-test

build: $(VENV)/.installed
	$(PY) setup.py --quiet build_ext --inplace

# PyTorch (CPU) and OpenCV: the test oracle and the benchmark peers. Optional.
peers: $(PY)
	$(PIP) install --quiet -r requirements/peers.txt

# pytest exits 5 when it collects no test: that is a broken suite, not a pass.
test: build
	@$(PY) -m suite info
	$(PY) -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	exit $$status

campaign: build $(VENV)/.deps-bench
	-$(PIP) install --quiet -r requirements/peers.txt || \
	  echo "make campaign: PyTorch/OpenCV not installed; comparing with NumPy only" >&2
	$(PY) -m suite info
	$(PY) -m suite compare $(CAMPAIGN_ARGS)

info: build
	$(PY) -m suite info

clean:
	rm -rf build suite/*.so *.egg-info .pytest_cache
