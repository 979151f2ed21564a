"""nbgrader settings of the grader account (the formgrader service and the
commands a TA runs as that account): the course folder's own
nbgrader_config.py (grading, feedback, gradebook URL), with the course root and
id of this hub."""
import os
import sys

_HUB_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if _HUB_DIR not in sys.path:
    sys.path.insert(0, _HUB_DIR)
import course_hub  # noqa: E402

c = get_config()  # noqa: F821 -- provided by traitlets when it loads this file

load_subconfig(os.path.join(course_hub.COURSE_DIR, "nbgrader_config.py"))  # noqa: F821
c.CourseDirectory.root = course_hub.COURSE_DIR
c.CourseDirectory.course_id = course_hub.COURSE_ID
