"""Where the notebook runs: grading mode and seeding."""
from __future__ import annotations

import os
import random

import numpy as np


def is_grading() -> bool:
    """True while nbgrader or the course autograder runs the notebook.

    Guard every long run (training, downloads) with ``if not is_grading():`` so
    that grading takes seconds; the graders call your functions themselves.
    """
    return bool(os.environ.get("NBGRADER_EXECUTION") or os.environ.get("COURSE_KIT_GRADING"))


def seed_everything(seed: int = 0) -> None:
    """Seed Python's ``random``, NumPy and, if it is installed, torch."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch
    except ImportError:
        return
    torch.manual_seed(seed)
