"""Quiet nbgrader runs: drop the warnings that say nothing a TA can act on, at their
source, and keep every other one. ``nbgrader_config.py`` calls :func:`install`.

- nbgrader stores each hidden-test cell's checksum *with* its hidden tests, and the
  released cell (which has none) never matches it: ``autograde`` warns "Attribute
  'checksum' for cell ... has changed!" for every test cell of every submission.
  Dropped only where the submitted cell is byte for byte the released one (its
  checksum equals the checksum recorded in ``release/``); a student who edited a
  locked cell is still reported.
- nbgrader 0.9's gradebook adds objects in a way SQLAlchemy 2 warns about ("Object
  of type <SubmittedNotebook> not in session, add operation along ... will not
  proceed"); the objects are added right after, nothing is lost.
- ``generate_feedback`` configures ``display_data_priority`` on preprocessors that
  have no such option, and nbconvert counts images without alternative text in the
  student's outputs.
"""
from __future__ import annotations

import glob
import json
import logging
import os
import re
import warnings

APPS = ("NbGraderApp", "AutogradeApp", "GenerateFeedbackApp", "GenerateAssignmentApp", "ExportApp",
        "GenerateSolutionApp", "ValidateApp")
_CHECKSUM = "Attribute '%s' for cell %s has changed! (should be: %s, got: %s)"
_NOISE = (re.compile(r"^Config option `display_data_priority` not recognized by"),
          re.compile(r"^Alternative text is missing on \d+ image"))


def released_checksums(course_root: str) -> set[tuple[str, str]]:
    """``(grade_id, checksum)`` of every locked cell of the released notebooks."""
    out = set()
    for path in glob.glob(os.path.join(course_root, "release", "*", "*.ipynb")):
        try:
            with open(path, encoding="utf-8") as f:
                nb = json.load(f)
        except (OSError, ValueError):
            continue
        for cell in nb.get("cells", []):
            md = cell.get("metadata", {}).get("nbgrader", {})
            if isinstance(md, dict) and md.get("locked") and md.get("grade_id") and md.get("checksum"):
                out.add((md["grade_id"], md["checksum"]))
    return out


class QuietFilter(logging.Filter):
    def __init__(self, course_root: str):
        super().__init__()
        self.root = course_root
        self._released: set | None = None

    def released(self) -> set:
        if self._released is None:
            self._released = released_checksums(self.root)
        return self._released

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == _CHECKSUM and isinstance(record.args, tuple) and len(record.args) == 4:
            attr, name, _old, new = record.args
            return not (attr == "checksum" and (name, new) in self.released())
        if isinstance(record.msg, str) and any(p.search(record.msg) for p in _NOISE):
            return False
        return True


def install(course_root: str) -> None:
    """Filter the noise above in this process (nbgrader loads its config file in the
    process that then runs the command)."""
    flt = QuietFilter(course_root)
    for name in APPS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, QuietFilter) for f in logger.filters):
            logger.addFilter(flt)
    warnings.filterwarnings("ignore", message=r"Object of type <\w+> not in session, add operation along")
