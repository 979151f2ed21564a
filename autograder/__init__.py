"""The course kit's hidden graders. Never handed to students.

``python -m autograder grade NOTEBOOK [--json]`` grades one submission.
"""
