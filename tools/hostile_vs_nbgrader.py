"""The hostile corpus through plain ``nbgrader autograde``, beside ``grade-all``.

    python tools/hostile_vs_nbgrader.py [--cases a,b,...] [--json OUT.json]

In a throw-away course folder (its own copy of the graders, so an attack that
writes into them harms only the copy) it:

1. runs ``nbgrader autograde hw1 --student CASE`` on every case of
   ``tests/hostile_corpus`` (HW1, which this kit's configuration grades with the
   sealed engine, no kernel);
2. does the same on a tiny *classic* assignment, one ``batchnorm_backward`` with a
   classic nbgrader hidden-test cell (``assert np.allclose(...)`` in the kernel),
   with the same attacks (not a kit assignment, so nbgrader executes it in a kernel,
   as stock nbgrader does);
3. runs ``nbgrader autograde hw1`` once over a whole class (a reference, the
   ``kill_grader`` case, another reference) to see whether one case stops the rest;
4. runs ``python -m autograder grade-all`` over the same HW1 corpus;

and prints a Markdown table: per case, the points of ``batchnorm_backward`` (10)
and what was seen (text read from the graders in the notebook's output, a grader
file changed, a connection received, nbgrader itself killed, processes left).

Every nbgrader run is started in a pids cgroup of its own (at most 256 processes:
a fork bomb in a kernel would otherwise take the machine), and the processes it
leaves are killed after each case; where no pids cgroup can be made (not root, no
pids controller) the fork bomb case is left out. ``Execute.timeout`` is 30 s (the
kit's config says 600 s).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.submissions import make_submission, write  # noqa: E402
from tests.hostile_corpus.corpus import REFERENCE_BODY, HEADER, build, cases  # noqa: E402
from tests.kit import source_notebook  # noqa: E402

NPROC = 256
TIMEOUT = 30


def md(src: str, **meta) -> dict:
    return {"cell_type": "markdown", "metadata": {"nbgrader": meta} if meta else {}, "source": src}


def code(src: str, **meta) -> dict:
    m = {"nbgrader": {"schema_version": 3, **meta}} if meta else {}
    return {"cell_type": "code", "metadata": m, "outputs": [], "execution_count": None, "source": src}


CLASSIC_TEST = """### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(0)
_x, _g, _dout = _rng.normal(size=(6, 4)), _rng.normal(size=4), _rng.normal(size=(6, 4))
_inv = 1 / np.sqrt(_x.var(0) + 1e-5)
_xh = (_x - _x.mean(0)) * _inv
_dx, _dg, _db = batchnorm_backward(_dout, (_xh, _g, _inv))
_dxh = _dout * _g
assert np.allclose(_dx, _inv * (_dxh - _dxh.mean(0) - _xh * (_dxh * _xh).mean(0)))
assert np.allclose(_dg, (_dout * _xh).sum(0)) and np.allclose(_db, _dout.sum(0))
### END HIDDEN TESTS
"""


def classic_source() -> dict:
    body = REFERENCE_BODY.replace("    x_hat", "    ### BEGIN SOLUTION\n    x_hat", 1).replace(
        "    return dx, dgamma, dbeta\n", "    ### END SOLUTION\n    return dx, dgamma, dbeta\n")
    sanity = ("x = np.random.randn(4, 3)\ninv = 1 / np.sqrt(x.var(0) + 1e-5)\n"
              "dx, dgamma, dbeta = batchnorm_backward(np.random.randn(4, 3), ((x - x.mean(0)) * inv, np.ones(3), inv))\n"
              "print('shapes', dx.shape, dgamma.shape, dbeta.shape)\n")
    cells = [md("# A classic nbgrader assignment: BatchNorm backward"), code("import numpy as np\n"),
             code(HEADER + body, grade=False, solution=True, locked=False, grade_id="batchnorm_backward"),
             code(sanity),
             code(CLASSIC_TEST, grade=True, solution=False, locked=True, points=10, grade_id="batchnorm_backward_tests")]
    return {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


class Listener:
    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.got: list[bytes] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(2)
            try:
                self.got.append(conn.recv(16) or b"(connected)")
            except OSError:
                self.got.append(b"(connected)")
            conn.close()

    def take(self) -> list[bytes]:
        got, self.got = self.got, []
        return got


def tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*.py")):
        if "__pycache__" not in p.parts:
            h.update(str(p.relative_to(folder)).encode() + p.read_bytes())
    return h.hexdigest()


class PidsCgroup:
    """A pids cgroup (v1 or v2) that caps, and then kills, everything a run starts."""

    def __init__(self):
        self.path: Path | None = None
        name = f"ckhostile-{os.getpid()}"
        for base in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
            try:
                if base == Path("/sys/fs/cgroup") and "pids" not in (base / "cgroup.subtree_control").read_text():
                    continue
                (base / name).mkdir()
                (base / name / "pids.max").write_text(str(NPROC))
                self.path = base / name
                return
            except OSError:
                try:
                    (base / name).rmdir()
                except OSError:
                    pass

    def wrap(self, cmd: list[str]) -> list[str]:
        if self.path is None:
            return cmd
        return ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(self.path), *cmd]

    def kill_all(self) -> int:
        if self.path is None:
            return 0
        seen = set()
        for _ in range(200):
            pids = [int(x) for x in (self.path / "cgroup.procs").read_text().split()]
            if not pids:
                break
            for pid in pids:
                seen.add(pid)
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        return len(seen)

    def close(self) -> None:
        if self.path is not None:
            self.kill_all()
            for _ in range(50):
                try:
                    self.path.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)


class Course:
    def __init__(self, folder: Path, cgroup: PidsCgroup):
        self.dir = folder
        self.cgroup = cgroup
        folder.mkdir()
        shutil.copy(ROOT / "nbgrader_config.py", folder)
        for sub in ("autograder", "cnnkit", "data_scripts"):
            shutil.copytree(ROOT / sub, folder / sub, ignore=shutil.ignore_patterns("__pycache__"))
        self.pristine = folder.parent / "graders-pristine"
        shutil.copytree(folder / "autograder", self.pristine)
        shutil.copytree(ROOT / "source" / "hw1", folder / "source" / "hw1")
        write(classic_source(), folder / "source" / "classic" / "classic.ipynb")
        (folder / "home").mkdir()

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COURSE_KIT_") and k != "PYTHONPATH"}
        env.update(PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""), HOME=str(self.dir / "home"),
                   COURSE_KIT_TIMEOUT_SCALE="0.1", JUPYTER_RUNTIME_DIR=str(self.dir / "home" / "runtime"),
                   PYTHONDONTWRITEBYTECODE="1")
        return env

    def nbgrader(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        cmd = self.cgroup.wrap([sys.executable, "-m", "nbgrader", *args, f"--Execute.timeout={TIMEOUT}"])
        try:
            return subprocess.run(cmd, cwd=self.dir, env=self.env(), capture_output=True, text=True, timeout=timeout,
                                  start_new_session=True)
        except subprocess.TimeoutExpired as e:
            return subprocess.CompletedProcess(cmd, -999, e.stdout or "", (e.stderr or "") + "\n(nbgrader timed out)")

    def leftovers(self) -> int:
        """Kill what the last run left behind in its cgroup; how many there were."""
        return self.cgroup.kill_all()

    def restore_graders(self) -> bool:
        changed = tree_digest(self.dir / "autograder") != tree_digest(self.pristine)
        if changed:
            shutil.rmtree(self.dir / "autograder")
            shutil.copytree(self.pristine, self.dir / "autograder")
        return changed

    def score(self, hw: str, student: str) -> tuple[float | None, float | None]:
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook("sqlite:///" + str(self.dir / "gradebook.db")) as gb:
            try:
                nb = gb.find_submission_notebook(hw, hw, student)
            except MissingEntry:
                return None, None
            grades = {g.name: g.score for g in nb.grades if g.cell_type == "code"}
            return grades.get("batchnorm_backward_tests"), nb.code_score


def observe(course: Course, hw: str, student: str, proc, listener: Listener, seconds: float) -> dict:
    out = course.dir / "autograded" / student / hw / f"{hw}.ipynb"
    text = ""
    if out.is_file():  # what the autograded notebook shows: its cells' outputs, not the student's source
        try:
            cells = json.loads(out.read_text(errors="replace")).get("cells", [])
        except ValueError:
            cells = []
        text = json.dumps([c.get("outputs", []) for c in cells if isinstance(c, dict)])
    notes = []
    if proc.returncode not in (0,):
        notes.append("nbgrader killed by a signal" if proc.returncode < 0 and proc.returncode != -999 else
                     "nbgrader timed out" if proc.returncode == -999 else f"nbgrader exited {proc.returncode}")
    log = proc.stdout + proc.stderr
    if "Kernel died" in log or "DeadKernelError" in log:
        notes.append("kernel died")
    if "Timeout" in log or "timed out" in log.lower():
        notes.append(f"a cell hit Execute.timeout ({TIMEOUT} s)")
    if "LEAKED" in text:
        leaked = [line for line in text.split("\\n") if "autograder/" in line or "source/" in line or "submitted/" in line]
        notes.append("text of hidden files in the notebook's output" + (f" ({len(leaked)} lines)" if leaked else ""))
    if course.restore_graders():
        notes.append("a grader file was changed")
    got = listener.take()
    if got:
        notes.append(f"{len(got)} TCP connection(s) made")
    left = course.leftovers()
    if left:
        notes.append(f"{left} processes left running (killed by this script)")
    if out.is_file() and out.stat().st_size > 10 * 2**20:
        notes.append(f"autograded notebook of {out.stat().st_size / 2**20:.0f} MB")
    pts, total = course.score(hw, student)
    if pts is None and "nbgrader" not in " ".join(notes):
        notes.append("no grade stored")
    return {"points": pts, "total": total, "seconds": round(seconds, 1), "notes": notes, "rc": proc.returncode}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    p.add_argument("--json", default="", help="also write the results here")
    p.add_argument("--keep", action="store_true", help="keep the course folder")
    args = p.parse_args()
    cgroup = PidsCgroup()
    capped = cgroup.path is not None
    base = Path(tempfile.mkdtemp(prefix="ckhostile-"))
    course = Course(base / "course", cgroup)
    listener = Listener()
    subs = course.dir / "submitted"
    all_cases = cases(course.dir, course.dir / "autograder-results", subs / "aaa_ref" / "hw1" / "hw1.ipynb", listener.port)
    wanted = set(filter(None, args.cases.split(",")))
    chosen = [c for c in all_cases if (not wanted or c.name in wanted) and (c.needs != "nproc" or capped)]
    for hw in ("hw1", "classic"):
        r = course.nbgrader("generate_assignment", hw, "--force", "--log-level=WARN")
        if r.returncode != 0:
            print(r.stdout[-2000:], r.stderr[-3000:], file=sys.stderr)
            return 1
    release = json.loads((course.dir / "release" / "hw1" / "hw1.ipynb").read_text())
    source = json.loads((course.dir / "source" / "hw1" / "hw1.ipynb").read_text())
    c_release = json.loads((course.dir / "release" / "classic" / "classic.ipynb").read_text())
    c_source = json.loads((course.dir / "source" / "classic" / "classic.ipynb").read_text())
    from tests.hostile_corpus.corpus import reference

    write(reference(release, source), subs / "aaa_ref" / "hw1" / "hw1.ipynb")
    write(reference(release, source), subs / "zzz_ref" / "hw1" / "hw1.ipynb")
    build(subs, release, source, chosen)
    build(subs, c_release, c_source, chosen, hw="classic")
    write(make_submission(c_release, c_source), subs / "aaa_ref" / "classic" / "classic.ipynb")

    results: dict = {}
    for c in [c for c in all_cases if c in chosen] + ["aaa_ref"]:  # type: ignore[operator]
        name = c if isinstance(c, str) else c.name
        for hw in ("hw1", "classic"):
            t = time.monotonic()
            proc = course.nbgrader("autograde", hw, "--student", name, "--force", "--log-level=INFO")
            results.setdefault(name, {})[hw] = observe(course, hw, name, proc, listener, time.monotonic() - t)
            print(f"{name:22s} {hw:8s} {results[name][hw]}", flush=True)

    # One whole-class run: does one notebook stop nbgrader for the others?
    klass = ["aaa_ref", "kill_grader", "zzz_ref"] if any(c.name == "kill_grader" for c in chosen) else []
    whole = {}
    if klass:
        with_gb = course.dir / "gradebook.db"
        with_gb.unlink()
        for hw in ("hw1",):
            r = course.nbgrader("generate_assignment", hw, "--force", "--log-level=WARN")
        for d in subs.iterdir():
            if d.name not in klass:
                shutil.move(str(d), str(base / d.name))
        t = time.monotonic()
        proc = course.nbgrader("autograde", "hw1", "--force", "--log-level=INFO")
        whole = {"rc": proc.returncode, "seconds": round(time.monotonic() - t, 1),
                 "graded": {s: course.score("hw1", s)[1] for s in klass}}
        course.leftovers()
        for d in base.iterdir():
            if d.name not in ("course", "graders-pristine"):
                shutil.move(str(d), str(subs / d.name))
        print("whole class:", whole, flush=True)

    # grade-all on the same corpus (as the TA: root here if run as root).
    env = dict(os.environ, PYTHONPATH=str(ROOT), COURSE_KIT_TIMEOUT_SCALE="0.1")
    ours_out = base / "grade-all-results"
    t = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(subs), "--assignment", "hw1", "--no-progress",
                           "--out", str(ours_out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    ours_seconds = time.monotonic() - t
    summary = [line for line in proc.stdout.splitlines() if line.startswith("engine:")]
    graded_changed = course.restore_graders()
    for name in results:
        f = ours_out / "hw1" / f"{name}.json"
        r = json.loads(f.read_text()) if f.is_file() else {}
        items = {i["id"]: i for i in r.get("report", {}).get("items", [])}
        bn = items.get("hw1.batchnorm_backward", {})
        results[name]["grade-all"] = {"points": bn.get("points"), "total": r.get("report", {}).get("total"),
                                      "reason": bn.get("reason", r.get("error", "")), "seconds": r.get("seconds")}
    listener.stop.set()

    def cell(d: dict, of: int | None = None) -> str:
        pts = "no grade" if d.get("points") is None else f"{d['points']:g}"
        if of and d.get("total") is not None:
            pts += f" [{d['total']:g}/{of}]"
        extra = "; ".join(d.get("notes", []))
        return pts + (f" ({extra})" if extra else "")

    print()
    print(f"grade-all: {ours_seconds:.0f} s for {len(results)} notebooks; {summary[0] if summary else ''}; "
          f"connections {len(listener.take())}; grader copy changed: {graded_changed}")
    if whole:
        print(f"whole-class nbgrader autograde over {klass}: exit {whole['rc']}, totals stored {whole['graded']}")
    print()
    print("batchnorm_backward points of 10 [the notebook's total]")
    print("| case | nbgrader autograde, sealed engine (this kit) | nbgrader autograde, classic assert cell in a kernel | grade-all |")
    print("| --- | --- | --- | --- |")
    for name, r in results.items():
        ga = r["grade-all"]
        ours = "error: " + ga["reason"].split(" is ", 1)[-1][:40] if ga["points"] is None else cell(ga, 100)
        print(f"| {name} | {cell(r['hw1'], 100)} | {cell(r['classic'])} | {ours} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "whole_class": whole, "pids_cgroup": capped,
                                               "grade_all_seconds": ours_seconds, "grade_all_summary": summary}, indent=1))
    cgroup.close()
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
