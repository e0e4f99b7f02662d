# The README's two commands are `make run` and `make test`; both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two stamps: the service's environment gets formflow alone (make run); the test tools
# (pytest, mypy, ruff, selenium) are added only by make test, lint and bench.
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test lint bench bench-memory clean system-packages test-packages

# Debian packages, installed when we can (root), otherwise named; a failure is said, not
# fatal. What the service needs (make run, and so make test):
# - libharfbuzz-subset0: WeasyPrint subsets fonts with it; without it every PDF embeds
#   whole fonts and takes several times longer.
# - fonts-liberation2: the Arial-metric sans the print CSS asks for, so a PDF looks the
#   same on every machine (DejaVu Sans stands in where it is missing).
SYSTEM_PACKAGES := libharfbuzz-subset0 fonts-liberation2
# What only the tests need (make test), kept off the machines that run the service:
# - poppler-utils: pdftoppm, pdftotext and pdfinfo, with which the tests look at the PDFs as
#   a reader's viewer draws them (margins, footers, tags).
# - chromium, chromium-driver: the dashboard's browser tests (selenium drives Debian's
#   own browser and driver; nothing is downloaded at run time).
# - postgresql: initdb, pg_ctl and postgres, with which the tests start a throwaway
#   PostgreSQL cluster of their own to run every register test on both engines (the
#   service itself needs no server here: psycopg's wheel carries the client library).
TEST_PACKAGES := poppler-utils chromium chromium-driver postgresql

# $(call install_missing,PACKAGES,what goes without them)
define install_missing
	@missing=$$(for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null \
	      || echo "Note: could not install $$missing; $(2)."; \
	  else echo "Note: install $$missing (apt): $(2)."; fi; \
	fi
endef

system-packages:
	$(call install_missing,$(SYSTEM_PACKAGES),PDFs will be slower or use another font)

test-packages:
	$(call install_missing,$(TEST_PACKAGES),the tests that look at PDFs, drive a browser or use PostgreSQL will fail)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(TEST_STAMP)

# The main job: watch ./inbox, write to ./outbox, keep the register in ./var. The first
# time, the settings come from the commented example; the sample form is made afresh,
# dated today, so the first challenge is not overdue when it arrives.
run: $(STAMP) system-packages
	@test -f formflow.toml || { cp formflow.example.toml formflow.toml; \
	  echo "Made formflow.toml from formflow.example.toml: change it for your council."; }
	@mkdir -p samples
	$(BIN)/formflow new --sample --home . -o samples/stage1-challenge.docx
	$(BIN)/formflow watch --home . --web

test: $(TEST_STAMP) system-packages test-packages
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy

bench: $(TEST_STAMP) system-packages
	$(BIN)/python -m bench

bench-memory: $(TEST_STAMP) system-packages
	$(BIN)/python -m bench.memory 2000

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
