# The course kit's two main commands: `make demo` and `make test`.
# Both install the staff's pinned environment (`pip install -e '.[staff]'`) into the active
# virtual environment, else the active conda environment (not conda's `base`), else a
# local .venv that they create.
SHELL := /bin/bash

ifdef VIRTUAL_ENV
ENV_DIR := $(VIRTUAL_ENV)
else ifneq ($(filter-out base,$(CONDA_DEFAULT_ENV)),)
ENV_DIR := $(CONDA_PREFIX)
endif
ifdef ENV_DIR
PY := $(ENV_DIR)/bin/python
else
ENV_DIR := $(CURDIR)/.venv
PY := .venv/bin/python
MAKE_VENV := 1
endif
STAMP := $(ENV_DIR)/.course-kit-installed
# nbgrader calls `alembic` and `jupyter` by name: the environment's bin/ goes first.
export PATH := $(ENV_DIR)/bin:$(PATH)

.PHONY: setup demo test notebooks release clean-demo
setup: $(STAMP)

$(STAMP): pyproject.toml
ifdef MAKE_VENV
	@test -x .venv/bin/python || python3 -m venv .venv
endif
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[staff]'
	@touch $@

# The homeworks: the package holds the one list (expanded when a recipe runs, after setup).
ASSIGNMENTS = $(or $(shell $(PY) -m autograder list --ids),$(error `$(PY) -m autograder list --ids` gave no homework list))

# Text sources (authoring/) and course.cfg -> nbgrader source notebooks (source/), the
# README's student install line and environment-student.yml. A source notebook edited by
# hand is not overwritten: the builder stops and says what to do.
notebooks: setup
	$(PY) tools/build_notebooks.py $(ASSIGNMENTS)

# Source notebooks -> student notebooks (release/), with nbgrader itself.
release: notebooks
	for a in $(ASSIGNMENTS); do $(PY) -m nbgrader generate_assignment $$a --force --log-level=ERROR || exit 1; done

demo: release
	$(PY) tools/demo.py $(ASSIGNMENTS)

test: setup
	$(PY) -m pytest -n auto --dist loadgroup tests

clean-demo:
	rm -rf submitted autograded feedback gradebook.db exports autograder-results
