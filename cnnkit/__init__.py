"""Helpers the course notebooks import: seeding, gradient checks, plotting,
data loaders and a training loop. Students receive this package; it holds no
solution and no grader.

Only NumPy is imported here, so ``import cnnkit`` works in the NumPy homework
while torch is out of reach; the torch helpers live in ``cnnkit.train`` and
``cnnkit.data``.
"""
from .checks import numeric_gradient, rel_error, show_check
from .env import is_grading, seed_everything

__all__ = ["numeric_gradient", "rel_error", "show_check", "is_grading", "seed_everything"]
__version__ = "0.1.0"
