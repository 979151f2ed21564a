"""nbgrader configuration of the course kit. The repo root is the course folder:
source/ and release/ are committed; submitted/, autograded/, feedback/ and the
gradebook are made by the TA's runs and ignored by git."""
import os
import sys

c = get_config()  # noqa: F821 -- provided by nbgrader when it loads this file

ROOT = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "cnn-course-kit"
c.CourseDirectory.root = ROOT
# SQLite by default; a TA on several machines points this at PostgreSQL, e.g.
# COURSE_KIT_GRADEBOOK=postgresql://user@host/gradebook
c.CourseDirectory.db_url = os.environ.get("COURSE_KIT_GRADEBOOK", "sqlite:///" + os.path.join(ROOT, "gradebook.db"))
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# What a student sees in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Autograde runs the sealed engine instead of executing the student's kernel: our
# preprocessor takes the place of nbgrader's Execute, grades each notebook with the
# same engine as `python -m autograder grade-all` (warm across the class) and writes
# every hidden-test cell's output itself. A redefined `grade`, a patched kernel or
# an output forged in the file changes nothing (autograder/nbgrader_engine.py).
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from nbgrader.converters.autograde import Autograde as _Autograde  # noqa: E402

from autograder.nbgrader_engine import autograde_preprocessors  # noqa: E402

c.Autograde.autograde_preprocessors = autograde_preprocessors(
    _Autograde.class_traits()["autograde_preprocessors"].default())

# Kernels still run where a person runs a notebook (nbgrader validate, the source
# notebooks' hidden-test cells): give a cell that grades the whole notebook room.
c.Execute.timeout = 600
c.Execute.interrupt_on_timeout = True

# Feedback must never show the hidden tests. FeedbackSummary puts a table at the top
# of each page (task, points, the grader's reason, the written answers once graded)
# and FeedbackExporter names the tasks in the page's index (autograder/feedback.py).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "autograder.feedback.FeedbackSummary",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
c.GenerateFeedback.exporter_class = "autograder.feedback.FeedbackExporter"

# No flood of warnings a TA cannot act on (every hidden-test cell's checksum, SQLAlchemy's
# "not in session"); a locked cell a student edited is still reported (autograder/nbgrader_logs.py).
from autograder.nbgrader_logs import install as _quiet  # noqa: E402

_quiet(ROOT)

# The kernels nbgrader starts import the graders from this folder.
os.environ["PYTHONPATH"] = ROOT + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else "")
