"""Options of the graders' pytest suites (see autograder/suite.py)."""


def pytest_addoption(parser):
    parser.addoption("--submission", default=None, help="notebook to grade (default: the reference solution)")
    parser.addoption("--seed", type=int, default=None, help="grading seed (default: the course's fixed seed)")
