"""Red team of the sealed grading engine (issue 12), on every grading path.

The attacks of :mod:`tests.redteam.attacks` (code a student who has read this
repository pastes into an HW1 notebook) go through

* ``python -m autograder grade-all --workers 2``: every attack submission, blank +
  attack and reference + attack, with neighbours (references, a blank and a half-done
  notebook), the parent bombs, malformed files and symbolic links, in ONE batch;
* ``nbgrader autograde`` over a throw-away course holding the attacks that matter to
  nbgrader (and, later than the batch, the shared-memory one again);
* ``python -m autograder grade`` where the command line differs: ``TMPDIR`` holding
  other notebooks, a private ``TMPDIR`` with a read-only home, forged results with
  the grading process's peak memory measured, malformed files and exit codes.

Each path runs once per session (module-scoped fixtures); the tests only read what
it left. A blank + attack must score exactly what a blank scores, a reference +
attack exactly full marks (or, where the attack costs its own item by nature, full
marks but for that item), the neighbours their exact scores, and nothing may be left
behind: no process, no System V segment, no file in /tmp, /dev/shm or the run's
TMPDIR, no disk space. Every grader runs with a course secret and a database URL in
its environment, which must appear in no report. Skipped where the system cannot
isolate (not root and no user namespaces).
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.kit import ROOT, release_path, source_notebook
from tests.redteam import attacks

HW = "hw1"
NB = "hw1.ipynb"
GRACE_SECONDS = 20.0  # for the probe servers to notice their judge is gone
DISK_SLACK = 2**30  # other tests may write meanwhile; a filled disk is tens of GB
RSS_BOUND_KB = 1_500_000  # the grading process's peak memory, whatever the child sent
CHAIN_SLACK_SECONDS = 60.0


# ----------------------------------------------------------------------------
# Set-up shared by the paths.


@dataclasses.dataclass
class Ctx:
    token: str
    secret: str
    db_url: str
    release: dict
    source: dict
    dir: Path

    def subs(self, path: str) -> list[attacks.Submission]:
        return attacks.attack_submissions(self.release, self.source, self.token, path=path)


@pytest.fixture(scope="module")
def sealed(tmp_path_factory):
    """Skip where the children cannot be isolated; the summary says why. (The probe
    server it starts gets a TMPDIR of the test's own.)"""
    from autograder import engine

    eng = engine.Engine()
    old = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(tmp_path_factory.mktemp("redteam-selftest"))
    try:
        iso = eng.isolation(())
    except engine.EngineError as e:
        pytest.skip(f"the sealed engine cannot start here: {e}")
    finally:
        eng.close()
        if old is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = old
    if iso.get("level") != "full":
        pytest.skip("this system cannot isolate the grading children (not root and no user namespaces?): "
                    + "; ".join(iso.get("why") or []))
    return iso


@pytest.fixture(scope="module")
def ctx(sealed, tmp_path_factory) -> Ctx:
    return Ctx(token=secrets.token_hex(3), secret="rtsecret" + secrets.token_hex(12),
               db_url=f"postgresql://grader:{secrets.token_hex(10)}@gradebook.invalid:5432/grades",
               release=json.loads(release_path(HW).read_text()), source=source_notebook(HW),
               dir=tmp_path_factory.mktemp("redteam"))


def grader_env(ctx: Ctx, tmpdir: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("COURSE_KIT_ENGINE", "COURSE_KIT_TIMEOUT_SCALE", "COURSE_KIT_GRADEBOOK", "PYTHONPATH")}
    env.update(PYTHONPATH=str(ROOT), COURSE_KIT_SECRET=ctx.secret, DATABASE_URL=ctx.db_url, TMPDIR=str(tmpdir))
    env.update(extra)
    return env


def free_space() -> dict[str, int]:
    out = {}
    for p in ("/", "/tmp", "/dev/shm"):
        try:
            st = os.statvfs(p)
            out[p] = st.f_bavail * st.f_frsize
        except OSError:
            pass
    return out


def leftovers(ctx: Ctx, tmpdir: Path, allowed: set[str] = frozenset()) -> dict:
    """What a run left on the machine: files carrying the token (in /tmp, /dev/shm,
    the home, the run's TMPDIR) or anything new in that TMPDIR, the attack's System V
    segment and abstract socket, and processes: the attacks' (named ckrt<token>) and any
    whose environment names the run's TMPDIR (its workers, probe servers, keepers and
    children, whatever uid they run as)."""
    marker = f"ckrt-{ctx.token}"
    files = []
    for d in {"/tmp", "/dev/shm", os.path.expanduser("~")}:
        try:
            files += [os.path.join(d, n) for n in os.listdir(d) if marker in n]
        except OSError:
            pass
    # (torch's compile cache, made by the judges' own torch in the grading process, is not
    # the student's doing: the children cannot see this folder at all)
    files += [str(p) for p in tmpdir.rglob("*") if str(p) not in allowed and "torchinductor_" not in str(p)]
    key = attacks.shm_key(ctx.token)
    try:
        with open("/proc/sysvipc/shm") as f:
            shm = [line.split()[:4] for line in f.readlines()[1:] if int(line.split()[0]) == key]
    except OSError:
        shm = []
    try:
        with open("/proc/net/unix") as f:
            sockets = [line.split()[-1] for line in f if f"@{marker}" in line]
    except OSError:
        sockets = []
    needle = f"TMPDIR={tmpdir}\0".encode()
    name = f"ckrt{ctx.token}"[:15]
    procs = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open(f"/proc/{d}/comm") as f:
                comm = f.read().strip()
            with open(f"/proc/{d}/environ", "rb") as f:
                environ = f.read()
            uid = os.stat(f"/proc/{d}").st_uid
        except OSError:
            continue
        if comm == name or needle in environ:
            procs.append({"pid": int(d), "uid": uid, "comm": comm})
    found = {"files": files, "shm": shm, "sockets": sockets, "procs": procs}
    return {k: v for k, v in found.items() if v}


def settle(ctx: Ctx, tmpdir: Path, allowed: set[str] = frozenset()) -> dict:
    deadline = time.monotonic() + GRACE_SECONDS
    while True:
        left = leftovers(ctx, tmpdir, allowed)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.5)


def kill_leftovers(left: dict) -> None:
    """Never leave a test's mess on a shared machine (after recording it)."""
    import signal

    for p in left.get("procs", []):
        try:
            os.kill(p["pid"], signal.SIGKILL)
        except OSError:
            pass
    for shm in left.get("shm", []):
        subprocess.run(["ipcrm", "-m", shm[1]], capture_output=True)
    for f in left.get("files", []):
        if "ckrt-" in f:
            try:
                os.unlink(f)
            except OSError:
                pass


def items_of(report: dict) -> dict[str, float]:
    return {i["id"]: i["points"] for i in report["items"]}


def reasons_of(report: dict) -> dict[str, str]:
    return {i["id"]: i["reason"] for i in report["items"]}


def nb_path(folder: Path, student: str) -> Path:
    return folder / student / HW / NB


# ----------------------------------------------------------------------------
# Path 1: grade-all, two workers, one batch.


LINKS = {  # student folder -> (which part is a link, its target)
    "link-folder-neighbour": ("folder", "aaa-neighbour-ref"),
    "link-folder-etc": ("folder", "/etc"),
    "link-hwdir-source": ("hwdir", str(ROOT / "source" / HW)),
    "link-nb-neighbour": ("notebook", f"../../aaa-neighbour-ref/{HW}/{NB}"),
    "link-nb-source": ("notebook", str(ROOT / "source" / HW / NB)),
    "link-nb-shadow": ("notebook", "/etc/shadow"),
}


def make_links(subs: Path) -> dict[str, list[str]]:
    """The links of LINKS; returns, per student, the SHA-256 of every file it points at."""
    digests = {}
    for student, (part, target) in LINKS.items():
        if part == "folder":
            (subs / student).symlink_to(subs / target if not target.startswith("/") else target)
        elif part == "hwdir":
            (subs / student).mkdir()
            (subs / student / HW).symlink_to(target)
        else:
            (subs / student / HW).mkdir(parents=True)
            (subs / student / HW / NB).symlink_to(target)
        digests[student] = []
        for f in (nb_path(subs, student), Path("/etc/shadow"), ROOT / "source" / HW / NB,
                  nb_path(subs, "aaa-neighbour-ref")):
            try:
                digests[student].append(hashlib.sha256(f.read_bytes()).hexdigest())
            except OSError:
                pass
    return digests


@dataclasses.dataclass
class Batch:
    subs: list
    digests: dict
    proc: subprocess.CompletedProcess
    seconds: float
    results: dict
    left: dict
    free_before: dict
    free_after: dict


@pytest.fixture(scope="module")
def batch(ctx) -> Batch:
    root = ctx.dir / "batch"
    folder, tmpdir, out = root / "submitted", root / "tmp", root / "out"
    tmpdir.mkdir(parents=True)
    subs = (attacks.neighbours(ctx.release, ctx.source) + ctx.subs("grade-all")
            + attacks.bombs(ctx.release, ctx.source) + attacks.malformed(ctx.release, ctx.source))
    for s in subs:
        attacks.write_notebook(s, nb_path(folder, s.name))
    digests = make_links(folder)
    before = free_space()
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(folder), "--workers", "2",
                           "--assignment", HW, "--no-progress", "--out", str(out)],
                          env=grader_env(ctx, tmpdir), cwd=ROOT, capture_output=True, text=True, timeout=3600)
    seconds = time.monotonic() - start
    left = settle(ctx, tmpdir)
    after = free_space()
    kill_leftovers(left)
    results = {p.stem: json.loads(p.read_text()) for p in (out / HW).glob("*.json")}
    print(f"\nred team: grade-all of {len(subs) + len(LINKS)} submissions took {seconds:.0f} s")
    return Batch(subs, digests, proc, seconds, results, left, before, after)


def test_grade_all_runs_sealed(batch):
    assert batch.proc.returncode == 0, batch.proc.stderr[-3000:]
    assert "isolation: full" in batch.proc.stdout, batch.proc.stdout
    assert "Traceback" not in batch.proc.stdout + batch.proc.stderr


def _check_scores(result: dict, sub: attacks.Submission, path: str) -> None:
    assert "report" in result, f"{path}: {sub.name} was not graded: {result.get('error')}"
    got = items_of(result["report"])
    bad = {i: (got.get(i), want) for i, want in sub.expect.items() if got.get(i) != want}
    why = {i: r for i, r in reasons_of(result["report"]).items() if i in bad}
    assert not bad, f"{path}: {sub.name}: item: (got, must be) {bad}; reasons: {why}"


@pytest.mark.parametrize("attack", [a.name for a in attacks.CATALOG])
def test_grade_all_attack(batch, attack):
    """Blank + attack scores what a blank scores; reference + attack keeps full marks
    (but for the items the attack costs itself by nature)."""
    a = attacks.by_name(attack)
    for sub in (s for s in batch.subs if s.attack == attack):
        _check_scores(batch.results.get(sub.name, {}), sub, "grade-all")
    if a.costs:
        ref = batch.results[attacks.sub_name(attack, "ref")]["report"]
        assert ref["total"] == 100 - sum(attacks.points()[i] for i in a.costs), a.costs_why


def test_grade_all_neighbours_keep_exact_scores(batch):
    for sub in (s for s in batch.subs if s.attack == "neighbour"):
        _check_scores(batch.results.get(sub.name, {}), sub, "grade-all")


def test_grade_all_inject_reason_shows_no_traceback(batch):
    for base in ("blank", "ref"):
        reason = reasons_of(batch.results[attacks.sub_name("inject_reason", base)]["report"])["hw1.batchnorm_backward"]
        assert "Traceback" not in reason and 'File "' not in reason and "checks.py" not in reason, reason


def test_grade_all_parent_bombs(batch):
    """16,000 chained assignments: graded right, in bounded time (no more than a minute
    over a normal notebook of the same batch); a 5 MB literal: skipped with a note."""
    for sub in (s for s in batch.subs if s.attack in ("chain16k", "bigliteral")):
        _check_scores(batch.results.get(sub.name, {}), sub, "grade-all")
    chain, ref = batch.results[attacks.sub_name("chain16k", "ref")]["seconds"], batch.results["aaa-neighbour-ref"]["seconds"]
    print(f"\nred team: chain of 16,000 assignments {chain:.1f} s, a normal reference {ref:.1f} s")
    assert chain <= ref + CHAIN_SLACK_SECONDS
    for base in ("ref", "blank"):
        notes = batch.results[attacks.sub_name("bigliteral", base)]["report"]["notes"]
        assert any("kB limit" in n for n in notes), notes


def test_grade_all_malformed_notebooks_are_error_lines(batch):
    for sub in (s for s in batch.subs if s.attack == "malformed"):
        r = batch.results.get(sub.name)
        assert r is not None, f"{sub.name}: no result line"
        text = json.dumps(r)
        assert "Traceback" not in text and "internal grader error" not in text, text[:2000]
        if "report" in r and sub.expect is not None:
            _check_scores(r, sub, "grade-all")
        else:
            assert r.get("error") and "report" not in r, text[:2000]
    assert "report" not in batch.results["malformed-deep-cells"]
    assert "MB" in batch.results["malformed-40mb"].get("error", ""), batch.results["malformed-40mb"]


@pytest.mark.parametrize("student", sorted(LINKS))
def test_grade_all_refuses_links(batch, student):
    r = batch.results.get(student)
    assert r is not None, f"{student}: no result line (silently skipped?)"
    assert "report" not in r and "symbolic link" in r.get("error", ""), r
    text = json.dumps(r)
    assert not r.get("sha256"), r
    for digest in batch.digests[student]:
        assert digest not in text, f"{student}: the result holds the SHA-256 of the link's target"


def test_grade_all_leaves_nothing(ctx, batch):
    assert not batch.left, f"left behind after grade-all: {batch.left}"
    for p, free in batch.free_before.items():
        assert batch.free_after.get(p, free) >= free - DISK_SLACK, (p, batch.free_before, batch.free_after)
    assert not Path(f"/tmp/ckrt-{ctx.token}-pickle-ran").exists(), "a forged .npy was unpickled by the grader"


# ----------------------------------------------------------------------------
# Path 2: nbgrader autograde over a throw-away course (after the batch: a later batch
# for what the shared-memory attack may have left).


def nbgrader(course: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    env = dict(env, PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""))
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True,
                          text=True, timeout=2400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@dataclasses.dataclass
class Course:
    subs: list
    scores: dict
    autograded: dict
    feedback: dict
    seconds: float
    left: dict
    log: str
    digests: dict


@pytest.fixture(scope="module")
def course(ctx, batch) -> Course:
    from nbgrader.api import Gradebook, MissingEntry

    root = ctx.dir / "course"
    tmpdir = root.parent / "course-tmp"
    tmpdir.mkdir()
    root.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "source" / HW, root / "source" / HW)
    env = grader_env(ctx, tmpdir)
    nbgrader(root, env, "generate_assignment", HW, "--force")
    subs = [s for s in batch.subs if s.attack == "neighbour" and s.name != "zzz-neighbour-ref"] + ctx.subs("nbgrader")
    digests = {}
    for s in subs:
        path = attacks.write_notebook(s, nb_path(root / "submitted", s.name))
        digests[s.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    start = time.monotonic()
    log = nbgrader(root, env, "autograde", HW, "--force").stderr
    seconds = time.monotonic() - start
    nbgrader(root, env, "generate_feedback", HW, "--force")
    left = settle(ctx, tmpdir)
    kill_leftovers(left)
    scores, autograded, feedback = {}, {}, {}
    with Gradebook("sqlite:///" + str(root / "gradebook.db")) as gb:
        for s in subs:
            try:
                nb = gb.find_submission_notebook(NB[: -len(".ipynb")], HW, s.name)
            except MissingEntry:
                continue
            scores[s.name] = {f"{HW}.{g.name[: -len('_tests')]}": g.score for g in nb.grades if g.cell_type == "code"}
    for s in subs:
        p = nb_path(root / "autograded", s.name)
        autograded[s.name] = p.read_text() if p.is_file() else ""
        f = root / "feedback" / s.name / HW / NB.replace(".ipynb", ".html")
        feedback[s.name] = f.read_text() if f.is_file() else ""
    print(f"\nred team: nbgrader autograde of {len(subs)} submissions took {seconds:.0f} s")
    return Course(subs, scores, autograded, feedback, seconds, left, log, digests)


def test_nbgrader_scores(course):
    """Every attack ends in the right points in the gradebook."""
    for sub in course.subs:
        assert sub.name in course.scores, f"nbgrader stored no grade for {sub.name}"
        bad = {i: (course.scores[sub.name].get(i), want) for i, want in sub.expect.items()
               if course.scores[sub.name].get(i) != want}
        assert not bad, f"nbgrader autograde: {sub.name}: item: (got, must be) {bad}"


def test_nbgrader_points_equal_the_cli(course, batch):
    """The same bytes graded by nbgrader and by grade-all (the CLI's engine) get the same
    points, item by item."""
    for sub in course.subs:
        r = batch.results[sub.name]
        assert r["sha256"] == course.digests[sub.name], f"{sub.name}: not the same bytes on both paths"
        assert course.scores.get(sub.name) == items_of(r["report"]), sub.name


def test_nbgrader_feedback_hides_tests(course):
    import html as htmlmod

    for sub in course.subs:
        page = course.feedback[sub.name]
        assert page, f"no feedback for {sub.name}"
        text = htmlmod.unescape(re.sub(r"<[^>]+>", "", page))
        # (the nbgrader attacks name autograder.nbcell in their own cells: the hidden cells' import line is the test)
        assert "BEGIN HIDDEN TESTS" not in text and "from autograder.nbcell import grade" not in text, sub.name


def test_nbgrader_leaves_nothing(ctx, course):
    assert not course.left, f"left behind after nbgrader autograde: {course.left}"


# ----------------------------------------------------------------------------
# Path 3: the command line, where it differs.

RSS_WRAPPER = """
import resource, runpy, sys
sys.argv = ["autograder"] + sys.argv[1:]
try:
    runpy.run_module("autograder", run_name="__main__", alter_sys=True)
finally:
    sys.stdout.flush()
    # VmHWM: the peak of this process's own memory. ru_maxrss would not do: after exec it
    # keeps the peak of the process that started us (the pytest worker, through vfork).
    hwm = [l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")]
    print("\\nPEAK_RSS_KB", hwm[0] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""

CHEAP_ITEMS = ("batchnorm_forward", "batchnorm_backward", "conv2d_forward", "pooling")


@dataclasses.dataclass
class CliRun:
    name: str
    rc: int
    stdout: str
    stderr: str
    seconds: float
    report: dict | None
    rss_kb: int | None
    left: dict
    sub: attacks.Submission | None = None


def _ro_home_wrapper(home: Path) -> list[str]:
    """A read-only home: a read-only bind mount in a mount namespace of its own where we
    may (root), else a folder without write permission."""
    if os.geteuid() == 0 and shutil.which("unshare"):
        probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                                'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && ! touch "$0/w" 2>/dev/null',
                                str(home)], capture_output=True)
        if probe.returncode == 0:
            return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                    'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"', str(home)]
    home.chmod(0o555)
    return []


def _cli(ctx: Ctx, name: str, nb: Path, tmpdir: Path, items=(), sub=None, wrap=(), home: Path | None = None,
         rss: bool = False) -> CliRun:
    allowed = {str(p) for p in tmpdir.rglob("*")}
    env = grader_env(ctx, tmpdir, **({"HOME": str(home)} if home else {}))
    cmd = [sys.executable, "-c", RSS_WRAPPER] if rss else [sys.executable, "-m", "autograder"]
    cmd = [*wrap, *cmd, "grade", str(nb), "--json", "--assignment", HW, *[a for i in items for a in ("--item", i)]]
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env, cwd=nb.parent, capture_output=True, text=True, timeout=1800)
    seconds = time.monotonic() - start
    left = settle(ctx, tmpdir, allowed)
    kill_leftovers(left)
    m = re.search(r"PEAK_RSS_KB (\d+)", proc.stderr)
    report = None
    if proc.returncode == 0:
        try:
            report = json.loads(proc.stdout)
        except ValueError:
            pass
    stderr = re.sub(r"\n?PEAK_RSS_KB \d+\n?", "", proc.stderr)
    return CliRun(name, proc.returncode, proc.stdout, stderr, seconds, report, int(m.group(1)) if m else None, left, sub)


@pytest.fixture(scope="module")
def cli(ctx) -> dict[str, CliRun]:
    root = ctx.dir / "cli"
    search = attacks.by_name("fs_search")
    runs = []

    # TMPDIR holding other students' notebooks and the source notebook, the notebook
    # beside other students' folders (the layout of nbgrader's submitted/).
    near = root / "neighbours"
    ref_nb = json.dumps(attacks.base_notebook("ref", ctx.release, ctx.source))
    for where in (near / "submitted" / "other-ref" / HW, near / "submitted" / "other-half" / HW):
        where.mkdir(parents=True)
        (where / NB).write_text(ref_nb)
    subs = {}
    for base in ("blank", "ref"):
        tmp = near / f"tmp-{base}"  # one per run: the runs go two at a time
        (tmp / "class").mkdir(parents=True)
        (tmp / "student1.ipynb").write_text(ref_nb)
        (tmp / "class" / "student2.ipynb").write_text(ref_nb)
        shutil.copy(ROOT / "source" / HW / NB, tmp / "source-hw1.ipynb")
        sub = attacks.Submission(f"fs_search-{base}", "fs_search", base,
                                 attacks.attacked(search, base, ctx.release, ctx.source, ctx.token),
                                 expect=attacks.expected(base))
        subs[base] = sub
        path = attacks.write_notebook(sub, nb_path(near / "submitted", f"me-{base}"))
        items = CHEAP_ITEMS if base == "blank" else ()
        runs.append(dict(name=f"tmpdir-neighbours-{base}", nb=path, tmpdir=tmp, items=items, sub=sub))

    # TMPDIR inside a private (0700) folder, and a read-only home.
    private = root / "private"
    (private / "locked").mkdir(parents=True)
    (private / "locked").chmod(0o700)
    home = private / "home"
    home.mkdir()
    wrap = _ro_home_wrapper(home)
    for base in ("ref", "blank"):
        tmp = private / "locked" / f"tmp-{base}"
        tmp.mkdir()
        path = attacks.write_notebook(subs[base], nb_path(private / "submitted", f"me-{base}"))
        items = CHEAP_ITEMS if base == "blank" else ()
        runs.append(dict(name=f"tmpdir-private-{base}", nb=path, tmpdir=tmp, items=items,
                         sub=subs[base], wrap=wrap, home=home))

    # Forged results and a 5 MB literal in a reference, the grading process's memory
    # measured; malformed notebooks.
    bombs = root / "bombs"
    forged = attacks.Submission("forged_results-ref", "forged_results", "ref",
                                attacks.attacked(attacks.by_name("forged_results"), "ref", ctx.release, ctx.source,
                                                 ctx.token), expect=attacks.expected("ref", attacks.FORGED_ITEMS))
    forged.notebook["cells"].append(attacks.code_cell(attacks.big_literal_cell()))
    for sub in [forged] + attacks.malformed(ctx.release, ctx.source):
        (bombs / f"tmp-{sub.name}").mkdir(parents=True)
        items = ("batchnorm_forward",) if sub.attack == "malformed" and sub.raw is None else ()
        runs.append(dict(name="forged-results" if sub is forged else sub.name,
                         nb=attacks.write_notebook(sub, nb_path(bombs, sub.name)), tmpdir=bombs / f"tmp-{sub.name}",
                         items=items, sub=sub, rss=True))

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        done = list(pool.map(lambda kw: _cli(ctx, **kw), runs))
    print(f"\nred team: {len(runs)} command-line runs took {time.monotonic() - start:.0f} s (two at a time)")
    return {r.name: r for r in done}


def _cli_report(run: CliRun) -> dict:
    assert run.rc == 0 and run.report is not None, f"{run.name}: exit {run.rc}: {run.stderr[-2000:]}"
    assert "Traceback" not in run.stdout + run.stderr, run.stderr[-3000:]
    return run.report


def _check_cli_scores(run: CliRun) -> None:
    report = _cli_report(run)
    got = items_of(report)
    bad = {i: (p, run.sub.expect.get(i)) for i, p in got.items() if p != run.sub.expect.get(i)}
    assert not bad, f"{run.name}: item: (got, must be) {bad}; reasons: {reasons_of(report)}"
    return report


@pytest.mark.parametrize("setting", ["neighbours", "private"])
def test_cli_tmpdir_hides_and_works(cli, setting):
    """Whatever TMPDIR says: a blank that searches the file system for other notebooks
    (TMPDIR, the folders around it, /proc/*/cwd|root, /) gets nothing, and a correct
    notebook gets full marks (also with TMPDIR in a private folder and a read-only home)."""
    blank = _check_cli_scores(cli[f"tmpdir-{setting}-blank"])
    assert blank["total"] == 0
    ref = _check_cli_scores(cli[f"tmpdir-{setting}-ref"])
    assert ref["total"] == ref["max"] == 100


def test_cli_forged_results_cost_only_their_items(cli):
    run = cli["forged-results"]
    report = _check_cli_scores(run)
    assert report["total"] == 100 - sum(attacks.points()[i] for i in attacks.FORGED_ITEMS)
    assert any("kB limit" in n for n in report["notes"]), report["notes"]
    print(f"\nred team: peak RSS of the grading process with forged results: {run.rss_kb / 1024:.0f} MB")
    assert run.rss_kb is not None and run.rss_kb < RSS_BOUND_KB, run.rss_kb


def test_cli_malformed_notebooks(cli):
    """Exit 2 with a message, or a report of what could be graded; never a traceback,
    never exit 1, memory bounded."""
    for name in ("malformed-meta-list", "malformed-deep-cells", "malformed-huge-cells", "malformed-40mb"):
        run = cli[name]
        assert "Traceback" not in run.stdout + run.stderr, f"{name}: {run.stderr[-3000:]}"
        assert run.rc in (0, 2), f"{name}: exit {run.rc}: {run.stderr[-2000:]}"
        if run.rc == 2:
            assert run.stderr.strip().startswith("error: "), f"{name}: {run.stderr[-2000:]}"
        else:
            got, want = items_of(run.report), run.sub.expect or {}
            assert all(got[i] == want.get(i) for i in got), f"{name}: {got} (must be {want})"
        assert run.rss_kb is not None and run.rss_kb < RSS_BOUND_KB, (name, run.rss_kb)
        print(f"\nred team: {name}: exit {run.rc}, peak RSS {run.rss_kb / 1024:.0f} MB")
    assert cli["malformed-deep-cells"].rc == 2
    assert cli["malformed-40mb"].rc == 2 and "MB" in cli["malformed-40mb"].stderr


def test_cli_leaves_nothing(cli):
    left = {name: run.left for name, run in cli.items() if run.left}
    assert not left, f"left behind after command-line runs: {left}"


# ----------------------------------------------------------------------------
# Across every report of every path.

FORBIDDEN = (r"(?<![\w.])2024(?![\w.])", r"[\w.]*autograder[\w.]*", r"[\w.]*judge[\w.]*", r"[\w.]*probe[\w.]*")
NEVER = ("Traceback", '.py"')


def _code_text(sub: attacks.Submission | None) -> str:
    """The student's own code (a note may quote it)."""
    if sub is None or sub.notebook is None or not isinstance(sub.notebook.get("cells"), list):
        return ""
    from autograder import notebook as nbmod

    return "\n".join(nbmod.code_cells(sub.notebook))


def _all_texts(batch, course, cli):
    """(where, text, the student's own code, is a note) for every reason, note and
    error of every report."""
    subs = {s.name: s for s in batch.subs}
    for name, r in batch.results.items():
        sub = subs.get(name)
        if "error" in r:
            yield f"grade-all {name} error", r["error"], "", False
        for i in r.get("report", {}).get("items", []):
            yield f"grade-all {name} {i['id']}", i["reason"], _code_text(sub), False
        for n in r.get("report", {}).get("notes", []):
            yield f"grade-all {name} note", n, _code_text(sub), True
    for name, run in cli.items():
        if run.report:
            for i in run.report["items"]:
                yield f"cli {name} {i['id']}", i["reason"], _code_text(run.sub), False
            for n in run.report["notes"]:
                yield f"cli {name} note", n, _code_text(run.sub), True
        else:
            yield f"cli {name} stderr", run.stderr, "", False
    for sub in course.subs:
        nb = json.loads(course.autograded[sub.name] or "{}")
        for cell in nb.get("cells", []):
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade") and cell.get("cell_type") == "code":
                for out in cell.get("outputs", []):
                    text = out.get("text") or ""
                    # the reason and the notes together: the student's own statements may be quoted
                    yield f"nbgrader {sub.name} output", "".join(text) if isinstance(text, list) else text, \
                        _code_text(sub), True


def test_reasons_and_notes_leak_no_internals(ctx, batch, course, cli):
    """No reason, note or error names the seed, the grader's modules, judges or probes,
    a traceback, a source file or a path of the repository. A note that quotes the
    student's own failing statement (``No module named 'autograder.nbcell'`` after the
    student wrote that import) is the student's text, not a leak."""
    leaks = []
    for where, text, own, is_note in _all_texts(batch, course, cli):
        for word in NEVER + (str(ROOT), ctx.secret):
            if word in text:
                leaks.append((where, word, text[:300]))
        for pattern in FORBIDDEN:
            for m in re.finditer(pattern, text, re.IGNORECASE):
                if not (is_note and m.group(0) in own):
                    leaks.append((where, m.group(0), text[:300]))
    assert not leaks, "\n".join(map(str, leaks[:40]))


def test_environment_secrets_reach_no_report(ctx, batch, course, cli):
    """The course secret and the database URL were in every grader's environment; an
    attack that read every environment it could see and raised it got nothing."""
    password = ctx.db_url.split(":")[2].split("@")[0]
    texts = [json.dumps(batch.results), batch.proc.stdout, batch.proc.stderr]
    texts += [r.stdout + r.stderr for r in cli.values()] + list(course.autograded.values()) + list(course.feedback.values())
    texts.append(course.log)
    for t in texts:
        for s in (ctx.secret, password, ctx.db_url):
            assert s not in t, f"a secret of the grader's environment reached a report: ...{t[max(0, t.find(s) - 200):t.find(s) + 100]}..."
