# The README's two commands are `make run` and `make test`; both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean system-packages

# WeasyPrint subsets fonts with HarfBuzz's subsetter when it is present; without it every
# PDF embeds whole fonts and takes several times longer. Installed when we can (root),
# otherwise said, since formflow still works without it.
SYSTEM_PACKAGES := libharfbuzz-subset0
system-packages:
	@if ! ldconfig -p | grep -q 'libharfbuzz-subset.so.0'; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES)) >/dev/null \
	      || echo "Note: could not install $(SYSTEM_PACKAGES); PDFs will be slower."; \
	  else echo "Note: install $(SYSTEM_PACKAGES) (apt) for fast PDF output."; fi; \
	fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# The main job: watch ./inbox, write to ./outbox, keep the register in ./var.
run: $(STAMP) system-packages
	$(BIN)/formflow watch --home .

test: $(STAMP) system-packages
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: $(STAMP) system-packages
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
