# The two commands a new user needs (see README.md).  Both create .venv on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

.PHONY: setup-demo setup-test demo test bench
setup-demo: $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[examples]'

setup-test: $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'

demo: setup-demo
	$(BIN)/python examples/demo.py

test: setup-test
	$(BIN)/python -m pytest -n 2 -q tests

bench: setup-test
	$(BIN)/python -m benchmarks
