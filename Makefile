# Two commands on a fresh machine with Python 3.10+ and make:
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

.PHONY: setup browser-tools serve build build-full test lock lighthouse bench bench-site clean

setup: $(STAMP)

# What the browser tests need: Chromium (Debian's package) and axe-core and Lighthouse (npm).
# Where Chromium cannot be installed (no apt, not root), the browser tests skip and say why.
browser-tools: $(BROWSER_STAMP)
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
		|| echo "make: could not install Chromium; the browser tests will be skipped"

$(BROWSER_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

serve: setup
	$(BIN)/python -m mkdocs serve --strict --dev-addr localhost:8000

build: setup
	$(BIN)/python -m mkdocs build --strict --site-dir site

# The published edition: full MNIST (60,000 training images) into site-full/, with its own
# output cache. It reads the four official files from CNN_TUTORIAL_MNIST_DIR, else from
# ../shared/data/mnist where that exists, else downloads them with keras.datasets.mnist.
MNIST_DIR ?= $(or $(CNN_TUTORIAL_MNIST_DIR),$(wildcard $(abspath ../shared/data/mnist)))
build-full: setup
	CNN_TUTORIAL_DATA=full CNN_TUTORIAL_MNIST_DIR=$(MNIST_DIR) CNN_TUTORIAL_CACHE=.cache/exec-full \
		$(BIN)/python -m mkdocs build --strict --site-dir site-full

# Test files run in parallel processes, one per core (at most 4), sharing one build of the site.
test: setup browser-tools
	$(BIN)/python -m pytest --numprocesses auto --maxprocesses 4 --dist loadfile $(PYTEST_ARGS)

# Lighthouse scores of the home page, a concept page and the notebook page (a measurement, not a test).
lighthouse: build browser-tools
	$(BIN)/python tools/lighthouse.py site

# Training speed of the notes' CNN in several configurations (stores snippets/training_faster.json).
bench: setup
	$(BIN)/python -m bench.training

# Cold, warm and one-snippet-edited builds of the site (stores bench/results/site_build.json).
bench-site: setup
	$(BIN)/python -m bench.site_build

# Re-pin every dependency to the newest release that pyproject.toml allows.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[test]'
	.lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^-e' > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf site .cache $(VENV) node_modules
