"""Red-team suite of the sealed grading engine (issue 12): attacks a student who has read
this repository would paste into an HW1 notebook (:mod:`tests.redteam.attacks`), run
through every grading path by ``tests/test_redteam.py``."""
