# README's two commands are `make demo` and `make test`; every other target is a step of those.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PY := $(BIN)/python
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# Interpreter discovery can pick an inactive pyenv shim; inventories pin the venv's Python.
export ANSIBLE_PYTHON_INTERPRETER := $(PY)

COLLECTION_VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
TARBALL := build/mlplatform-selfhosted-$(COLLECTION_VERSION).tar.gz
SANITY_ROOT := .sanity/ansible_collections/mlplatform/selfhosted
# The demo sandbox and the test sandbox are separate, so `make test` never touches the demo's state.
DEMO_SANDBOX := $(CURDIR)/.sandbox
TEST_SANDBOX := $(CURDIR)/.sandbox-test

.PHONY: help demo test venv collection sandbox sandbox-down sanity lint pytest molecule changelog ee-context clean

help:
	@echo "make demo   - install everything, start the sandbox, run playbooks/site.yml twice (second run: changed=0)"
	@echo "make test   - sanity, ansible-lint, unit, sandbox referees, integration and Molecule tests"
	@echo "make sandbox / make sandbox-down - start / stop the demo sandbox"

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

venv: $(VENV)/.installed

# Build the collection as Galaxy would and install it where ansible.cfg looks.
collection: venv
	rm -rf build && mkdir -p build
	$(BIN)/ansible-galaxy collection build --force --output-path build .
	$(BIN)/ansible-galaxy collection install --force --no-deps --offline -p .collections $(TARBALL)

sandbox: venv
	$(PY) -m tests.sandbox up --dir $(DEMO_SANDBOX)

sandbox-down: venv
	$(PY) -m tests.sandbox down --dir $(DEMO_SANDBOX)

demo: collection sandbox
	SANDBOX_DIR=$(DEMO_SANDBOX) $(PY) tools/demo.py

# ansible-test needs the tree under ansible_collections/<namespace>/<name>/: copy the files git
# knows about (tracked, or new and not ignored) there, as a git repository of its own so that
# ansible-test lists them, rather than moving the repository. Each sanity test runs in its own
# virtual environment (--venv --requirements); ansible-test bootstraps pip in those with a script
# it downloads from a host these machines cannot reach, so tools/ansible_test_get_pip.py stands in.
GET_PIP_CACHE := $(HOME)/.ansible/test/cache/get_pip_24_2.py
sanity: venv
	mkdir -p $(dir $(GET_PIP_CACHE)) && cp tools/ansible_test_get_pip.py $(GET_PIP_CACHE)
	rm -rf .sanity && mkdir -p $(SANITY_ROOT)
	git ls-files -z --cached --others --exclude-standard \
		| tar --null --ignore-failed-read -T - -cf - | tar -xf - -C $(SANITY_ROOT)
	cd $(SANITY_ROOT) && git init -q . && git add -A
	cd $(SANITY_ROOT) && $(BIN)/ansible-test sanity --venv --requirements --python 3.11 --color no

lint: collection
	$(BIN)/ansible-lint --profile production --offline

changelog: venv
	$(BIN)/antsibull-changelog lint

ee-context: venv
	$(BIN)/ansible-builder create --file execution-environment.yml --context build/ee-context

# Python tests: unit tests, the sandbox's referees (real third-party clients against the emulators)
# and the integration playbooks, all against a fresh test sandbox.
pytest: collection
	$(PY) -m tests.sandbox down --dir $(TEST_SANDBOX) || true
	rm -rf $(TEST_SANDBOX)
	$(PY) -m tests.sandbox up --dir $(TEST_SANDBOX) --port-base 26000
	SANDBOX_DIR=$(TEST_SANDBOX) $(PY) -m pytest tests/unit tests/sandbox tests/integration; \
		rc=$$?; $(PY) -m tests.sandbox down --dir $(TEST_SANDBOX); exit $$rc

# Molecule keeps each scenario's state in ~/.ansible/tmp; a scenario stopped half-way stays "prepared" and the
# next run would skip its prepare step, so every run starts from a reset. Scenarios use the collection built and
# installed by `make collection` (.config/molecule/config.yml turns Molecule's own copy into ~ off).
molecule: collection
	$(BIN)/molecule reset --all
	$(PY) -m tests.sandbox down --dir $(TEST_SANDBOX) || true
	rm -rf $(TEST_SANDBOX)
	$(PY) -m tests.sandbox up --dir $(TEST_SANDBOX) --port-base 26000
	SANDBOX_DIR=$(TEST_SANDBOX) ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/.collections $(BIN)/molecule test --all; \
		rc=$$?; $(PY) -m tests.sandbox down --dir $(TEST_SANDBOX); exit $$rc

# Every gate runs even when an earlier one failed, so one run reports everything; any failure fails the target.
TEST_GATES := sanity lint changelog pytest molecule
test: venv
	@failed=""; for gate in $(TEST_GATES); do \
		echo "=== make $$gate"; \
		$(MAKE) --no-print-directory $$gate || failed="$$failed $$gate"; \
	done; \
	if [ -n "$$failed" ]; then echo "=== make test: FAILED:$$failed"; exit 1; fi; \
	echo "=== make test: all gates passed ($(TEST_GATES))"

clean:
	-$(PY) -m tests.sandbox down --dir $(DEMO_SANDBOX)
	-$(PY) -m tests.sandbox down --dir $(TEST_SANDBOX)
	rm -rf build .collections .sanity .sandbox-test .pytest_cache
