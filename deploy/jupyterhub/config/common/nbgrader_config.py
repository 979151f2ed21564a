"""nbgrader settings of every account on the course's hub (students, instructors
and the grader's formgrader service): which course, where the exchange is, the
hardened submit and collect, and the late-submission policy. On
JUPYTER_CONFIG_PATH through course_hub.jupyter_env()."""
import os
import sys

_HUB_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if _HUB_DIR not in sys.path:
    sys.path.insert(0, _HUB_DIR)
import course_hub  # noqa: E402

c = get_config()  # noqa: F821 -- provided by traitlets when it loads this file

c.CourseDirectory.course_id = course_hub.COURSE_ID
c.Exchange.root = course_hub.EXCHANGE
c.ExchangeFactory.submit = "course_hub.PrivateSubmit"
c.ExchangeFactory.collect = "course_hub.VerifiedCollect"
c.AssignLatePenalties.plugin_class = "course_hub.DailyLatePenalty"
c.DailyLatePenalty.fraction_per_day = course_hub.LATE_FRACTION_PER_DAY
