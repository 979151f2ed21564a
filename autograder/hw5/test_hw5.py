"""HW5 graders as a pytest suite: `pytest autograder/hw5 [--submission NOTEBOOK]`."""
from autograder.suite import make_test

report, test_item = make_test("hw5")
