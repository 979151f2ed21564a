"""What the grader keeps from a notebook: definitions, and only the experiments a
definition needs."""
from __future__ import annotations

from autograder.notebook import extract


def kept(*cells: str) -> list[str]:
    return [s.source.split("\n")[0] for s in extract(list(cells)).snippets]


def test_experiments_and_what_reads_them_are_skipped():
    cells = [
        "import numpy as np\nGRADING = bool(np.ones(1)[0])",
        "if GRADING:\n    data = {'x': 1}\nelse:\n    data = {'x': 2}\nSOURCE = 'real' if data['x'] == 2 else 'offline'",
        "model = np.zeros(3)\nfirst = model[:1]\nSIZE = 64",
        "def f(x):\n    return x * SIZE",
    ]
    got = kept(*cells)
    assert "import numpy as np" in got and "SIZE = 64" in got and "def f(x):" in got
    # set inside `if` (never kept), read by a plain assignment: that assignment is skipped too
    assert not any(line.startswith("SOURCE") for line in got)
    # an experiment and the slice of it nobody needs
    assert not any(line.startswith(("model", "first")) for line in got)


def test_an_experiment_a_definition_needs_is_kept():
    cells = [
        "import numpy as np\nTABLE = np.arange(4)\nHALF = TABLE[:2]",
        "def g(i):\n    return HALF[i]",
    ]
    got = kept(*cells)
    assert "TABLE = np.arange(4)" in got and "HALF = TABLE[:2]" in got and "def g(i):" in got
