"""The graders also run as a pytest suite per homework (autograder/<hw>/test_<hw>.py):
the reference passes every item's test, the blank release fails every one, with
the item's reason in the failure."""
from __future__ import annotations

import subprocess
import sys

from tests.kit import ROOT, get_assignment, release_path


def _pytest(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_hw1_suite_passes_the_reference_and_fails_the_blank_release():
    n = len(get_assignment("hw1").items)
    ok = _pytest("autograder/hw1")
    assert ok.returncode == 0 and f"{n} passed" in ok.stdout, ok.stdout[-2000:]
    blank = _pytest("autograder/hw1", "--submission", str(release_path("hw1")))
    assert blank.returncode == 1 and f"{n} failed" in blank.stdout, blank.stdout[-2000:]
    assert "not implemented yet" in blank.stdout
