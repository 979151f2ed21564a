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


def read_notebook(path: str | Path) -> dict:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise NotebookError(f"cannot read {path}: {e.strerror or e}") from None
    try:
        nb = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise NotebookError(f"{path} is not a text file (not UTF-8), so not a Jupyter notebook") from None
    except json.JSONDecodeError as e:
        raise NotebookError(
            f"{path} is not valid notebook JSON (line {e.lineno}, column {e.colno}: {e.msg}); "
            "was it edited by hand or saved half-way?"
        ) from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise NotebookError(f"{path} is JSON but not a Jupyter notebook (no list of 'cells')")
    return nb


def cell_source(cell: dict) -> str:
    src = cell.get("source", "")
    if isinstance(src, list):
        src = "".join(str(s) for s in src)
    return src if isinstance(src, str) else ""


def is_test_cell(cell: dict) -> bool:
    md = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell.get("metadata"), dict) else {}
    return bool(isinstance(md, dict) and md.get("grade") and not md.get("solution"))


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
    snippets: list[Snippet] = []
    problems: list[str] = []
    for i, src in enumerate(cells, start=1):
        if not src.strip():
            continue
        clean = _strip_magics(src)
        if clean is None:
            continue
        try:
            tree = ast.parse(clean)
        except SyntaxError as e:
            problems.append(f"code cell {i} has a syntax error (line {e.lineno}: {e.msg}) and was skipped")
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
    a student whose notebook is fine."""
    experiment = {id(s) for s in snippets if s.has_call}
    defined = {n for s in snippets for n in s.names} | set(dir(builtins))
    undefined = {n for s in snippets for n in s.refs} - defined
    changed = True
    while changed:
        changed = False
        plain_names = {n for s in snippets if id(s) not in experiment for n in s.names}
        experiment_names = ({n for s in snippets if id(s) in experiment for n in s.names} - plain_names) | undefined
        for s in snippets:
            if id(s) not in experiment and s.kind == "assign" and s.refs & experiment_names:
                experiment.add(id(s))
                changed = True
    needed: set[str] = set()
    for s in snippets:
        if id(s) not in experiment:
            needed |= s.refs
    keep = {id(s) for s in snippets if id(s) not in experiment}
    changed = True
    while changed:
        changed = False
        for s in snippets:
            if id(s) not in keep and needed.intersection(s.names):
                keep.add(id(s))
                needed |= s.refs
                changed = True
    return [s for s in snippets if id(s) in keep]


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
        md = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell, dict) else {}
        if isinstance(md, dict) and md.get("grade") and md.get("solution"):
            try:
                pts = float(md.get("points", 0))
            except (TypeError, ValueError):
                pts = 0.0
            out.append({"id": str(md.get("grade_id", "?")), "max_points": pts})
    return out
