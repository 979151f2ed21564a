"""HW4 graders as a pytest suite: `pytest autograder/hw4 [--submission NOTEBOOK]`."""
from autograder.suite import make_test

report, test_item = make_test("hw4")
