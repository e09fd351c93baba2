# Two commands on a fresh machine with Python 3.11+, make, Node.js and npm:
#   make serve   set up, execute every page, serve the site at http://localhost:8000
#   make test    set up and run the tests
# Everything is installed into .venv from requirements.lock, the pinned versions
# that the published site is built with.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | cksum | cut -d' ' -f1)
export NO_MKDOCS_2_WARNING := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

BROWSER_STAMP := node_modules/.installed-$(shell cat package.json package-lock.json | cksum | cut -d' ' -f1)

.PHONY: setup browser-tools serve build build-full test lock lighthouse bench bench-site bench-ci clean

setup: $(STAMP)

# What the browser tests need: axe-core (npm, from package-lock.json) and Chromium. Chromium is the
# one in CNN_TUTORIAL_CHROMIUM, on PATH or at /usr/bin/chromium, or the one Playwright installed;
# else Debian's package (apt-get, as root); else Playwright's build with the system libraries it
# needs (GitHub's Ubuntu runners, where apt's chromium is a snap). If none of these works, this says
# what to run and fails under CI (CI=true); elsewhere the browser tests then skip, and say why.
browser-tools: $(BROWSER_STAMP)
	@if [ -x "$${CNN_TUTORIAL_CHROMIUM:-/nonexistent}" ] || command -v chromium >/dev/null || [ -x /usr/bin/chromium ]; then :; \
	elif $(BIN)/python -c 'import os, sys; from playwright.sync_api import sync_playwright as s; p = s().start(); ok = os.path.isfile(p.chromium.executable_path); p.stop(); sys.exit(not ok)' 2>/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && grep -qx 'ID=debian' /etc/os-release 2>/dev/null \
		&& apt-get update -qq && apt-get install -y -qq chromium >/dev/null && command -v chromium >/dev/null; then :; \
	elif $(BIN)/python -m playwright install --with-deps chromium; then :; \
	else echo "make: no Chromium for the browser tests; install it: apt-get install chromium (Debian, as root), or $(BIN)/python -m playwright install --with-deps chromium"; \
		[ "$$CI" != true ]; fi

$(BROWSER_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[site,test]'
	rm -f $(VENV)/.installed-* && touch $@

# The site needs onnxruntime-web (npm, from package-lock.json: the Draw a digit page runs its model
# with it), so build, serve and build-full install the npm packages first.
serve: setup $(BROWSER_STAMP)
	$(BIN)/python -m mkdocs serve --strict --dev-addr localhost:8000

build: setup $(BROWSER_STAMP)
	$(BIN)/python -m mkdocs build --strict --site-dir site

# The published edition: full MNIST (60,000 training images) into site-full/, with its own
# output cache. It reads the four official files from CNN_TUTORIAL_MNIST_DIR, else from
# ../shared/data/mnist where that exists, else downloads them with keras.datasets.mnist.
MNIST_DIR ?= $(or $(CNN_TUTORIAL_MNIST_DIR),$(wildcard $(abspath ../shared/data/mnist)))
build-full: setup $(BROWSER_STAMP)
	CNN_TUTORIAL_DATA=full CNN_TUTORIAL_MNIST_DIR=$(MNIST_DIR) CNN_TUTORIAL_CACHE=.cache/exec-full \
		$(BIN)/python -m mkdocs build --strict --site-dir site-full
	$(BIN)/python -m tools.prose_numbers site-full

# The linter and the formatter's check first (ruff, configured in pyproject.toml); then the test
# files in parallel processes, one per core (at most 4), sharing one build of the site.
test: setup browser-tools
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest --numprocesses auto --maxprocesses 4 --dist loadfile $(PYTEST_ARGS)

# Lighthouse scores of the home page, a concept page, the notebook page and the Draw a digit page
# (a measurement, not a test).
# Lighthouse (about 200 npm packages) is installed here only, from tools/lighthouse/package-lock.json
# into tools/lighthouse/node_modules, again when that lock changes; the tests never need it.
lighthouse: build browser-tools
	@stamp=tools/lighthouse/node_modules/.installed-$$(cat tools/lighthouse/package.json tools/lighthouse/package-lock.json | cksum | cut -d' ' -f1); \
	[ -f "$$stamp" ] || { (cd tools/lighthouse && npm ci --no-audit --no-fund --loglevel=error) && touch "$$stamp"; }
	$(BIN)/python -m tools.lighthouse site

# Training speed of the notes' CNN in several configurations (stores snippets/training_faster.json).
bench: setup
	$(BIN)/python -m bench.training

# Cold, warm and one-snippet-edited builds of the site, on the sample and on full MNIST
# (stores bench/results/site_build.json and site_build_full.json).
bench-site: setup
	$(BIN)/python -m bench.site_build
	CNN_TUTORIAL_MNIST_DIR=$(MNIST_DIR) $(BIN)/python -m bench.site_build --data full

# CI's time before and after a change, whole and per part (stores bench/results/ci.json).
bench-ci: setup
	$(BIN)/python -m bench.ci

# Re-pin every dependency to the newest release that pyproject.toml allows.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[site,test]'
	.lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^-e' > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf site site-full .cache $(VENV) node_modules tools/lighthouse/node_modules
