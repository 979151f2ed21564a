"""Build the nbgrader source notebooks from their text sources: the command line of the
notebook builder, whose logic is :mod:`autograder.notebooks` (read its docstring).

    python tools/build_notebooks.py [hw ...] [--check] [--force]

``make notebooks`` runs it for every homework (the list comes from
``python -m autograder list --ids``).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

try:
    from autograder.notebooks import main
except ModuleNotFoundError:  # run as a file: the staff package is the repository, not an installed one
    main = None

if __name__ == "__main__":
    if main is not None:
        sys.exit(main())
    # Run as the package's module, with the repository as the package's home (the working
    # folder and the arguments unchanged).
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    sys.exit(subprocess.call([sys.executable, "-m", "autograder.notebooks", *sys.argv[1:]], env=env))
