"""``self_check()``: what is still missing in a homework notebook, before you submit.

It reads the notebook (the file as last saved; on Colab, the open notebook) and this
kernel's definitions, and lists item by item, in the notebook's order:

* functions (and methods) that still ``raise NotImplementedError``;
* sanity checks that printed ``FAIL``, stopped with an error, or were not run;
* written answers that are still empty (``YOUR ANSWER HERE``).

It runs no hidden test and calls none of your functions: it only reads. The report is
printed in English and in Persian. While the notebook is graded it does nothing.
"""
from __future__ import annotations

import ast
import html
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .env import is_grading

ANSWER_STUB = "YOUR ANSWER HERE"
SANITY_PREFIX = "# Sanity check"
TESTS_COMMENT = re.compile(r"Hidden tests for (\S+) \(([\d.]+) points?\)")
QUESTION = re.compile(r"\*\*(Written question[^*]*?)\.?\*\*")


@dataclass
class Finding:
    kind: str          # "stub", "fail", "error", "not_run", "answer", "syntax"
    cell: int          # index of the cell in the notebook, from 0
    name: str = ""     # the function, the check's FAIL line, the error's name
    detail: str = ""

    def english(self) -> str:
        where = f"cell {self.cell + 1}"
        if self.kind == "stub":
            return f"{self.name} still raises NotImplementedError ({where}){self.detail}"
        if self.kind == "fail":
            return f"sanity check ({where}): {self.name}"
        if self.kind == "error":
            return f"sanity check ({where}) stopped with {self.name}{': ' + self.detail if self.detail else ''}"
        if self.kind == "not_run":
            return f"sanity check ({where}) not run yet"
        if self.kind == "syntax":
            return f"{where} does not parse: {self.name}"
        return f"still empty ({where})"

    def persian(self) -> str:
        where = f"سلول {self.cell + 1}"
        if self.kind == "stub":
            extra = " (سلولش را دوباره اجرا کنید)" if self.detail else ""
            return f"<code>{html.escape(self.name)}</code> هنوز <code>NotImplementedError</code> می‌دهد ({where}){extra}"
        if self.kind == "fail":
            return f"بررسی درستی ({where}): <code>{html.escape(self.name)}</code>"
        if self.kind == "error":
            return f"بررسی درستی ({where}) با خطای <code>{html.escape(self.name)}</code> متوقف شد"
        if self.kind == "not_run":
            return f"بررسی درستی ({where}) هنوز اجرا نشده است"
        if self.kind == "syntax":
            return f"{where} خطای نحوی دارد: <code>{html.escape(self.name)}</code>"
        return f"هنوز خالی است ({where})"


@dataclass
class Section:
    title: str                       # "hw1.batchnorm_forward (5 points)", "written answer ..."
    kind: str                        # "item", "answer" or "other"
    findings: list[Finding] = field(default_factory=list)


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return src if isinstance(src, str) else "".join(src)


def _raises_not_implemented(node: ast.AST) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Raise) and sub.exc is not None:
            exc = sub.exc.func if isinstance(sub.exc, ast.Call) else sub.exc
            if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                return True
    return False


def _code_raises(code) -> bool:
    """True if a code object (or one nested in it) names NotImplementedError."""
    if "NotImplementedError" in code.co_names:
        return True
    return any(_code_raises(c) for c in code.co_consts if hasattr(c, "co_names"))


def _live_raises(namespace: dict | None, qualname: str) -> bool | None:
    """What this kernel's definition says (None: not defined here, or not a function)."""
    if namespace is None:
        return None
    obj = namespace.get(qualname.split(".")[0])
    for part in qualname.split(".")[1:]:
        obj = obj.__dict__.get(part) if isinstance(obj, type) else None
    obj = getattr(obj, "__func__", obj)
    code = getattr(obj, "__code__", None)
    return None if code is None else _code_raises(code)


def _stubs(tree: ast.Module) -> list[str]:
    """Names of the top-level functions and class methods that raise NotImplementedError."""
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _raises_not_implemented(node):
            names.append(node.name)
        elif isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)) and _raises_not_implemented(sub):
                    names.append(f"{node.name}.{sub.name}")
    return names


def _outputs(cell: dict) -> tuple[list[str], tuple[str, str] | None]:
    """(the FAIL lines a cell printed, its error as (name, message) or None)."""
    fails, error = [], None
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            text = _source({"source": out.get("text", "")})
            fails += [line.strip() for line in text.splitlines() if line.startswith("FAIL")]
        elif out.get("output_type") == "error":
            error = (str(out.get("ename", "an error")), str(out.get("evalue", ""))[:200])
    return fails, error


def has_run(nb: dict) -> bool:
    """True if any code cell of the saved notebook has run (an execution count or outputs)."""
    return any(c.get("execution_count") or c.get("outputs") for c in nb.get("cells", []) if c.get("cell_type") == "code")


def collect(nb: dict, namespace: dict | None = None) -> list[Section]:
    """The notebook's sections in order, each with what is still missing.

    A section is a graded item (the cells up to its hidden-test cell), a written
    answer, or "other" for cells after the last item. ``namespace`` is the kernel's
    (its definitions win over the saved cells, since they are what ran last)."""
    sections: list[Section] = []
    pending: list[Finding] = []
    question = ""
    for i, cell in enumerate(nb.get("cells", [])):
        src = _source(cell)
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "markdown":
            m = QUESTION.search(src)
            if m:
                question = m.group(1)
            if (meta.get("solution") and meta.get("grade")) or src.strip() == ANSWER_STUB:
                label = question or meta.get("grade_id", "written answer")
                points = f", {meta['points']:g} points" if "points" in meta and "point" not in label else ""
                sec = Section(f"written answer: {label}{points}", "answer")
                if src.strip() in ("", ANSWER_STUB):
                    sec.findings.append(Finding("answer", i))
                sections.append(sec)
                question = ""
            continue
        if cell.get("cell_type") != "code":
            continue
        if meta.get("grade") and not meta.get("solution"):          # a hidden-test cell closes an item
            m = TESTS_COMMENT.search(src)
            title = f"{m.group(1)} ({float(m.group(2)):g} points)" if m else meta.get("grade_id", f"cell {i + 1}")
            sections.append(Section(title, "item", pending))
            pending = []
            continue
        if "self_check(" in src or "install_course_package(" in src:
            continue
        if meta.get("solution"):
            try:
                tree = ast.parse(src)
            except SyntaxError as e:
                pending.append(Finding("syntax", i, f"SyntaxError on line {e.lineno}: {e.msg}"))
                continue
            saved = set(_stubs(tree))
            defined = []                     # in the cell's order
            for n in tree.body:
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    defined.append(n.name)
                elif isinstance(n, ast.ClassDef):
                    defined += [f"{n.name}.{s.name}" for s in n.body
                                if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
            for name in defined:
                live = _live_raises(namespace, name)
                if live or (live is None and name in saved):
                    pending.append(Finding("stub", i, name, " (as run in this kernel: run its cell again)"
                                           if live and name not in saved else ""))
            continue
        fails, error = _outputs(cell)
        pending += [Finding("fail", i, line) for line in fails]
        if error:
            pending.append(Finding("error", i, *error))
        elif src.lstrip().startswith(SANITY_PREFIX) and not cell.get("outputs") and cell.get("execution_count") is None:
            pending.append(Finding("not_run", i))
    if pending:
        sections.append(Section("other cells", "other", pending))
    if not has_run(nb):
        for s in sections:   # nothing has run yet: one line says so (report), not one per check
            s.findings = [f for f in s.findings if f.kind != "not_run"]
    return sections


def report(sections: list[Section], name: str, source: str, ran: bool = True) -> tuple[str, str]:
    """(plain text in English then Persian, the same as HTML with the Persian right to left)."""
    items = [s for s in sections if s.kind == "item"]
    answers = [s for s in sections if s.kind == "answer"]
    open_items = sum(1 for s in items if s.findings)
    open_answers = sum(1 for s in answers if s.findings)
    todo = [s for s in sections if s.findings]
    head = (f"Self-check of {name} ({source}); it runs no hidden test. "
            f"Graded items with something left: {open_items} of {len(items)}; "
            f"written answers still empty: {open_answers} of {len(answers)}.")
    lines = [head]
    if not ran:
        lines.append("No cell of the saved notebook has run yet, so no sanity check is listed: run the "
                     "cells, save, and run the self-check again.")
    for s in todo:
        lines.append(s.title)
        lines += [f"  - {f.english()}" for f in s.findings]
    if not todo:
        lines.append("Nothing missing found: every function is written, every sanity check that ran "
                     "passed and every written answer has text. Restart & Run All once, save, and submit.")
    fa_head = (f"خودآزمایی {html.escape(name)}؛ هیچ آزمون پنهانی اجرا نمی‌شود. "
               f"موردهای نمره‌دار که هنوز کاری دارند: {open_items} از {len(items)}؛ "
               f"پاسخ‌های تشریحی خالی: {open_answers} از {len(answers)}.")
    fa = [fa_head]
    if not ran:
        fa.append("هنوز هیچ سلولی از نوت‌بوکِ ذخیره‌شده اجرا نشده است، پس بررسی‌های درستی فهرست نشده‌اند: "
                  "سلول‌ها را اجرا کنید، ذخیره کنید و خودآزمایی را دوباره اجرا کنید.")
    for s in todo:
        title = s.title.replace("written answer: ", "پاسخ تشریحی: ").replace(" points)", " نمره)")
        title = title.replace(", ", "، ").replace("other cells", "سلول‌های دیگر")
        fa.append(f"<b>{html.escape(title)}</b>")
        fa += [f"&nbsp;&nbsp;• {f.persian()}" for f in s.findings]
    if not todo:
        fa.append("چیزی جا نمانده است: همهٔ تابع‌ها نوشته شده‌اند، همهٔ بررسی‌هایی که اجرا شده‌اند قبول "
                  "شده‌اند و همهٔ پاسخ‌های تشریحی متن دارند. یک بار Restart &amp; Run All را بزنید، ذخیره کنید "
                  "و تحویل دهید.")
    plain_fa = [re.sub(r"<[^>]+>", "", html.unescape(line.replace("&nbsp;&nbsp;• ", "  - "))) for line in fa]
    plain = "\n".join(lines) + "\n\n" + "\n".join(plain_fa)
    rich = ("<pre>" + html.escape("\n".join(lines)) + "</pre>"
            + '<div dir="rtl" style="text-align: right">' + "<br>".join(fa) + "</div>")
    return plain, rich


def _kernel_namespace() -> dict | None:
    try:
        from IPython import get_ipython
    except ImportError:
        get_ipython = None
    shell = get_ipython() if get_ipython else None
    if shell is not None:
        return shell.user_ns
    main = sys.modules.get("__main__")
    return getattr(main, "__dict__", None)


def find_notebook(namespace: dict | None) -> tuple[dict, str, str]:
    """(the notebook as a dict, its name, where it was read from)."""
    if "google.colab" in sys.modules:
        try:
            from google.colab import _message  # the open notebook, with its outputs

            nb = _message.blocking_request("get_ipynb", timeout_sec=30)["ipynb"]
            return nb, "this notebook", "the open notebook on Colab"
        except Exception:  # noqa: BLE001 -- fall back to the files below
            pass
    candidates = []
    for key in ("__vsc_ipynb_file__",):
        if namespace and isinstance(namespace.get(key), str):
            candidates.append(Path(namespace[key]))
    if os.environ.get("JPY_SESSION_NAME"):
        candidates.append(Path(os.environ["JPY_SESSION_NAME"]))
    here = sorted(Path.cwd().glob("*.ipynb"), key=lambda p: p.stat().st_mtime, reverse=True)
    candidates += here
    for path in candidates:
        if not path.is_file() or path.suffix != ".ipynb":
            continue
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if path in here and "course_kit" not in nb.get("metadata", {}):
            continue
        saved = time.strftime("%H:%M", time.localtime(path.stat().st_mtime))
        return nb, path.name, f"as saved at {saved}; save first to check your latest changes"
    raise FileNotFoundError("no course notebook found beside this kernel; "
                            "pass its path: cnnkit.self_check('hw1.ipynb')")


def self_check(notebook: str | os.PathLike | None = None) -> None:
    """Print what is still missing in this homework notebook, in English and Persian.

    ``notebook``: the .ipynb file to read; by default the notebook this kernel runs
    (found through Colab, VS Code, Jupyter's ``JPY_SESSION_NAME``, or the course
    notebook in the current folder). Returns nothing and never raises: a problem is
    printed as one line. Does nothing while the notebook is graded."""
    if is_grading():
        print("self-check: skipped while grading")
        return
    try:
        namespace = _kernel_namespace()
        if notebook is not None:
            path = Path(notebook)
            nb, name, source = json.loads(path.read_text(encoding="utf-8")), path.name, f"read from {path}"
        else:
            nb, name, source = find_notebook(namespace)
        plain, rich = report(collect(nb, namespace), name, source, has_run(nb))
    except Exception as e:  # noqa: BLE001 -- a student must get a line, never a traceback
        print(f"self-check could not run: {type(e).__name__}: {e}")
        return
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            display({"text/plain": plain, "text/html": rich}, raw=True)
            return
    except ImportError:
        pass
    print(plain)
