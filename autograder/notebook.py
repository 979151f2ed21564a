"""Reading a submitted notebook and taking the definitions out of it.

The grader keeps, from every code cell, only the top-level statements that
*define* things: imports, ``def``, ``class`` and assignments. Bare expressions,
loops, ``if`` blocks and magics are dropped, so a training loop at top level, a
plot or a ``print("All tests passed")`` never runs at grading time. An
assignment that calls something (``history = train(model)``, ``dx = f(x)`` in a
sanity check) is kept only if a kept function or class reads that name as a
global; plain constants (``EPS = 1e-5``) are always kept. This module only
parses; nothing here executes student code.
"""
from __future__ import annotations

import ast
import builtins
import dataclasses
import json
import re
import symtable
from pathlib import Path

# Bounds on what a submission can make the grading process do (issue: a bounded parent).
MAX_NOTEBOOK_BYTES = 32 * 2**20   # the .ipynb file (outputs and images included)
MAX_CELL_BYTES = 128 * 1024       # one code cell's source
MAX_CODE_BYTES = 2 * 2**20        # all code cells together

KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)


class NotebookError(Exception):
    """The file cannot be graded at all (not a notebook, unreadable JSON)."""


@dataclasses.dataclass
class Snippet:
    cell: int  # 1-based index among code cells, as Jupyter users count them
    line: int
    kind: str  # "import", "def", "class", "assign"
    names: tuple[str, ...]
    source: str
    refs: frozenset = frozenset()  # global names it reads (functions' globals included)
    has_call: bool = False

    @property
    def where(self) -> str:
        return f"code cell {self.cell}, line {self.line}"


@dataclasses.dataclass
class Extracted:
    snippets: list[Snippet]
    problems: list[str]  # cells that could not be parsed, each with the reason

    def defined(self) -> set[str]:
        return {n for s in self.snippets for n in s.names}


def read_notebook(path: str | Path, data: bytes | None = None) -> dict:
    """Parse a submission, bounded in size and nesting; ``NotebookError`` with a
    message a student or TA can act on for anything that is not a notebook."""
    path = Path(path)
    if data is None:
        data = read_bounded(path)
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise NotebookError(f"{path.name} is {len(data) / 2**20:.0f} MB, over the {MAX_NOTEBOOK_BYTES // 2**20} MB "
                            "limit for a notebook; clear the outputs (Edit > Clear All Outputs) and submit again")
    try:
        nb = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise NotebookError(f"{path.name} is not a text file (not UTF-8), so not a Jupyter notebook") from None
    except RecursionError:
        raise NotebookError(f"{path.name} is JSON nested too deeply to be a notebook") from None
    except json.JSONDecodeError as e:
        raise NotebookError(
            f"{path.name} is not valid notebook JSON (line {e.lineno}, column {e.colno}: {e.msg}); "
            "was it edited by hand or saved half-way?"
        ) from None
    except (ValueError, MemoryError) as e:
        raise NotebookError(f"{path.name} could not be read as a notebook ({type(e).__name__})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise NotebookError(f"{path.name} is JSON but not a Jupyter notebook (no list of 'cells')")
    return nb


def read_bounded(path, limit: int = MAX_NOTEBOOK_BYTES, name: str | None = None, fd: int | None = None) -> bytes:
    """The bytes of a regular file, never following a symbolic link in its last
    component, at most ``limit`` (``fd``: a descriptor already opened; it is closed)."""
    import os
    import stat

    name = name or Path(path).name
    if fd is None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as e:
            if e.errno == 40:  # ELOOP: the last component is a symbolic link
                raise NotebookError(f"{name} is a symbolic link, not a notebook file; submit the file itself") from None
            raise NotebookError(f"cannot read {name}: {e.strerror or e}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotebookError(f"{name} is not a regular file")
        if st.st_size > limit:
            raise NotebookError(f"{name} is {st.st_size / 2**20:.0f} MB, over the {limit // 2**20} MB limit for a "
                                "notebook; clear the outputs (Edit > Clear All Outputs) and submit again")
        chunks, left = [], limit + 1
        while left > 0:
            b = os.read(fd, min(left, 1 << 20))
            if not b:
                break
            chunks.append(b)
            left -= len(b)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _metadata(cell) -> dict:
    md = cell.get("metadata") if isinstance(cell, dict) else None
    return md if isinstance(md, dict) else {}


def _nbgrader(cell) -> dict:
    md = _metadata(cell).get("nbgrader")
    return md if isinstance(md, dict) else {}


def cell_source(cell: dict) -> str:
    src = cell.get("source", "")
    if isinstance(src, list):
        src = "".join(str(s) for s in src)
    return src if isinstance(src, str) else ""


def is_test_cell(cell: dict) -> bool:
    md = _nbgrader(cell)
    return bool(md.get("grade") and not md.get("solution"))


def code_cells(nb: dict) -> list[str]:
    """The code cells' sources in order; nbgrader test cells count as empty."""
    out = []
    for cell in nb["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        out.append("" if is_test_cell(cell) else cell_source(cell))
    return out


_MAGIC = re.compile(r"^(\s*)([%!?].*|.*\?\s*)$")


def _strip_magics(src: str) -> str | None:
    """Replace IPython magics and shell escapes by ``pass``; None for cell magics."""
    if src.lstrip().startswith("%%"):
        return None
    lines = []
    for line in src.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            lines.append(line[: len(line) - len(stripped)] + "pass")
        else:
            lines.append(line)
    return "\n".join(lines)


def _names(node: ast.stmt) -> tuple[str, ...]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return (node.name,)
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return tuple((a.asname or a.name).split(".")[0] for a in node.names)
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    names: list[str] = []
    for t in targets:
        for sub in ast.walk(t):
            if isinstance(sub, ast.Name):
                names.append(sub.id)
    return tuple(names)


def _kind(node: ast.stmt) -> str:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return "import"
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return "def"
    if isinstance(node, ast.ClassDef):
        return "class"
    return "assign"


def extract(cells: list[str]) -> Extracted:
    """The kept definitions of the code cells, in order. Time and memory are linear
    in the code, which is capped per cell and in total (a cell over the cap is
    skipped with a note)."""
    snippets: list[Snippet] = []
    problems: list[str] = []
    total = 0
    for i, src in enumerate(cells, start=1):
        if not isinstance(src, str) or not src.strip():
            continue
        size = len(src.encode("utf-8", "replace"))
        if size > MAX_CELL_BYTES:
            problems.append(f"code cell {i} is {size // 1024} kB, over the {MAX_CELL_BYTES // 1024} kB limit for one "
                            "cell, and was skipped (load large data from a file instead)")
            continue
        total += size
        if total > MAX_CODE_BYTES:
            problems.append(f"code cell {i} and the cells after it were skipped: the notebook holds over "
                            f"{MAX_CODE_BYTES // 2**20} MB of code")
            break
        clean = _strip_magics(src)
        if clean is None:
            continue
        try:
            tree = ast.parse(clean)
        except SyntaxError as e:
            problems.append(f"code cell {i} has a syntax error (line {e.lineno}: {e.msg}) and was skipped")
            continue
        except (ValueError, RecursionError, MemoryError) as e:
            problems.append(f"code cell {i} could not be parsed ({type(e).__name__}) and was skipped")
            continue
        lines = clean.splitlines()
        for node in tree.body:
            if not isinstance(node, KEPT):
                continue
            if isinstance(node, ast.AnnAssign) and node.value is None:
                continue
            start = node.lineno
            if getattr(node, "decorator_list", None):
                start = min(d.lineno for d in node.decorator_list)
            text = "\n".join(lines[start - 1 : node.end_lineno])
            has_call = any(isinstance(n, ast.Call) for n in ast.walk(node)) if _kind(node) == "assign" else False
            snippets.append(Snippet(i, start, _kind(node), _names(node), text, _global_refs(text), has_call))
        del tree
    return Extracted(_needed_only(snippets), problems)


def _global_refs(text: str) -> frozenset:
    """Names a statement reads from the module namespace, nested functions included."""
    try:
        top = symtable.symtable(text, "<cell>", "exec")
    except SyntaxError:
        return frozenset()
    names = {s.get_name() for s in top.get_symbols() if s.is_referenced()}
    stack = list(top.get_children())
    while stack:
        t = stack.pop()
        stack.extend(t.get_children())
        for sym in t.get_symbols():
            if sym.is_global() or (t.get_type() == "class" and sym.is_referenced() and not sym.is_assigned()):
                names.add(sym.get_name())
    return frozenset(names)


def _needed_only(snippets: list[Snippet]) -> list[Snippet]:
    """Drop the experiments that no kept definition needs.

    An experiment is an assignment with a call (``data = load(...)``), or an
    assignment that reads a name only experiments define (``x = data["x"]``) or
    that only a skipped statement defines (a name set inside ``if not GRADING:``):
    without its experiment it could only fail, and a note saying so would puzzle
    a student whose notebook is fine.

    Two worklist passes over (statement, name) pairs, so linear in the code: a name
    is *tainted* once no plain (non-experiment) statement defines it; a plain
    assignment that reads a tainted name becomes an experiment, which may taint
    the names it defines. Then the experiments that a kept statement needs come back,
    with what they need."""
    n = len(snippets)
    builtin_names = set(dir(builtins))
    defined = {name for s in snippets for name in s.names}
    experiment = [s.has_call for s in snippets]
    plain_count: dict[str, int] = {}
    readers: dict[str, list[int]] = {}
    for i, s in enumerate(snippets):
        if not experiment[i]:
            for name in set(s.names):
                plain_count[name] = plain_count.get(name, 0) + 1
        if s.kind == "assign":
            for name in s.refs:
                readers.setdefault(name, []).append(i)

    def tainted(name: str) -> bool:
        return plain_count.get(name, 0) == 0 and (name in defined or name not in builtin_names)

    work = [name for name in readers if tainted(name)]
    seen_taint = set(work)
    while work:
        name = work.pop()
        for i in readers.get(name, ()):
            if experiment[i]:
                continue
            experiment[i] = True
            for defined_name in set(snippets[i].names):
                plain_count[defined_name] -= 1
                if plain_count[defined_name] == 0 and defined_name not in seen_taint:
                    seen_taint.add(defined_name)
                    work.append(defined_name)
    definers: dict[str, list[int]] = {}
    for i, s in enumerate(snippets):
        if experiment[i]:
            for name in s.names:
                definers.setdefault(name, []).append(i)
    keep = [not e for e in experiment]
    needed: set[str] = set()
    todo: list[str] = []
    for i in range(n):
        if keep[i]:
            for name in snippets[i].refs:
                if name not in needed:
                    needed.add(name)
                    todo.append(name)
    while todo:
        name = todo.pop()
        for i in definers.get(name, ()):
            if keep[i]:
                continue
            keep[i] = True
            for ref in snippets[i].refs:
                if ref not in needed:
                    needed.add(ref)
                    todo.append(ref)
    return [s for i, s in enumerate(snippets) if keep[i]]


def notebook_assignment(nb: dict) -> str | None:
    """The assignment id the notebook says it belongs to, if any."""
    md = nb.get("metadata", {})
    if isinstance(md, dict):
        kit = md.get("course_kit")
        if isinstance(kit, dict) and isinstance(kit.get("assignment"), str):
            return kit["assignment"]
    return None


def manual_cells(nb: dict) -> list[dict]:
    """nbgrader cells a TA grades by hand: id, points."""
    out = []
    for cell in nb["cells"]:
        md = _nbgrader(cell)
        if md.get("grade") and md.get("solution"):
            try:
                pts = float(md.get("points", 0))
            except (TypeError, ValueError):
                pts = 0.0
            if pts != pts or pts in (float("inf"), float("-inf")):
                pts = 0.0
            out.append({"id": str(md.get("grade_id", "?"))[:100], "max_points": pts})
    return out
