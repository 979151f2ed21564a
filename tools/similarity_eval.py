"""Measure the similarity check on a class built from the kit's own material.

    python tools/similarity_eval.py [hw1 hw2 ...] [--threshold T] [--keep DIR]

Per assignment the class is:

- **independent students** ``ind0``, ``ind1``, ``ind2``: each item's code comes from
  one of its *families*: the reference and its mutants (the kit writes a mutant
  as the reference with one mistake, so they are one family), or one of the
  alternative solutions (written differently on purpose). For every item the
  students hold different families (rotating over the items), so no two
  independent students share a family for any item; the reference family's
  member is the reference or one of its mutants, drawn at random. A student
  whose turn finds no family left leaves the item blank.
- **copies** of each independent student, made by ``tools/disguise.py``: ``light``
  (renamed and reformatted), ``heavy`` (renamed, reformatted, reordered, padded
  with comments and dead code), and ``half`` (half of the items, heavy).

Positives are pairs of notebooks from the same origin (a student and a copy, or
two copies); negatives are pairs from different origins. Precision and recall are
those of the pairs scored at or above the threshold.
"""
from __future__ import annotations

import argparse
import ast
import json
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

try:
    import autograder  # noqa: F401  (the staff package: the repository itself, not an installed one)
except ModuleNotFoundError:  # started as a file: run again as a module of the repository
    if __name__ == "__main__":
        import os
        import subprocess

        _env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
        sys.exit(subprocess.call([sys.executable, "-m", "tools.similarity_eval", *sys.argv[1:]], env=_env))
    raise

from autograder import similarity as sim  # noqa: E402
from autograder.core import get_assignment  # noqa: E402
from autograder.probes import HOMEWORKS  # noqa: E402
from tools.disguise import disguise_notebook  # noqa: E402

N_INDEPENDENT = 3


def _cell(src: str) -> dict:
    return {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": src}


def _reference_defs(cells: list[str]) -> dict[str, str]:
    """Top-level functions and classes of the reference, by name (the last wins)."""
    defs: dict[str, str] = {}
    for src in cells:
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        lines = src.splitlines()
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                defs[node.name] = "\n".join(lines[start - 1:node.end_lineno])
    return defs


def families(hw: str) -> dict[str, list[list[str]]]:
    """item id -> its families, each a list of interchangeable code snippets."""
    from autograder.submissions import solution_text
    from tests.kit import cases, reference_cells

    mutants, alternatives = cases(hw)
    ref = _reference_defs([solution_text(c) for c in reference_cells(hw)])  # as a student leaves it
    out = {}
    for it in get_assignment(hw).items:
        ref_code = "\n\n".join(ref[f] for f in it.functions if f in ref)
        standalone = [c for c in mutants.get(it.id, {}).values() if "_ref" not in c]
        fams = [[ref_code] + standalone]
        fams += [[c] for c in alternatives.get(it.id, {}).values()]
        out[it.id] = fams
    return out


def build_class(hw: str, folder: Path, seed: int = 0) -> dict[str, str]:
    """Write the class under ``folder/<student>/<hw>/``; return student -> origin."""
    from autograder.submissions import write

    a = get_assignment(hw)
    release = json.loads((ROOT / "release" / hw / a.notebook).read_text())
    release_code = [("".join(c["source"]) if isinstance(c["source"], list) else c["source"])
                    for c in release["cells"] if c["cell_type"] == "code"]
    fams = families(hw)
    rng = random.Random(f"{hw}:{seed}")
    origin: dict[str, str] = {}
    for j in range(N_INDEPENDENT):
        chosen: list[str] = []
        for i, it in enumerate(a.items):
            fs = fams[it.id]
            if j >= len(fs):
                continue
            fam = fs[(i + j) % len(fs)]
            chosen.append(rng.choice(fam))
        nb = json.loads(json.dumps(release))
        nb["cells"] += [_cell(c) for c in chosen]
        name = f"ind{j}"
        write(nb, folder / name / hw / a.notebook)
        origin[name] = name
        for level, part in (("light", None), ("heavy", None), ("half", slice(0, None, 2))):
            base = json.loads(json.dumps(release))
            base["cells"] += [_cell(c) for c in (chosen[part] if part else chosen)]
            copy = disguise_notebook(base, release_code, seed=rng.randrange(1 << 30),
                                     level="light" if level == "light" else "heavy")
            cname = f"{name}-{level}"
            write(copy, folder / cname / hw / a.notebook)
            origin[cname] = name
    return origin


def evaluate(hw: str, threshold: float = sim.THRESHOLD, keep: Path | None = None, seed: int = 0) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"simeval-{hw}-") as tmp:
        folder = Path(keep or tmp) / "submitted"
        origin = build_class(hw, folder, seed)
        out, pairs = sim.run(folder, hw, out=Path(keep or tmp) / f"similarity-{hw}.html", threshold=threshold)
    tp = fp = fn = 0
    worst_negative = (0.0, "")
    weakest_positive = (1.0, "")
    for p in pairs:
        same = origin[p.a] == origin[p.b]
        flagged = p.score >= threshold
        tp += same and flagged
        fp += (not same) and flagged
        fn += same and not flagged
        if not same and p.score > worst_negative[0]:
            worst_negative = (p.score, f"{p.a}~{p.b}")
        if same and p.score < weakest_positive[0]:
            weakest_positive = (p.score, f"{p.a}~{p.b}")
    return {"hw": hw, "students": len(origin), "pairs": len(pairs), "positives": tp + fn,
            "negatives": len(pairs) - tp - fn, "tp": tp, "fp": fp, "fn": fn,
            "precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / (tp + fn) if tp + fn else 1.0,
            "highest_negative": worst_negative, "lowest_positive": weakest_positive}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("hws", nargs="*", default=list(HOMEWORKS))
    p.add_argument("--threshold", type=float, default=sim.THRESHOLD)
    p.add_argument("--keep", help="write the class and the pages into this folder")
    args = p.parse_args(argv)
    tot = {"tp": 0, "fp": 0, "fn": 0, "positives": 0, "negatives": 0}
    for hw in args.hws:
        r = evaluate(hw, args.threshold, Path(args.keep) / hw if args.keep else None)
        for k in tot:
            tot[k] += r[k]
        print(f"{hw}: {r['students']} students, {r['positives']} copy pairs, {r['negatives']} independent pairs; "
              f"precision {r['precision']:.3f}, recall {r['recall']:.3f}; highest independent pair "
              f"{r['highest_negative'][0]:.2f} ({r['highest_negative'][1]}), lowest copy pair "
              f"{r['lowest_positive'][0]:.2f} ({r['lowest_positive'][1]})")
    prec = tot["tp"] / (tot["tp"] + tot["fp"]) if tot["tp"] + tot["fp"] else 1.0
    rec = tot["tp"] / (tot["tp"] + tot["fn"]) if tot["tp"] + tot["fn"] else 1.0
    print(f"all: {tot['positives']} copy pairs, {tot['negatives']} independent pairs, threshold {args.threshold:g}: "
          f"precision {prec:.3f}, recall {rec:.3f} (false positives {tot['fp']}, missed copies {tot['fn']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
