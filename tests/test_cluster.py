"""``grade-all --dask``: a Dask LocalCluster of two worker processes grades HW1
submissions into nbgrader's gradebook, and nbgrader reads back the same scores.
SQLite always; PostgreSQL against the real server that ``.ci/run`` starts
(``COURSE_KIT_TEST_POSTGRES``), with several writers at once."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from autograder import batch
from autograder.submissions import make_submission, solution_cells, write
from tests.kit import ROOT, source_notebook

PG = os.environ.get("COURSE_KIT_TEST_POSTGRES")


def _env(db_url: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), COURSE_KIT_GRADEBOOK=db_url)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def _course(root: Path, db_url: str) -> Path:
    """A throw-away course folder: hw1 released into the gradebook at ``db_url``,
    and three students (reference, blank, half done)."""
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "source" / "hw1", root / "source" / "hw1")
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "hw1", "--force", "--log-level=WARN"],
                          cwd=root, env=_env(db_url), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    release = json.loads((root / "release" / "hw1" / "hw1.ipynb").read_text())
    source = source_notebook("hw1")
    half = set(solution_cells(source)[::2])
    for student, nb in {"ref": make_submission(release, source), "blank": make_submission(release, source, fill=set()),
                        "half": make_submission(release, source, fill=half)}.items():
        write(nb, root / "submitted" / student / "hw1" / "hw1.ipynb")
    return root / "submitted"


def _grade_all_dask(subs: Path, db_url: str, *extra) -> subprocess.CompletedProcess:
    env = _env(db_url)
    env["COURSE_KIT_TIMEOUT_SCALE"] = "0.5"
    return subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(subs), "--no-progress", "--dask",
                           "--workers", "2", "--gradebook", db_url, *extra],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def _gradebook_scores(db_url: str, students) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        return {s: {g.name[: -len("_tests")]: g.score for g in gb.find_submission_notebook("hw1", "hw1", s).grades
                    if g.cell_type == "code"} for s in students}


def _result_scores(out: Path, students) -> dict:
    res = {s: json.loads((out / "hw1" / f"{s}.json").read_text()) for s in students}
    return {s: {i["id"].split(".", 1)[1]: i["points"] for i in r["report"]["items"]} for s, r in res.items()}


def _check_batch(subs: Path, db_url: str) -> None:
    proc = _grade_all_dask(subs, db_url)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "3 graded now" in proc.stdout and "Dask (local, 2 workers)" in proc.stdout, proc.stdout
    assert "isolation: " in proc.stdout
    out = subs.parent / "autograder-results"
    ours = _result_scores(out, ("ref", "blank", "half"))
    assert sum(ours["ref"].values()) == 100 and sum(ours["blank"].values()) == 0
    assert 0 < sum(ours["half"].values()) < 100
    assert _gradebook_scores(db_url, ours) == ours  # nbgrader reads back what we graded
    export = subprocess.run([sys.executable, "-m", "nbgrader", "export", "--to", str(subs.parent / "export.csv")],
                            cwd=subs.parent, env=_env(db_url), capture_output=True, text=True, timeout=300)
    assert export.returncode == 0, export.stderr[-2000:]
    lines = (subs.parent / "export.csv").read_text().splitlines()
    ref = next(line for line in lines if line.startswith("hw1,") and ",ref," in line)
    assert ",100.0," in ref, ref
    again = _grade_all_dask(subs, db_url)
    assert again.returncode == 0 and "0 graded now, 3 already graded" in again.stdout


def test_dask_local_cluster_into_sqlite_gradebook(tmp_path):
    db = "sqlite:///" + str(tmp_path / "gradebook.db")
    _check_batch(_course(tmp_path, db), db)


@pytest.fixture()
def postgres_db():
    if not PG:
        pytest.skip("no PostgreSQL server: set COURSE_KIT_TEST_POSTGRES=postgresql://user@host:port/db "
                    "(.ci/run starts one where it can install the Debian package)")
    import sqlalchemy as sa

    admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
    name = "ck_test_" + uuid.uuid4().hex[:10]
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield sa.engine.make_url(PG).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_dask_local_cluster_into_postgres_gradebook(tmp_path, postgres_db):
    _check_batch(_course(tmp_path, postgres_db), postgres_db)


def test_postgres_gradebook_with_several_writers(tmp_path, postgres_db):
    """Four writers store the same twelve new students at once: every write lands,
    none fails, and nbgrader reads each student's scores whole."""
    _course(tmp_path, postgres_db)
    from autograder.core import get_assignment

    items = [it.id for it in get_assignment("hw1").items]
    rows = [{"student": f"s{k:02d}", "assignment": "hw1",
             "report": {"items": [{"id": i, "points": float((k + n) % 3)} for n, i in enumerate(items)]}}
            for k in range(12)]
    with ThreadPoolExecutor(4) as pool:
        done = list(pool.map(lambda part: batch.write_gradebook(part, postgres_db), [rows, rows[::-1], rows[3:], rows[:9]]))
    assert done == [12, 12, 9, 9]
    want = {r["student"]: {i["id"].split(".", 1)[1]: i["points"] for i in r["report"]["items"]} for r in rows}
    assert _gradebook_scores(postgres_db, want) == want


def test_slurm_cluster_starts_workers_in_this_repository():
    dask = pytest.importorskip("dask")
    from autograder.cluster import slurm_cluster

    with dask.config.set({"jobqueue.slurm.cores": 2, "jobqueue.slurm.memory": "8GB", "jobqueue.slurm.walltime": "01:00:00"}):
        cluster = slurm_cluster()
        try:
            script = cluster.job_script()
        finally:
            cluster.close()
    assert "#SBATCH" in script and f"cd {ROOT}" in script and sys.executable in script
