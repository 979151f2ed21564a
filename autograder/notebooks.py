"""Build the nbgrader source notebooks from their text sources (the notebook builder).

Its command line is ``tools/build_notebooks.py`` (``make notebooks`` runs it), or
``python -m autograder.notebooks`` from the repository's root.

``authoring/<hw>/*.nbsrc`` (read in name order) is plain text: each cell starts
with a header line ``%% <kind> [key=value ...]``. Kinds:

    %% markdown                     instructions
    %% code                         a plain code cell (imports, sanity checks, plots)
    %% solution id=bn_forward       a code cell with ### BEGIN/END SOLUTION regions
    %% tests item=hw1.batchnorm_forward
                                    the hidden-test cell of one graded item; its
                                    body and points come from the autograder registry
    %% manual id=q_bn points=4      a written answer a TA grades; the body is the
                                    model answer, which the release replaces

Text diffs of these files are what instructors review; ``make notebooks`` (this
module, through its command line) writes ``source/<hw>/<notebook>.ipynb`` and nbgrader
makes ``release/``.
``--check`` fails if a committed source notebook differs from its build.

Every notebook also gets, from this script rather than from its text source:

* as its first code cell, the install cell: it installs the student package from
  the address in ``course.cfg`` when the kernel lacks it (Colab, a fresh laptop
  kernel) and does nothing when it is there;
* at its end, the self-check cell (``cnnkit.self_check()``), in English and Persian.

``{{handouts}}`` in a markdown cell becomes the handouts' address from ``course.cfg``.
The same settings are written into the README's student install line and into
``environment-student.yml``, and ``--check`` checks those too.

A source notebook whose cells were edited by hand since it was built is not
overwritten (its cells no longer match the fingerprint of the last build, kept in
``authoring/built.json``, not in the notebook, so that nothing derived from the
solutions reaches release/): move the change into ``authoring/``, or pass ``--force``.
"""
from __future__ import annotations

import argparse
import configparser
import hashlib
import json
import re
import sys
from pathlib import Path

from .core import get_assignment
from .probes import HOMEWORKS

ROOT = Path(__file__).resolve().parents[1]

HEADER = re.compile(r"^%% (\w+)(.*)$")
PLACEHOLDER_HOST = "example.org"


def settings() -> dict[str, str]:
    """The instructor's settings (course.cfg): the student package's address and the handouts'."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "course.cfg", encoding="utf-8")
    return {"package_url": cfg["student"]["package_url"].strip(), "handouts": cfg["student"]["handouts"].strip()}


def requirement(extra: str = "") -> str:
    """What pip installs: ``cnn-course-kit[extra] @ <package_url>``."""
    return f"cnn-course-kit{f'[{extra}]' if extra else ''} @ {settings()['package_url']}"


def install_source() -> str:
    """The first code cell of every notebook."""
    return f'''# Set-up, step 1: the course package (cnnkit and the data sets). On Colab or in a fresh
# kernel it is installed once from the course's address (about a minute); where it is
# already installed this cell does nothing. pip adds only what is missing: the torch,
# NumPy and other libraries this kernel already has are kept as they are.
COURSE_PACKAGE = "{requirement()}"


def install_course_package(requirement=COURSE_PACKAGE):
    import importlib
    import importlib.util
    import subprocess
    import sys

    if importlib.util.find_spec("cnnkit") is not None:
        return "the course package is installed"
    if "{PLACEHOLDER_HOST}" in requirement:
        raise RuntimeError("The course package's address is not set yet (the instructor sets it in course.cfg). "
                           "Ask your TA for it, then run: pip install <address>")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", requirement],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"pip could not install {{requirement}}:\\n{{(done.stderr or done.stdout)[-1500:]}}")
    importlib.invalidate_caches()
    return f"installed {{requirement}}"


print(install_course_package())'''


SELF_CHECK_MARKDOWN = """## Before you submit: self-check

Save the notebook (Ctrl+S), then run the cell below. It reads the notebook and lists, item
by item in the notebook's order, what is still missing: functions that still raise
`NotImplementedError`, sanity checks that printed `FAIL` or stopped with an error (or were
not run), and written answers that are still empty. It runs no hidden test, so an empty
list is a good sign, not a grade. Then use *Kernel → Restart & Run All* once, save, and
submit.

<div dir="rtl">

**پیش از تحویل: خودآزمایی.** نوت‌بوک را ذخیره کنید (Ctrl+S) و سلول زیر را اجرا کنید. این
سلول نوت‌بوک را می‌خواند و به ترتیب خود نوت‌بوک، مورد به مورد، نشان می‌دهد چه چیزی هنوز
مانده است: تابع‌هایی که هنوز `NotImplementedError` می‌دهند، بررسی‌های درستی (sanity check)
که `FAIL` چاپ کرده‌اند یا با خطا متوقف شده‌اند (یا هنوز اجرا نشده‌اند)، و پاسخ‌های تشریحی
که هنوز خالی‌اند. این سلول هیچ آزمون پنهانی را اجرا نمی‌کند؛ پس فهرست خالی نشانهٔ خوبی است،
نه نمرهٔ شما. بعد یک بار *Kernel → Restart & Run All* را بزنید، نوت‌بوک را ذخیره کنید و
تحویل دهید.

</div>"""

SELF_CHECK_SOURCE = """# Self-check: what is still missing (it runs no hidden test; save the notebook first).
import cnnkit

cnnkit.self_check()"""


def fingerprint(cells: list[dict]) -> str:
    """A hash of what an author writes in the cells (kind, text, nbgrader metadata),
    not of outputs or of what Jupyter adds when it saves."""
    parts = [[c.get("cell_type"), c.get("source") if isinstance(c.get("source"), str) else "".join(c.get("source", [])),
              c.get("metadata", {}).get("nbgrader")] for c in cells]
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def built_record() -> dict[str, str]:
    """The fingerprint of each source notebook as this script last wrote it."""
    path = ROOT / "authoring" / "built.json"
    return json.loads(path.read_text()) if path.exists() else {}


def edited_by_hand(path: Path, hw: str) -> bool:
    """True if the cells of the notebook at ``path`` changed since this script built it."""
    built = built_record().get(hw)
    if built is None or not path.exists():
        return False
    try:
        nb = json.loads(path.read_text())
    except ValueError:
        return True
    return built != fingerprint(nb.get("cells", []))


def tests_source(item_id: str, points: float) -> str:
    return (
        f"# Hidden tests for {item_id} ({points:g} points) run here when the notebook is graded.\n"
        "### BEGIN HIDDEN TESTS\n"
        "try:\n"
        "    from autograder.nbcell import grade\n"
        "except ImportError:  # run outside nbgrader (jupyter nbconvert --execute): the course folder is above\n"
        "    import pathlib, sys\n"
        "    sys.path[:0] = [str(p) for p in pathlib.Path.cwd().parents if (p / 'autograder' / 'nbcell.py').is_file()][:1]\n"
        "    from autograder.nbcell import grade\n"
        f'grade("{item_id}")\n'
        "### END HIDDEN TESTS"
    )


def parse(text: str, origin: str) -> list[tuple[str, dict, str]]:
    cells: list[tuple[str, dict, list[str]]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        m = HEADER.match(line)
        if m:
            attrs = dict(kv.split("=", 1) for kv in m.group(2).split())
            cells.append((m.group(1), attrs, []))
        elif cells:
            cells[-1][2].append(line)
        elif line.strip():
            raise SystemExit(f"{origin}:{lineno}: text before the first '%% kind' header")
    return [(k, a, "\n".join(body).strip("\n")) for k, a, body in cells]


def build(hw: str) -> tuple[Path, dict]:
    assignment = get_assignment(hw)
    handouts = settings()["handouts"].rstrip("/")
    installed = False
    cells = []
    seen_ids: set[str] = set()
    seen_items: set[str] = set()
    for f in sorted((ROOT / "authoring" / hw).glob("*.nbsrc")):
        for kind, attrs, body in parse(f.read_text(), str(f)):
            if kind != "markdown" and not installed:
                cells.append({"cell_type": "code", "id": f"cell-{len(cells):03d}", "metadata": {},
                              "source": install_source(), "outputs": [], "execution_count": None})
                installed = True
            n = len(cells)
            cid = f"cell-{n:03d}"
            if kind == "markdown":
                body = body.replace("{{handouts}}", handouts)
                cells.append({"cell_type": "markdown", "id": cid, "metadata": {}, "source": body})
                continue
            meta: dict = {}
            if kind == "code":
                pass
            elif kind == "solution":
                meta = {"grade": False, "solution": True, "locked": False, "grade_id": attrs["id"], "schema_version": 3}
            elif kind == "tests":
                item = assignment.item(attrs["item"])
                seen_items.add(item.id)
                body = tests_source(item.id, item.points)
                meta = {"grade": True, "solution": False, "locked": True, "points": item.points,
                        "grade_id": f"{item.short}_tests", "schema_version": 3}
            elif kind == "manual":
                meta = {"grade": True, "solution": True, "locked": False, "points": float(attrs["points"]),
                        "grade_id": attrs["id"], "schema_version": 3}
                cells.append({"cell_type": "markdown", "id": cid, "metadata": {"nbgrader": meta}, "source": body})
                if attrs["id"] in seen_ids:
                    raise SystemExit(f"{f}: duplicate id {attrs['id']}")
                seen_ids.add(attrs["id"])
                continue
            else:
                raise SystemExit(f"{f}: unknown cell kind {kind!r}")
            if meta:
                if meta["grade_id"] in seen_ids:
                    raise SystemExit(f"{f}: duplicate id {meta['grade_id']}")
                seen_ids.add(meta["grade_id"])
                meta = {"nbgrader": meta}
            cells.append({"cell_type": "code", "id": cid, "metadata": meta, "source": body,
                          "outputs": [], "execution_count": None})
    missing = [it.id for it in assignment.items if it.id not in seen_items]
    if missing:
        raise SystemExit(f"{hw}: no hidden-test cell for {', '.join(missing)}")
    cells.append({"cell_type": "markdown", "id": f"cell-{len(cells):03d}", "metadata": {},
                  "source": SELF_CHECK_MARKDOWN})
    cells.append({"cell_type": "code", "id": f"cell-{len(cells):03d}", "metadata": {},
                  "source": SELF_CHECK_SOURCE, "outputs": [], "execution_count": None})
    nb = {
        "cells": cells,
        "metadata": {
            "course_kit": {"assignment": hw},
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return ROOT / "source" / hw / assignment.notebook, nb


def dump(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


README_BEGIN = "<!-- student-install: written from course.cfg by tools/build_notebooks.py -->"
README_END = "<!-- /student-install -->"


def student_files() -> dict[Path, str]:
    """The files outside the notebooks that carry course.cfg's address, as they must read."""
    env = f"""# A student's own environment, without this repository: the course package with
# JupyterLab, ipykernel and ipywidgets (its `student` extra), on the libraries' current
# versions (the package asks only for lower bounds).
#   conda env create -f environment-student.yml && conda activate cnn-course && jupyter lab
# Written from course.cfg by tools/build_notebooks.py: edit course.cfg, not this file.
name: cnn-course
channels:
  - conda-forge
dependencies:
  - python=3.11
  - pip
  - pip:
      - "{requirement('student')}"
"""
    out = {ROOT / "environment-student.yml": env}
    readme = ROOT / "README.md"
    text = readme.read_text()
    if README_BEGIN in text and README_END in text:
        head, rest = text.split(README_BEGIN, 1)
        _, tail = rest.split(README_END, 1)
        indent = head[head.rfind("\n") + 1:]          # the markers' indentation (inside a list item)
        block = "\n".join(["", "```bash", f'pip install "{requirement("student")}"', "```", ""])
        out[readme] = head + README_BEGIN + block.replace("\n", "\n" + indent) + README_END + tail
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="tools/build_notebooks.py", description="Build source/<hw>/*.ipynb from authoring/.")
    p.add_argument("assignments", nargs="*", help="homework ids (default: every homework)")
    p.add_argument("--check", action="store_true", help="fail if a built file differs from what is committed")
    p.add_argument("--force", action="store_true", help="overwrite source notebooks edited by hand")
    args = p.parse_args(argv)
    hws = args.assignments or list(HOMEWORKS)
    stale, edited = [], []
    built = {}
    record = built_record()
    for hw in hws:
        path, nb = build(hw)
        built[path] = dump(nb)
        record[hw] = fingerprint(nb["cells"])
        if not args.check and not args.force and edited_by_hand(path, hw):
            edited.append(str(path.relative_to(ROOT)))
    if edited:
        print("refusing to overwrite " + ", ".join(edited) + ": its cells were edited by hand since "
              "it was built from authoring/. Move the change into authoring/<hw>/*.nbsrc (or undo it "
              "with `git checkout -- <file>`), or overwrite it with `python tools/build_notebooks.py --force`.")
        return 1
    built[ROOT / "authoring" / "built.json"] = json.dumps(dict(sorted(record.items())), indent=1) + "\n"
    for path, text in {**built, **student_files()}.items():
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
        elif not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print("out of date with authoring/ or course.cfg: " + ", ".join(stale) + " (run `make notebooks`)")
        return 1
    if PLACEHOLDER_HOST in settings()["package_url"]:
        print(f"note: course.cfg's package_url is still the {PLACEHOLDER_HOST} placeholder")
    return 0


if __name__ == "__main__":
    sys.exit(main())
