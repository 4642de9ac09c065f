# The two commands of the README: `make run` and `make test`. Everything else is a step they share.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask
export FLASK_APP := wsgi:app

VENDOR := static/vendor/htmx.min.js static/vendor/socket.io.min.js
TRANSLATIONS := $(patsubst %.po,%.mo,$(wildcard webapp/translations/*/*/LC_MESSAGES/messages.po))

.PHONY: run test setup vendor translations db demo clean lint

run: setup db demo
	$(PY) -m webapp.serve

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

setup: $(VENV)/.installed node_modules/.installed vendor translations

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

vendor: $(VENDOR)

static/vendor/htmx.min.js: node_modules/.installed
	mkdir -p static/vendor && cp node_modules/htmx.org/dist/htmx.min.js $@

static/vendor/socket.io.min.js: node_modules/.installed
	mkdir -p static/vendor && cp node_modules/socket.io-client/dist/socket.io.min.js $@

translations: $(TRANSLATIONS)

%.mo: %.po $(VENV)/.installed
	$(VENV)/bin/pybabel compile --use-fuzzy -i $< -o $@

db: setup
	mkdir -p instance
	$(FLASK) db upgrade

demo: db
	$(FLASK) demo seed

lint: setup
	$(VENV)/bin/ruff check webapp tests bench

clean:
	rm -rf $(VENV) node_modules static/vendor instance/healthspace.db
