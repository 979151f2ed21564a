# The course kit's two main commands: `make demo` and `make test`.
# Both set up a local virtual environment (.venv) unless one is already active.
SHELL := /bin/bash
ASSIGNMENTS := hw1 hw2 hw3 hw4 hw5

ifdef VIRTUAL_ENV
PY := python
else
PY := .venv/bin/python
endif
STAMP := $(if $(VIRTUAL_ENV),$(VIRTUAL_ENV),.venv)/.course-kit-installed
# nbgrader calls `alembic` and `jupyter` by name: the environment's bin/ goes first.
export PATH := $(if $(VIRTUAL_ENV),$(VIRTUAL_ENV),$(CURDIR)/.venv)/bin:$(PATH)

.PHONY: setup demo test notebooks release clean-demo
setup: $(STAMP)

$(STAMP): pyproject.toml
ifndef VIRTUAL_ENV
	@test -x .venv/bin/python || python3 -m venv .venv
endif
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[staff]'
	@touch $@

# Text sources (authoring/) -> nbgrader source notebooks (source/).
notebooks: setup
	$(PY) tools/build_notebooks.py $(ASSIGNMENTS)

# Source notebooks -> student notebooks (release/), with nbgrader itself.
release: notebooks
	for a in $(ASSIGNMENTS); do $(PY) -m nbgrader generate_assignment $$a --force --log-level=WARN || exit 1; done

demo: release
	$(PY) tools/demo.py $(ASSIGNMENTS)

test: setup
	$(PY) -m pytest -n auto --dist loadgroup tests

clean-demo:
	rm -rf submitted autograded feedback gradebook.db exports
