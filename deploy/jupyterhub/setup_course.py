"""Prepares the course for the hub; start.sh runs it before JupyterHub.

    python setup_course.py system   # as root: grader account, exchange, course folder
    python setup_course.py course   # as the grader (system runs it): assignments in
                                    # the gradebook, due dates from COURSE_HUB_DUE_DATES

`system` is idempotent: it creates what is missing and fixes owners and modes,
and never overwrites a course folder that exists (a course keeps its gradebook
and submissions there). Settings: course_hub.py."""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import course_hub as hub  # noqa: E402

REPO = HERE.parents[1]
# What a course folder never takes from the repo: the TA's working folders.
NOT_COPIED = {".git", ".venv", "submitted", "autograded", "feedback", "exports", "gradebook.db",
              "__pycache__", ".pytest_cache", ".ipynb_checkpoints"}


def run(*cmd: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kw)


def as_grader(*cmd: str, cwd: str | None = None) -> subprocess.CompletedProcess:
    env = {**hub.jupyter_env(hub.GRADER_CONFIG, grader=True), "HOME": pwd.getpwnam(hub.GRADER).pw_dir,
           "USER": hub.GRADER, "LANG": "C.UTF-8"}
    env.update({k: v for k, v in os.environ.items() if k.startswith("COURSE_HUB_") or k.endswith("_NUM_THREADS")})
    return run("runuser", "-u", hub.GRADER, "--", "env", *[f"{k}={v}" for k, v in env.items()], *cmd,
               cwd=cwd or hub.COURSE_DIR)


def copy_repo(dest: Path) -> None:
    """The repo's files (tracked and untracked, not ignored), or all but NOT_COPIED."""
    try:
        listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-co", "--exclude-standard", "-z"],
                                check=True, capture_output=True).stdout.decode().split("\0")
        files = [f for f in listed if f and not set(Path(f).parts) & NOT_COPIED and (REPO / f).is_file()]
    except (OSError, subprocess.CalledProcessError):
        files = [str(p.relative_to(REPO)) for p in REPO.rglob("*")
                 if p.is_file() and not set(p.relative_to(REPO).parts) & NOT_COPIED]
    for f in files:
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / f, dest / f)


def system() -> None:
    if os.geteuid() != 0:
        sys.exit("setup_course.py system: run as root (it creates an account and folders)")
    try:
        pwd.getpwnam(hub.GRADER)
    except KeyError:
        run("useradd", "--create-home", "--shell", "/bin/bash", hub.GRADER)
    grader = pwd.getpwnam(hub.GRADER)
    os.chmod(grader.pw_dir, 0o700)
    # The exchange: everyone may create in it (nbgrader needs that), sticky so no one
    # removes another's entry; the course's folder in it belongs to the grader.
    exchange = Path(hub.EXCHANGE)
    exchange.mkdir(parents=True, exist_ok=True)
    os.chmod(exchange, 0o1777)
    course_box = exchange / hub.COURSE_ID
    course_box.mkdir(exist_ok=True)
    os.chown(course_box, grader.pw_uid, grader.pw_gid)
    os.chmod(course_box, 0o755)
    # The course folder: a copy of this repo, private to the grader (solutions, hidden
    # graders, gradebook).
    course = Path(hub.COURSE_DIR)
    if not course.exists():
        course.mkdir(parents=True)
        copy_repo(course)
        run("chown", "-R", f"{grader.pw_uid}:{grader.pw_gid}", str(course))
    os.chmod(course, 0o700)
    state = Path(hub.STATE)
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o700)
    as_grader(sys.executable, str(Path(__file__).resolve()), "course")


def course() -> None:
    """As the grader, in the course folder: every assignment of ASSIGNMENTS in the
    gradebook (generate_assignment adds it, with the cells autograde needs), then the
    due dates."""
    from nbgrader.api import Gradebook
    from nbgrader.apps.baseapp import NbGrader
    from nbgrader.coursedir import CourseDirectory

    app = NbGrader()
    app.load_config_file()
    coursedir = CourseDirectory(config=app.config)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        known = {a.name for a in gb.assignments}
    for name in hub.ASSIGNMENTS:
        if name not in known:
            run(sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force", "--log-level=WARN")
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        for name, due in hub.DUE_DATES.items():
            gb.update_or_create_assignment(name, duedate=due)
            print(f"{name}: due {gb.find_assignment(name).duedate} UTC")


if __name__ == "__main__":
    {"system": system, "course": course}[sys.argv[1] if len(sys.argv) > 1 else "system"]()
