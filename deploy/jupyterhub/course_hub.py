"""The course on one JupyterHub: its settings and the two nbgrader classes it adds.

Read by jupyterhub_config.py (the hub), by config/*/nbgrader_config.py (every
account's nbgrader, in the single-user servers and on the command line) and by
setup_course.py. Every setting is an environment variable with a default;
start.sh reads them from a file (course.env, see course.env.example) so that
the hub, the grader's service and every student's server agree.

The two classes harden nbgrader's default exchange, which otherwise
- leaves each submission world-readable (files 0644 in a folder 0777: only the
  unguessable folder name keeps a classmate out), and
- collects a submission under whatever student id the submitter wrote into its
  folder name (``nbgrader submit --student=alice`` from bob's account), with only
  a warning.
"""
from __future__ import annotations

import glob
import math
import os
import pwd
import shutil
import stat
import sys

from traitlets import Float

HERE = os.path.dirname(os.path.abspath(__file__))


def _env(name: str, default: str) -> str:
    value = os.environ.get("COURSE_HUB_" + name, "").strip()
    return value or default


def _names(name: str) -> list[str]:
    return [n.strip() for n in _env(name, "").split(",") if n.strip()]


COURSE_ID = _env("COURSE_ID", "cnn-course-kit")
# The account that owns the course folder and runs the formgrader service.
GRADER = _env("GRADER", "grader-" + COURSE_ID)
COURSE_DIR = _env("COURSE_DIR", os.path.join("/home", GRADER, COURSE_ID))
EXCHANGE = _env("EXCHANGE", "/srv/nbgrader/exchange")
STATE = _env("STATE", "/srv/jupyterhub/" + COURSE_ID)
# Instructors and TAs: they reach the formgrader service.
INSTRUCTORS = _names("INSTRUCTORS")
# Students: "*" lets every local account log in.
STUDENTS = _names("STUDENTS")
IP = _env("IP", "127.0.0.1")
PORT = int(_env("PORT", "8000"))
HUB_PORT = int(_env("HUB_PORT", "8081"))
PROXY_API_PORT = int(_env("PROXY_API_PORT", "8001"))
SERVICE_PORT = int(_env("SERVICE_PORT", "9999"))
# Where jupyterhub-singleuser and nbgrader live (the kit's virtual environment).
BIN = _env("BIN", os.path.dirname(sys.executable))
# Late policy: this fraction of the notebook's autograded score per started day late.
LATE_FRACTION_PER_DAY = float(_env("LATE_FRACTION_PER_DAY", "0.2"))
# "hw1=2027-03-01T23:59:00+00:00,hw2=..." (ISO 8601 with an offset)
DUE_DATES = dict(item.split("=", 1) for item in _names("DUE_DATES"))
ASSIGNMENTS = _names("ASSIGNMENTS") or ["hw1", "hw2", "hw3", "hw4", "hw5"]
# Folders of this directory put on JUPYTER_CONFIG_PATH, per kind of account.
STUDENT_CONFIG = [os.path.join(HERE, "config", "student"), os.path.join(HERE, "config", "common")]
GRADER_CONFIG = [os.path.join(HERE, "config", "grader"), os.path.join(HERE, "config", "common")]


# What only the grader's processes get: the gradebook URL and the course secret
# (autograder/core.py), never a student's server.
GRADER_ONLY = ("COURSE_KIT_GRADEBOOK", "COURSE_KIT_SECRET")


def jupyter_env(config_dirs: list[str], grader: bool = False) -> dict[str, str]:
    """Environment of a server or nbgrader command of the course."""
    env = {
        "JUPYTER_CONFIG_PATH": os.pathsep.join(config_dirs),
        "PYTHONPATH": HERE,
        "PATH": BIN + os.pathsep + os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        # the settings themselves, so that every process reads the same ones
        **{k: v for k, v in os.environ.items() if k.startswith("COURSE_HUB_")},
    }
    if grader:
        env.update({k: os.environ[k] for k in GRADER_ONLY if os.environ.get(k)})
    return env


# ---------------------------------------------------------------------------
# nbgrader classes (loaded by name from config/common/nbgrader_config.py)

from nbgrader.exchange.default.collect import ExchangeCollect  # noqa: E402
from nbgrader.exchange.default.submit import ExchangeSubmit  # noqa: E402
from nbgrader.plugins import LateSubmissionPlugin  # noqa: E402


class DailyLatePenalty(LateSubmissionPlugin):
    """Takes ``fraction_per_day`` of the notebook's autograded score for every started
    day (24 h) past the due date, down to zero. nbgrader applies it when it
    autogrades, to the score at that moment."""

    fraction_per_day = Float(0.2, help="Share of the score lost per started day late").tag(config=True)

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        if total_seconds_late <= 0:
            return None
        days = math.ceil(total_seconds_late / 86400)
        penalty = min(float(score), float(score) * self.fraction_per_day * days)
        self.log.info("%s: %d day(s) late, penalty %.2f of %.2f", student_id, days, penalty, score)
        return penalty


class PrivateSubmit(ExchangeSubmit):
    """nbgrader's submit, then the submission is closed to everyone but its owner and
    the course's graders: folders 0770, files 0640, in the group of the inbound
    folder (which release_assignment makes setgid, so every submission inherits the
    grader's group). Where that group did not carry over, the modes stay nbgrader's."""

    def copy_files(self):
        super().copy_files()
        dest = os.path.join(self.inbound_path, self.assignment_filename)
        inbound = os.stat(self.inbound_path)
        if not inbound.st_mode & stat.S_ISGID:
            self.log.warning("inbound folder is not setgid to the graders' group: "
                             "submission left readable by its name (nbgrader's default)")
            return
        # nbgrader's copy resets the folder's mode (and so its setgid bit) before it
        # writes timestamp.txt, which then gets the student's own group. Rebuild the
        # submission in a new folder made in the inbound, where everything inherits
        # the graders' group, and put it in place of the first one. The leading dot
        # keeps the half-built folder out of collect's pattern.
        fresh = os.path.join(self.inbound_path, "." + self.assignment_filename)
        os.mkdir(fresh)
        for folder, dirs, files in os.walk(dest):
            target = os.path.join(fresh, os.path.relpath(folder, dest))
            os.makedirs(target, exist_ok=True)
            for name in files:
                shutil.copyfile(os.path.join(folder, name), os.path.join(target, name))
        for folder, dirs, files in os.walk(fresh, topdown=False):
            for name in files:
                os.chmod(os.path.join(folder, name), 0o640)
            os.chmod(folder, 0o770)
        shutil.rmtree(dest)
        os.rename(fresh, dest)


class VerifiedCollect(ExchangeCollect):
    """nbgrader's collect, but a submission counts only for the account that owns its
    folder: one that claims another student's id (``nbgrader submit --student=...``)
    is skipped, with a warning, and that student's own latest one is taken."""

    def _genuine(self, record) -> bool:
        path = os.path.join(self.inbound_path, record["filename"])
        try:
            owner = pwd.getpwuid(os.stat(path).st_uid).pw_name
        except (KeyError, OSError):
            owner = None
        if owner != record["username"]:
            self.log.warning("skipping %s: it claims student %s but belongs to %s",
                             record["filename"], record["username"], owner)
            return False
        return True

    def init_src(self):
        super().init_src()
        chosen = []
        for picked in self.src_records:
            if self._genuine(picked):
                chosen.append(picked)
                continue
            pattern = "{}+{}+*".format(glob.escape(picked["username"]), glob.escape(self.coursedir.assignment_id))
            mine = [r for r in (self._path_to_record(p) for p in glob.glob(os.path.join(self.inbound_path, pattern)))
                    if self._genuine(r)]
            if self.duedate is not None and self.before_duedate:
                on_time = [r for r in mine if r["timestamp"] <= self.duedate]
                mine = on_time or mine
            if mine:
                chosen.append(self._sort_by_timestamp(mine)[0])
        self.src_records = chosen
