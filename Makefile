# kcbx: `make demo` runs a sample county through two term sweeps; `make test` runs the test suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install bench bench-load bench-provinces clean-data lock

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/kcbx demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -n auto --dist loadscope tests

bench: $(STAMP)
	$(BIN)/python -m bench.run_bench --children $${CHILDREN:-1000000} --second-term

bench-provinces: $(STAMP)
	$(BIN)/python -m bench.run_bench --children $${CHILDREN:-300000} --provinces $${PROVINCES:-3}

bench-load: $(STAMP)
	$(BIN)/python -m bench.load_registry --rows $${ROWS:-1000000}

# Re-resolve the locked versions (after changing dependencies in pyproject.toml).
lock:
	rm -rf /tmp/kcbx-lock && $(PYTHON) -m venv /tmp/kcbx-lock
	/tmp/kcbx-lock/bin/pip install --quiet -e '.[test]'
	/tmp/kcbx-lock/bin/pip freeze --exclude-editable | grep -v '^kcbx' > constraints.txt

clean-data:
	rm -rf .kcbx
