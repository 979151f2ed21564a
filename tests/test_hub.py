"""The course on a real JupyterHub (deploy/jupyterhub/), end to end through
nbgrader's exchange, with local accounts the test creates: a grader account that
owns the course folder and runs the formgrader service, an instructor, and four
students who log in with their passwords and work through their own servers.

One cycle (the module's fixture): release HW1 -> every student fetches it through
their server -> A submits the reference, B a half-done notebook, C a blank one and
then the reference (the later counts), D (late, after the due date) the
reference, and D also submits a blank notebook under A's name -> collect ->
autograde -> generate and release feedback -> every student fetches their own.
The tests then read the gradebook, the feedback, the exchange's file modes, and
try, as student B, to reach what belongs to others; a headless Chromium logs in
as a student (Assignments tab) and as the instructor (formgrader).

Needs root (it creates system users), JupyterHub, nbgrader and
configurable-http-proxy; skips saying which is missing. Users, folders and
processes are removed afterwards."""
from __future__ import annotations

import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.kit import ROOT

HUB_DIR = ROOT / "deploy" / "jupyterhub"
HW = "hw1"
COURSE_ID = "cnn-course-kit"
LATE_FRACTION = 0.2
BIN = Path(sys.executable).parent


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "needs root: the test creates local accounts and the hub runs their servers as them"
    for tool in ("useradd", "userdel", "runuser", "chpasswd"):
        if not shutil.which(tool):
            return f"{tool} not found"
    try:
        import jupyterhub  # noqa: F401
        import pamela  # noqa: F401
    except Exception as e:  # noqa: BLE001
        return f"JupyterHub (pip install -e '.[staff]') not importable: {e}"
    if not shutil.which("configurable-http-proxy"):
        return "configurable-http-proxy not on PATH (npm install -g configurable-http-proxy; .ci/run does it)"
    if not (BIN / "jupyterhub-singleuser").exists():
        return f"no jupyterhub-singleuser beside {sys.executable}"
    return None


pytestmark = pytest.mark.skipif(_why_not() is not None, reason=str(_why_not()))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_user(user: str, *cmd: str, cwd=None, env: dict | None = None, check: bool = True,
            timeout: int = 900) -> subprocess.CompletedProcess:
    """Runs cmd as a local account, with the course's environment."""
    home = pwd.getpwnam(user).pw_dir
    full = {"HOME": home, "USER": user, "LOGNAME": user, "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", **(env or {})}
    proc = subprocess.run(["runuser", "-u", user, "--", "env", "-i", *[f"{k}={v}" for k, v in full.items()], *cmd],
                          cwd=cwd or home, capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, f"{user}: {' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


class Times(dict):
    """Seconds per step, printed as they come (pytest -s) and kept for the report."""

    def __setitem__(self, what, secs):
        print(f"[hub] {what}: {secs:.1f} s", file=sys.stderr, flush=True)
        super().__setitem__(what, secs)


class Hub:
    """The running hub, its accounts and their tokens."""

    def __init__(self, base: Path):
        tag = secrets.token_hex(2)
        self.base = base
        self.grader = f"ckg{tag}"
        self.instructor = f"cki{tag}"
        self.students = {k: f"cks{tag}{k.lower()}" for k in "ABCD"}
        self.passwords = {u: secrets.token_urlsafe(12) for u in self.users()}
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.course_dir = Path("/home") / self.grader / COURSE_ID
        self.exchange = base / "exchange"
        self.env = {
            "COURSE_HUB_GRADER": self.grader,
            "COURSE_HUB_COURSE_DIR": str(self.course_dir),
            "COURSE_HUB_EXCHANGE": str(self.exchange),
            "COURSE_HUB_STATE": str(base / "state"),
            "COURSE_HUB_INSTRUCTORS": self.instructor,
            "COURSE_HUB_STUDENTS": ",".join(self.students.values()),
            "COURSE_HUB_PORT": str(self.port),
            "COURSE_HUB_HUB_PORT": str(_free_port()),
            "COURSE_HUB_PROXY_API_PORT": str(_free_port()),
            "COURSE_HUB_SERVICE_PORT": str(_free_port()),
            "COURSE_HUB_BIN": str(BIN),
            "COURSE_HUB_ASSIGNMENTS": HW,
            "COURSE_HUB_LATE_FRACTION_PER_DAY": str(LATE_FRACTION),
        }
        self.tokens: dict[str, str] = {}
        self.proc: subprocess.Popen | None = None
        self.log = base / "hub.log"
        self.times = Times()

    def users(self) -> list[str]:
        return [self.grader, self.instructor, *self.students.values()]

    def course_env(self, grader: bool = False) -> dict:
        sub = "grader" if grader else "student"
        return {**self.env, "PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin", "PYTHONPATH": str(HUB_DIR),
                "JUPYTER_CONFIG_PATH": f"{HUB_DIR}/config/{sub}:{HUB_DIR}/config/common"}

    def grade(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        """An nbgrader command as the grader account, in the course folder."""
        return as_user(self.grader, str(BIN / "python"), "-m", "nbgrader", *args, cwd=self.course_dir,
                       env={**self.course_env(grader=True), **(env or {})})

    # -- REST -------------------------------------------------------------------
    def api(self, method: str, path: str, user: str, **kw):
        import requests

        r = requests.request(method, self.url + path, headers={"Authorization": f"token {self.tokens[user]}"},
                             timeout=300, **kw)
        return r

    def login(self, user: str) -> None:
        """A token for the user, from the hub's PAM login with the user's password."""
        import requests

        r = requests.post(f"{self.url}/hub/api/users/{user}/tokens", timeout=60,
                          json={"auth": {"username": user, "password": self.passwords[user]}, "note": "test"})
        assert r.status_code in (200, 201), (r.status_code, r.text)
        self.tokens[user] = r.json()["token"]

    def start_server(self, user: str) -> None:
        r = self.api("POST", f"/hub/api/users/{user}/server", user)
        assert r.status_code in (201, 202, 400), (r.status_code, r.text)  # 400: already running

    def wait_server(self, user: str) -> None:
        deadline = time.time() + 240
        while time.time() < deadline:
            info = self.api("GET", f"/hub/api/users/{user}", user).json()
            server = (info.get("servers") or {}).get("")
            if server and server.get("ready"):
                return
            time.sleep(0.5)
        raise AssertionError(f"server of {user} not ready; hub log:\n{self.log.read_text()[-4000:]}")

    def action(self, user: str, action: str) -> list:
        r = self.api("POST", f"/user/{user}/assignments/{action}", user,
                     data={"course_id": COURSE_ID, "assignment_id": HW})
        assert r.status_code == 200, (r.status_code, r.text)
        out = r.json()
        assert not (isinstance(out, dict) and out.get("success") is False), out
        return out

    def put_notebook(self, user: str, nb: dict) -> None:
        r = self.api("PUT", f"/user/{user}/api/contents/{HW}/{HW}.ipynb", user,
                     json={"type": "notebook", "format": "json", "content": nb})
        assert r.status_code in (200, 201), (r.status_code, r.text)


def _traverse_grants(paths: list[Path]) -> list[tuple[Path, int]]:
    """Adds o+x to the folders above the kit's environment and repo that lack it (so
    the test's accounts can run its Python), returning what to restore."""
    changed = []
    for p in paths:
        for folder in [p, *p.parents]:
            mode = folder.stat().st_mode
            if not mode & stat.S_IXOTH:
                changed.append((folder, stat.S_IMODE(mode)))
                os.chmod(folder, stat.S_IMODE(mode) | stat.S_IXOTH)
    return changed


def _kill_user_processes(uids: set[int]) -> None:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid in uids:
                    os.kill(int(entry.name), signal.SIGKILL)
            except (OSError, ProcessLookupError):
                pass


@pytest.fixture(scope="module")
def hub():
    base = Path(tempfile.mkdtemp(prefix="ck-hub-"))
    os.chmod(base, 0o755)
    h = Hub(base)
    # The kit's Python may live under a private folder (a pyenv build in /root): the
    # accounts need to traverse to it for the test's duration.
    restore = _traverse_grants([BIN, ROOT, Path(os.path.realpath(sys.executable)).parent, Path(sys.base_prefix)])
    created = []
    try:
        for user in h.users():
            subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", user], check=True)
            created.append(user)
            os.chmod(pwd.getpwnam(user).pw_dir, 0o700)
        subprocess.run(["chpasswd"], input="".join(f"{u}:{p}\n" for u, p in h.passwords.items()),
                       text=True, check=True)
        probe = as_user(h.students["A"], str(BIN / "python"), "-c", "import nbgrader, cnnkit, jupyterhub",
                        check=False, env=h.course_env())
        if probe.returncode != 0:
            pytest.skip(f"a local account cannot run the kit's Python ({sys.executable}): {probe.stderr[-500:]}")
        t0 = time.time()
        with open(h.log, "w") as log:
            h.proc = subprocess.Popen(["bash", str(HUB_DIR / "start.sh"), "/dev/null"], cwd=ROOT,
                                      env={**os.environ, **h.env, "PATH": f"{BIN}:{os.environ['PATH']}"},
                                      stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        _wait_for_hub(h)
        h.times["hub start (setup_course + hub + formgrader service)"] = time.time() - t0
        yield h
    finally:
        keep = os.environ.get("COURSE_HUB_TEST_KEEP")  # a folder: the course's results and logs go there
        if keep:
            for what in ("gradebook.db", "submitted", "autograded", "feedback"):
                src = h.course_dir / what
                if src.is_dir():
                    shutil.copytree(src, Path(keep) / what, dirs_exist_ok=True)
                elif src.exists():
                    shutil.copy(src, Path(keep) / what)
            for f in [h.log, *h.base.glob("*.png")]:
                shutil.copy(f, Path(keep) / f.name)
        if h.proc is not None and h.proc.poll() is None:
            os.killpg(h.proc.pid, signal.SIGTERM)
            try:
                h.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(h.proc.pid, signal.SIGKILL)
        uids = {pwd.getpwnam(u).pw_uid for u in created}
        _kill_user_processes(uids)
        for user in created:
            subprocess.run(["userdel", "--remove", "--force", user], capture_output=True)
        for folder, mode in reversed(restore):
            os.chmod(folder, mode)
        shutil.rmtree(base, ignore_errors=True)


def _wait_for_hub(h: Hub) -> None:
    import requests

    deadline = time.time() + 240
    service = f"http://127.0.0.1:{h.env['COURSE_HUB_SERVICE_PORT']}/services/{COURSE_ID}/api/status"
    while time.time() < deadline:
        if h.proc.poll() is not None:
            raise AssertionError(f"hub exited {h.proc.returncode}:\n{h.log.read_text()[-6000:]}")
        try:
            up = requests.get(h.url + "/hub/api/", timeout=5).status_code == 200
            svc = requests.get(service, timeout=5, allow_redirects=False).status_code in (200, 302, 403)
            if up and svc:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise AssertionError(f"hub not up in 240 s:\n{h.log.read_text()[-6000:]}")


# ---------------------------------------------------------------------------
# The notebooks the students hand in


def _notebooks():
    from autograder.submissions import make_submission
    from tests.kit import source_notebook

    release = json.loads((ROOT / "release" / HW / f"{HW}.ipynb").read_text())
    source = source_notebook(HW)
    # Each autograded test cell and the solution cells before it (since the last one).
    groups, pending = [], []
    for cell in source["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and cell["cell_type"] == "code":
            pending.append(meta["grade_id"])
        elif meta.get("grade") and not meta.get("solution"):
            groups.append((meta["grade_id"], float(meta["points"]), pending))
            pending = []
    full = sum(p for _, p, _ in groups)
    half = groups[:2]
    return {
        "reference": (make_submission(release, source), full),
        "half": (make_submission(release, source, fill={g for _, _, sol in half for g in sol}), sum(p for _, p, _ in half)),
        "blank": (release, 0.0),
    }, full


@pytest.fixture(scope="module")
def cycle(hub):
    """The whole course cycle; returns what the students handed in and their expected points."""
    nbs, full = _notebooks()
    A, B, C, D = (hub.students[k] for k in "ABCD")
    t = time.time()
    hub.grade("release_assignment", HW)
    hub.times["release"] = time.time() - t

    t = time.time()
    for s in hub.students.values():  # the hub starts the four servers side by side
        hub.login(s)
        hub.start_server(s)
    for s in hub.students.values():
        hub.wait_server(s)
    hub.times["4 logins and servers"] = time.time() - t

    t = time.time()
    listed = {}
    for s in hub.students.values():
        r = hub.api("GET", f"/user/{s}/assignments", s, params={"course_id": COURSE_ID})
        assert r.status_code == 200, r.text
        listed[s] = r.json()
        hub.action(s, "fetch")
        assert (Path(pwd.getpwnam(s).pw_dir) / HW / f"{HW}.ipynb").is_file()

    plan = {A: "reference", B: "half", C: "reference", D: "reference"}
    for s in (A, B):
        hub.put_notebook(s, nbs[plan[s]][0])
        hub.action(s, "submit")
    # D hands in a blank notebook under A's name, after A's own submission.
    spoof_dir = Path(pwd.getpwnam(D).pw_dir) / "spoof"
    as_user(D, "mkdir", "-p", str(spoof_dir / HW))
    as_user(D, str(BIN / "python"), "-c",
            f"import json,sys; json.dump(json.load(open({str(ROOT / 'release' / HW / (HW + '.ipynb'))!r})), "
            f"open({str(spoof_dir / HW / (HW + '.ipynb'))!r}, 'w'))")
    as_user(D, str(BIN / "python"), "-m", "nbgrader", "submit", HW, f"--student={A}", cwd=spoof_dir, env=hub.course_env())
    # C hands in twice: the blank release, then the reference.
    hub.put_notebook(C, nbs["blank"][0])
    hub.action(C, "submit")
    time.sleep(1)
    hub.put_notebook(C, nbs["reference"][0])
    hub.action(C, "submit")
    # The due date passes; D's own submission is late.
    # (rounded up to the second, so that C's last submission is surely before it)
    due = (datetime.now(timezone.utc) + timedelta(seconds=1)).replace(microsecond=0)
    as_user(hub.grader, str(BIN / "python"), str(HUB_DIR / "setup_course.py"), "course", cwd=hub.course_dir,
            env={**hub.course_env(grader=True), "COURSE_HUB_DUE_DATES": f"{HW}={due.isoformat()}"})
    while datetime.now(timezone.utc) <= due + timedelta(seconds=1):
        time.sleep(0.2)
    hub.put_notebook(D, nbs["reference"][0])
    hub.action(D, "submit")
    hub.times["fetch and 6 submissions"] = time.time() - t

    t = time.time()
    collect = hub.grade("collect", HW)
    hub.times["collect"] = time.time() - t
    t = time.time()
    autograde = hub.grade("autograde", HW, "--force")
    hub.times["autograde (4 notebooks)"] = time.time() - t
    t = time.time()
    hub.grade("generate_feedback", HW, "--force")
    hub.grade("release_feedback", HW)
    for s in hub.students.values():
        hub.action(s, "fetch_feedback")
    hub.times["feedback: generate, release, 4 fetches"] = time.time() - t
    expected = {A: full, B: nbs["half"][1], C: full, D: full * (1 - LATE_FRACTION)}
    return {"expected": expected, "full": full, "listed": listed, "due": due, "autograde": autograde,
            "collect": collect.stdout + collect.stderr}


def _gradebook(hub):
    from nbgrader.api import Gradebook

    return Gradebook("sqlite:///" + str(hub.course_dir / "gradebook.db"), COURSE_ID)


def test_students_see_the_released_assignment(hub, cycle):
    for s, listed in cycle["listed"].items():
        released = [a for a in listed["value"] if a["assignment_id"] == HW and a["status"] == "released"]
        assert released, (s, listed)


def test_gradebook_points(hub, cycle):
    with _gradebook(hub) as gb:
        for s, want in cycle["expected"].items():
            sub = gb.find_submission(HW, s)
            # nbgrader keeps the penalty beside the points, not inside them
            net = sub.score - (sub.late_submission_penalty or 0)
            assert net == pytest.approx(want, abs=1e-6), (s, sub.score, sub.late_submission_penalty, want)
            assert sub.code_score == pytest.approx(cycle["full"] if s != hub.students["B"] else want)
        late = gb.find_submission(HW, hub.students["D"])
        assert late.total_seconds_late > 0
        assert late.late_submission_penalty == pytest.approx(LATE_FRACTION * cycle["full"])
        for k in "ABC":
            on_time = gb.find_submission(HW, hub.students[k])
            assert on_time.total_seconds_late == 0 and not on_time.late_submission_penalty, k
    assert cycle["expected"][hub.students["B"]] < cycle["full"]


def _feedback_html(hub, student: str) -> str:
    found = list((Path(pwd.getpwnam(student).pw_dir) / HW / "feedback").glob(f"*/{HW}.html"))
    assert len(found) >= 1, student
    return max(found, key=lambda p: p.stat().st_mtime).read_text()


def test_each_student_fetched_their_own_feedback(hub, cycle):
    with _gradebook(hub) as gb:
        max_score = gb.find_assignment(HW).max_score
    for s, want in cycle["expected"].items():
        html = _feedback_html(hub, s)
        m = re.search(rf"{HW} \(Score: ([0-9.]+) / ([0-9.]+)\)", html)
        assert m, s
        assert float(m.group(1)) == pytest.approx(want, abs=0.01), (s, m.group(1), want)
        assert float(m.group(2)) == pytest.approx(max_score)
        assert ("Late submission penalty" in html) == (s == hub.students["D"]), s
        assert "### BEGIN HIDDEN TESTS" not in html and "BEGIN SOLUTION" not in html


def test_spoofed_submission_is_not_collected(hub, cycle):
    A, D = hub.students["A"], hub.students["D"]
    inbound = hub.exchange / COURSE_ID / "inbound"
    claims_a = [p for p in inbound.iterdir() if p.name.startswith(A + "+")]
    owners = sorted(pwd.getpwuid(p.stat().st_uid).pw_name for p in claims_a)
    assert owners == sorted([A, D]), owners  # both arrived in the exchange...
    assert f"claims student {A} but belongs to {D}" in cycle["collect"]
    with _gradebook(hub) as gb:  # ...and A kept the reference's points
        assert gb.find_submission(HW, A).score == pytest.approx(cycle["full"])


def test_exchange_modes_keep_students_apart(hub, cycle):
    course = hub.exchange / COURSE_ID
    inbound, feedback = course / "inbound", course / "feedback"
    assert stat.S_IMODE(inbound.stat().st_mode) & 0o004 == 0  # no one lists the inbound
    assert stat.S_IMODE(feedback.stat().st_mode) & 0o004 == 0  # nor the feedback
    grader_gid = pwd.getpwnam(hub.grader).pw_gid
    for sub in inbound.iterdir():
        for p in [sub, *sub.rglob("*")]:
            st = p.stat()
            assert stat.S_IMODE(st.st_mode) & 0o007 == 0, (p, oct(st.st_mode))
            assert st.st_gid == grader_gid, p
    assert stat.S_IMODE(hub.course_dir.stat().st_mode) & 0o077 == 0
    for s in hub.students.values():
        assert stat.S_IMODE(Path(pwd.getpwnam(s).pw_dir).stat().st_mode) & 0o077 == 0


def test_a_student_cannot_reach_anothers_work(hub, cycle):
    A, B = hub.students["A"], hub.students["B"]
    course = hub.exchange / COURSE_ID
    a_subs = [p for p in (course / "inbound").iterdir()
              if p.name.startswith(A + "+") and pwd.getpwuid(p.stat().st_uid).pw_name == A]
    a_feedback = _feedback_html(hub, A)  # noqa: F841 -- it exists
    tries = {
        "list the inbound": ["ls", str(course / "inbound")],
        "list the feedback": ["ls", str(course / "feedback")],
        "read A's submission by its exact name": ["cat", str(a_subs[0] / f"{HW}.ipynb")],
        "list A's submission": ["ls", str(a_subs[0])],
        "read A's home": ["ls", pwd.getpwnam(A).pw_dir],
        "read the course folder": ["ls", str(hub.course_dir / "source")],
        "read the gradebook": ["cat", str(hub.course_dir / "gradebook.db")],
    }
    for what, cmd in tries.items():
        r = as_user(B, *cmd, check=False)
        assert r.returncode != 0 and "Permission denied" in r.stderr, (what, r.stdout[:300], r.stderr[:300])
    # The same commands work for the owner: the denials above are not a broken set-up.
    assert as_user(A, "cat", str(a_subs[0] / f"{HW}.ipynb"), check=False).returncode == 0
    assert as_user(hub.grader, "ls", str(course / "inbound"), check=False).returncode == 0


CHROMIUM = os.environ.get("COURSE_KIT_CHROMIUM", "/usr/bin/chromium")  # as tests/test_browser.py
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _browser_why_not() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except Exception as e:  # noqa: BLE001
        return f"Playwright for Python not importable ({e})"
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} missing (Debian package chromium; .ci/run installs it)"
    return None


def _logged_in_page(ctx, hub, user):
    page = ctx.new_page()
    page.set_default_timeout(90_000)
    page.goto(hub.url + "/hub/login", wait_until="domcontentloaded")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", hub.passwords[user])
    page.click("#login_submit")
    page.wait_for_url(re.compile(r".*/(hub/home|hub/spawn.*|user/.*)$"))
    return page


@pytest.mark.skipif(_browser_why_not() is not None, reason=str(_browser_why_not()))
def test_browser_assignments_tab_and_formgrader(hub, cycle):
    """A headless Chromium, a fresh profile per person: the student sees HW1 in the
    Assignments panel of JupyterLab; the instructor sees every student's submission in
    the formgrader service; the student is refused the formgrader."""
    from playwright.sync_api import sync_playwright

    A = hub.students["A"]
    t = time.time()
    with sync_playwright() as p:
        def browser(name):
            profile = hub.base / f"chromium-{name}"
            return p.chromium.launch_persistent_context(str(profile), executable_path=CHROMIUM, headless=True,
                                                        args=CHROMIUM_FLAGS)

        ctx = browser("student")
        page = _logged_in_page(ctx, hub, A)
        page.goto(f"{hub.url}/user/{A}/lab", wait_until="domcontentloaded")
        page.get_by_text("Nbgrader", exact=True).first.click()
        page.get_by_text("Assignment List").first.click()
        panel = page.locator(".jp-Activity:visible", has_text="Released, downloaded, and submitted assignments")
        panel.get_by_text(HW, exact=True).first.wait_for()
        text = panel.inner_text()
        assert COURSE_ID in text and HW in text, text[:2000]
        page.screenshot(path=str(hub.base / "student-assignments.png"))
        # a student's session does not open the formgrader service
        r = page.goto(f"{hub.url}/services/{COURSE_ID}/formgrader/manage_submissions/{HW}")
        assert r.status == 403, (r.status, page.url)
        assert hub.students["B"] not in page.content()
        ctx.close()

        ctx = browser("instructor")
        page = _logged_in_page(ctx, hub, hub.instructor)
        page.goto(f"{hub.url}/services/{COURSE_ID}/formgrader/manage_submissions/{HW}", wait_until="domcontentloaded")
        for s in hub.students.values():
            page.get_by_text(s).first.wait_for()
        page.screenshot(path=str(hub.base / "formgrader.png"))
        ctx.close()
    hub.times["browser: student Assignments tab, instructor formgrader"] = time.time() - t


def test_cycle_times(hub, cycle):
    """Not asserted: printed for the report (pytest -s, or -rP)."""
    print("\nhub cycle times on this machine:")
    for what, secs in hub.times.items():
        print(f"  {what:<55} {secs:6.1f} s")
    assert hub.times
