"""Helpers for the kit's own tests: reference code, release code, cases."""
from __future__ import annotations

import functools
import importlib
from pathlib import Path

from autograder import notebook as nbmod
from autograder.core import ASSIGNMENT_MODULES, DEFAULT_SEED, get_assignment
from autograder.grading import grade_cells
from autograder.notebooks import build

ROOT = Path(__file__).resolve().parents[1]

ASSIGNMENTS = sorted(ASSIGNMENT_MODULES)
SEEDS = (DEFAULT_SEED, 1, 2)


@functools.lru_cache(maxsize=None)
def source_notebook(hw: str) -> dict:
    return build(hw)[1]


def reference_cells(hw: str) -> list[str]:
    return nbmod.code_cells(source_notebook(hw))


def release_path(hw: str) -> Path:
    return ROOT / "release" / hw / get_assignment(hw).notebook


def release_cells(hw: str) -> list[str]:
    return nbmod.code_cells(nbmod.read_notebook(release_path(hw)))


def grade(cells: list[str], hw: str, items: list[str] | None = None, seed: int = DEFAULT_SEED):
    return grade_cells(cells, hw, items, seed)


@functools.lru_cache(maxsize=None)
def conventions(hw: str) -> dict[str, dict[str, dict]]:
    """CONVENTIONS of every ``tests/<hw>/cases_*.py``, merged per item:
    ``{item: {name: {"code": str, "loses": points, "says": text}}}`` -- a correct
    solution written to another widely used convention (torchvision, scikit-learn,
    CS231n, ...), which must lose exactly its own small part (at most ``loses``
    points, more than none) with a reason that contains ``says``."""
    out: dict[str, dict[str, dict]] = {}
    for f in sorted((ROOT / "tests" / hw).glob("cases_*.py")):
        mod = importlib.import_module(f"tests.{hw}.{f.stem}")
        for item, named in getattr(mod, "CONVENTIONS", {}).items():
            out.setdefault(item, {}).update(named)
    return out


@functools.lru_cache(maxsize=None)
def cases(hw: str) -> tuple[dict, dict]:
    """MUTANTS and ALTERNATIVES of every ``tests/<hw>/cases_*.py``, merged per item."""
    mutants: dict[str, dict[str, str]] = {}
    alternatives: dict[str, dict[str, str]] = {}
    for f in sorted((ROOT / "tests" / hw).glob("cases_*.py")):
        mod = importlib.import_module(f"tests.{hw}.{f.stem}")
        for src, dst in ((getattr(mod, "MUTANTS", {}), mutants), (getattr(mod, "ALTERNATIVES", {}), alternatives)):
            for item, named in src.items():
                dst.setdefault(item, {}).update(named)
    return mutants, alternatives
