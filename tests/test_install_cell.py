"""The first cell of every notebook, run as a student would on Colab: a fresh virtual
environment that already has torch, NumPy and the rest (this environment's packages,
seen through a .pth file, as Colab's preinstalled stack), but not the course package.
The cell installs the course package (from a wheel built here, standing in for the
course's address) and nothing else: torch and every other package stay as they were.
Run again, it does nothing. pip gets no index (PIP_NO_INDEX), so anything it would
have to fetch fails the test."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.kit import ROOT, release_path

COURSE_DISTS = ("cnn_course_kit", "__editable__", "cnnkit", "data_scripts")


def install_cell(hw: str = "hw1") -> str:
    nb = json.loads(release_path(hw).read_text())
    return "".join(next(c["source"] for c in nb["cells"] if c["cell_type"] == "code"))


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)


@pytest.fixture(scope="module")
def colab_like(tmp_path_factory):
    """(python of a fresh venv that sees this environment's packages minus the course's, its env)."""
    tmp = tmp_path_factory.mktemp("colab")
    stack = tmp / "preinstalled"
    stack.mkdir()
    site = Path(sysconfig.get_paths()["purelib"])
    for entry in site.iterdir():
        if not entry.name.startswith(COURSE_DISTS) and entry.suffix != ".pth":
            (stack / entry.name).symlink_to(entry)
    proc = run([sys.executable, "-m", "venv", "--without-pip", str(tmp / "venv")])
    assert proc.returncode == 0, proc.stderr
    py = tmp / "venv" / "bin" / "python"
    venv_site = Path(run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (venv_site / "preinstalled.pth").write_text(str(stack) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_"))}
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", HOME=str(tmp))
    wheels = tmp / "wheels"
    proc = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels),
                str(ROOT)])
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = wheels.glob("*.whl")
    return py, env, tmp, wheel


def listing(py, env, cwd) -> dict[str, tuple[str, str]]:
    """Every distribution the venv's python sees: name -> (version, location)."""
    code = ("import importlib.metadata as m, json\n"
            "print(json.dumps({d.metadata['Name'].lower(): (d.version, str(d.locate_file(''))) "
            "for d in m.distributions()}))")
    proc = run([str(py), "-c", code], env=env, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_install_cell_adds_the_course_package_and_keeps_torch(colab_like):
    py, env, tmp, wheel = colab_like
    cell = install_cell()
    assert 'COURSE_PACKAGE = "cnn-course-kit @ ' in cell
    # the course's address, here a local wheel (no network on this machine)
    local = "\n".join(f'COURSE_PACKAGE = "cnn-course-kit @ {wheel.as_uri()}"' if line.startswith("COURSE_PACKAGE =")
                      else line for line in cell.splitlines())
    probe = "import torch, sys; print('torch', torch.__version__, torch.__file__)"
    before = listing(py, env, tmp)
    assert "torch" in before and "cnn-course-kit" not in before
    torch_before = run([str(py), "-c", probe], env=env, cwd=tmp).stdout
    assert run([str(py), "-c", "import cnnkit"], env=env, cwd=tmp).returncode != 0

    # what students get asks for lower bounds only; the exact pins are the staff extra's
    import zipfile
    meta = next(zipfile.Path(wheel, n).read_text() for n in zipfile.ZipFile(wheel).namelist()
                if n.endswith(".dist-info/METADATA"))
    requires = [line.split(":", 1)[1].strip() for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    plain = [r for r in requires if "extra ==" not in r]
    assert any(r.startswith("torch>=") for r in plain) and not [r for r in plain if "==" in r], plain
    assert any(r.startswith("torch==") and "extra == \"staff\"" in r for r in requires)
    assert any(r.startswith("jupyterlab") and "extra == \"student\"" in r for r in requires)

    first = run([str(py), "-c", local], env=env, cwd=tmp)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "installed cnn-course-kit @ " in first.stdout and first.stderr == ""
    after = listing(py, env, tmp)
    assert set(after) - set(before) == {"cnn-course-kit"}
    assert {k: v for k, v in after.items() if k != "cnn-course-kit"} == before     # nothing replaced
    assert run([str(py), "-c", probe], env=env, cwd=tmp).stdout == torch_before
    check = run([str(py), "-c", "import cnnkit, data_scripts; cnnkit.self_check; print('ok')"], env=env, cwd=tmp)
    assert check.stdout.strip() == "ok", check.stderr

    again = run([str(py), "-c", local], env=env, cwd=tmp)
    assert again.stdout.strip() == "the course package is installed" and again.stderr == ""


def test_install_cell_names_an_unset_address_instead_of_trying_it(colab_like):
    py, env, tmp, _ = colab_like
    fresh = tmp / "fresh"
    if not fresh.exists():
        run([sys.executable, "-m", "venv", "--without-pip", str(fresh)])
    unset = "\n".join('COURSE_PACKAGE = "cnn-course-kit @ git+https://git.example.org/your-course/cnn-course-kit"'
                      if line.startswith("COURSE_PACKAGE =") else line for line in install_cell().splitlines())
    proc = run([str(fresh / "bin" / "python"), "-c", unset], env=env, cwd=tmp)
    assert proc.returncode != 0 and "not set yet" in proc.stderr
