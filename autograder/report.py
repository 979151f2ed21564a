"""The class report: ``python -m autograder report RESULTS_DIR [--out report.html]``.

Reads the result files ``grade-all`` writes (``RESULTS_DIR/<assignment>/<student>.json``)
and writes one static HTML page that opens offline (plots are inline SVG drawn by
matplotlib, no script, no network) and a CSV beside it with one row per student and
item: student, assignment, item, points, max_points, reason.

Per assignment the page shows the distribution of totals; per item a histogram of
points, the share of students with full, partial and zero points, and the reasons
that cost points, grouped by their stage (what the text before the first ``": "``
names: a function, an output, a check) and message with every number abstracted
(``wrong values, max relative error # (batch of #)``), each with how many students
got it; the slowest items (or submissions, where the results have no per-item
seconds); the notebooks that could not be graded and why; and a row per student
linking to the student's nbgrader feedback page where one exists.

Everything a student wrote (a reason can quote an exception message) is escaped.
"""
from __future__ import annotations

import csv
import functools
import html
import io
import json
import os
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

# --------------------------------------------------------------------------
# Reading results and taking reasons apart.


def load_results(results: Path) -> list[dict]:
    """Every ``<assignment>/<student>.json`` under ``results`` that parses as a result."""
    rows = []
    for p in sorted(Path(results).glob("*/*.json")):
        try:
            r = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(r, dict) and "student" in r and "assignment" in r and ("report" in r or "error" in r):
            rows.append(r)
    return rows


_MORE = re.compile(r"\s*\(and \d+ more cases?\)\s*$")
# A number on its own (not inside a name such as conv2d or hw1): ints, decimals,
# exponents, signs, percentages; inf and nan too.
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?%?(?![\w])"
                     r"|(?<![\w])(?:inf|nan)(?![\w])")


def split_parts(reason: str) -> list[str]:
    """``"a: x; b: y (p; q)"`` -> ``["a: x", "b: y (p; q)"]``: split at ``"; "`` outside brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(reason):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif ch == ";" and depth == 0 and reason[i + 1:i + 2] == " ":
            parts.append(reason[start:i])
            start = i + 2
    parts.append(reason[start:])
    return [p.strip() for p in parts if p.strip()]


def _top_level_colon(text: str) -> int:
    """Where the first ``": "`` outside brackets is (-1: none)."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif ch == ":" and depth == 0 and text[i + 1:i + 2] == " ":
            return i
    return -1


def abstract(text: str) -> str:
    """Every number replaced by ``#``: reasons that differ only in their numbers group together."""
    return _NUMBER.sub("#", text)


def reason_groups(item_short: str, reason: str) -> list[tuple[str, str, str]]:
    """The reason of one item as ``(stage, message, original part)`` triples, numbers
    abstracted in stage and message; nothing for a reason that says all passed."""
    if reason.startswith(item_short + ": "):
        reason = reason[len(item_short) + 2:]
    if reason.strip() in ("", "all checks passed"):
        return []
    out = []
    for part in split_parts(reason):
        bare = _MORE.sub("", part)
        if bare.startswith("not implemented yet"):
            stage, msg = "not implemented yet", bare[len("not implemented yet"):].lstrip(": ")
        else:
            cut = _top_level_colon(bare)
            stage, msg = (bare[:cut], bare[cut + 2:]) if 0 < cut <= 80 else (item_short, bare)
        out.append((abstract(stage), abstract(msg), part))
    return out


def kind_of(message: str) -> str:
    """The check stage a message belongs to (type, then shape, then values), for a tag."""
    m = message.lower()
    if "notimplementederror" in m or "not implemented" in m:
        return "not implemented"
    if "timed out" in m or "time limit" in m or "budget ran out" in m or "too slow" in m:
        return "time"
    if "not found in the notebook" in m or "could not be defined" in m or "syntax error" in m:
        return "notebook"
    if "the call raised" in m or "error:" in m or "crashed" in m:
        return "crash"
    if "shape" in m and ("wrong shape" in m or "has shape" in m or "maps a batch" in m):
        return "shape"
    if "expected a" in m or "dtype" in m or "unexpected type" in m or "returned a" in m or "not a dict" in m:
        return "type"
    if "nan" in m or "inf" in m.split():
        return "finite"
    return "values"


# --------------------------------------------------------------------------
# The numbers the page shows.


@dataclass
class ItemStats:
    id: str
    short: str
    title: str
    max_points: float
    points: dict[str, float] = field(default_factory=dict)  # student -> points
    reasons: dict[str, str] = field(default_factory=dict)  # student -> reason
    seconds: list[float] = field(default_factory=list)

    def shares(self) -> tuple[int, int, int]:
        full = sum(1 for p in self.points.values() if p >= self.max_points)
        zero = sum(1 for p in self.points.values() if p <= 0)
        return full, len(self.points) - full - zero, zero

    def groups(self) -> list[tuple[str, str, list[str], str]]:
        """``(stage, message, students, an example)``, most students first."""
        who: dict[tuple[str, str], list[str]] = defaultdict(list)
        example: dict[tuple[str, str], str] = {}
        for student, reason in sorted(self.reasons.items()):
            if self.points.get(student, 0) >= self.max_points:
                continue
            seen = set()
            for stage, msg, part in reason_groups(self.short, reason):
                key = (stage, msg)
                if key in seen:
                    continue
                seen.add(key)
                who[key].append(student)
                example.setdefault(key, part)
        ranked = sorted(who.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        return [(s, m, students, example[(s, m)]) for (s, m), students in ranked]


@dataclass
class AssignmentStats:
    id: str
    title: str
    max_points: float
    items: dict[str, ItemStats]
    totals: dict[str, float]
    errors: dict[str, str]
    seconds: dict[str, float]
    manual: dict[str, float]  # student -> points of written answers left for a TA
    rows: list[dict]


@functools.lru_cache(maxsize=None)
def _registry(hw: str):
    try:
        from .core import get_assignment

        return get_assignment(hw)
    except Exception:  # noqa: BLE001 -- a report must not need the graders to import
        return None


def summarise(rows: list[dict]) -> list[AssignmentStats]:
    by_hw: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_hw[r["assignment"]].append(r)
    out = []
    for hw in sorted(by_hw):
        reg = _registry(hw)
        items: dict[str, ItemStats] = {}
        if reg is not None:
            for it in reg.items:
                items[it.id] = ItemStats(it.id, it.short, it.title, float(it.points))
        totals, errors, seconds, manual = {}, {}, {}, {}
        max_points = float(reg.max_points) if reg is not None else 0.0
        for r in sorted(by_hw[hw], key=lambda r: r["student"]):
            s = r["student"]
            seconds[s] = float(r.get("seconds") or 0.0)
            if "report" not in r:
                errors[s] = str(r.get("error", "unknown error"))
                continue
            rep = r["report"]
            totals[s] = float(rep.get("total", 0.0))
            if isinstance(rep.get("max"), (int, float)):
                max_points = float(rep["max"])
            manual[s] = float(sum(m.get("max_points", 0) for m in rep.get("manual") or []))
            for i in rep.get("items", []):
                st = items.get(i["id"])
                if st is None:
                    short = i["id"].split(".", 1)[-1]
                    st = items[i["id"]] = ItemStats(i["id"], short, short, float(i.get("max_points", 0)))
                if isinstance(i.get("max_points"), (int, float)):
                    st.max_points = float(i["max_points"])  # the results, not today's registry, say what it was out of
                st.points[s] = float(i.get("points", 0.0))
                st.reasons[s] = str(i.get("reason", ""))
                if isinstance(i.get("seconds"), (int, float)):
                    st.seconds.append(float(i["seconds"]))
        title = reg.title if reg is not None else ""
        out.append(AssignmentStats(hw, title, max_points, items, totals, errors, seconds, manual, by_hw[hw]))
    return out


# --------------------------------------------------------------------------
# Plots: small inline SVGs.


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "course-kit", "font.size": 9})
    return plt


def totals_plot(totals: list[float], max_points: float, title: str) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.0, 2.4))
    top = max(max_points, max(totals, default=0.0), 1.0)
    bins = [top * k / 20 for k in range(21)]
    ax.hist(totals, bins=bins, color="#4c72b0", edgecolor="white")
    ax.set_xlim(0, top)
    ax.set_xlabel("total points")
    ax.set_ylabel("students")
    ax.set_title(title)
    ax.yaxis.get_major_locator().set_params(integer=True)
    return _svg(fig)


def item_plot(points: list[float], max_points: float) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(2.8, 1.6))
    top = max(max_points, max(points, default=0.0), 1e-9)
    n = 10
    counts = [0] * (n + 1)  # the last bar: full points
    for p in points:
        counts[n if p >= max_points else min(n - 1, int(p / top * n))] += 1
    colours = ["#c44e52"] + ["#dd8452"] * (n - 1) + ["#55a868"]
    ax.bar(range(n + 1), counts, color=colours, width=0.85)
    ax.set_xticks([0, n // 2, n], ["0", f"{top / 2:g}", f"{max_points:g}"])
    ax.set_xlabel("points")
    ax.yaxis.get_major_locator().set_params(integer=True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _svg(fig)


# --------------------------------------------------------------------------
# The page.

CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 72em; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { border-bottom: 2px solid #4c72b0; padding-bottom: .2em; margin-top: 2em; }
h3 { font-size: 1.05em; margin: 0 0 .3em 0; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border-bottom: 1px solid #ddd; padding: .2em .6em; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.item { display: flex; gap: 1em; border: 1px solid #ddd; border-radius: 6px; padding: .6em; margin: .8em 0; }
.item .plot { flex: 0 0 auto; } .item .text { flex: 1 1 auto; min-width: 0; }
.shares span { display: inline-block; margin-right: 1em; }
.full { color: #2e7d32; } .partial { color: #b26a00; } .zero { color: #c62828; }
.tag { font-size: .8em; background: #eef; border-radius: 3px; padding: 0 .3em; margin-right: .3em; }
.example { color: #666; font-size: .85em; }
.error { color: #c62828; }
.stats span { margin-right: 1.5em; }
code { font-size: .95em; }
"""


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _fmt(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _feedback_link(feedback: Path | None, page_dir: Path, hw: str, student: str) -> str:
    if feedback is None:
        return ""
    reg = _registry(hw)
    stem = reg.notebook[: -len(".ipynb")] if reg is not None else hw
    target = feedback / student / hw / f"{stem}.html"
    if not target.is_file():
        return ""
    return os.path.relpath(target, page_dir)


def render(stats: list[AssignmentStats], page_dir: Path, feedback: Path | None, source: str) -> str:
    out = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Class report</title>"
           f"<style>{CSS}</style></head><body>",
           "<h1>Class report</h1>",
           f"<p>From the results in <code>{_e(source)}</code>. Reasons are grouped by their stage and message "
           "with the numbers replaced by <code>#</code>; each group counts the students whose reason holds it.</p>"]
    if not stats:
        out.append("<p id='empty'>No results found.</p>")
    for a in stats:
        out.append(_assignment_section(a, page_dir, feedback))
    out.append("</body></html>")
    return "\n".join(out)


def _assignment_section(a: AssignmentStats, page_dir: Path, feedback: Path | None) -> str:
    hw = _e(a.id)
    totals = list(a.totals.values())
    o = [f"<section class='assignment' id='{hw}' data-assignment='{hw}'>",
         f"<h2>{hw}{': ' + _e(a.title) if a.title else ''}</h2>"]
    if totals:
        o.append("<p class='stats'>"
                 f"<span>students: <b class='n-students'>{len(a.rows)}</b></span>"
                 f"<span>graded: <b class='n-graded'>{len(totals)}</b></span>"
                 f"<span>mean: <b class='mean'>{_fmt(statistics.fmean(totals))}</b> / {_fmt(a.max_points)}</span>"
                 f"<span>median: <b class='median'>{_fmt(statistics.median(totals))}</b></span>"
                 f"<span>lowest: <b>{_fmt(min(totals))}</b></span><span>highest: <b>{_fmt(max(totals))}</b></span></p>")
        o.append(f"<figure class='plot totals'>{totals_plot(totals, a.max_points, f'{a.id}: totals of {len(totals)} students')}</figure>")
    else:
        o.append(f"<p class='stats'>students: <b class='n-students'>{len(a.rows)}</b>, graded: <b class='n-graded'>0</b></p>")

    # Items, in the registry's order.
    o.append("<h3>Items</h3>")
    for it in a.items.values():
        if not it.points:
            continue
        full, partial, zero = it.shares()
        n = len(it.points)
        o.append(f"<div class='item' id='{hw}-{_e(it.short)}' data-item='{_e(it.id)}'>")
        o.append(f"<div class='plot'>{item_plot(list(it.points.values()), it.max_points)}</div><div class='text'>")
        o.append(f"<h3>{_e(it.short)} <small>({_fmt(it.max_points)} points)</small></h3>")
        if it.title and it.title != it.short:
            o.append(f"<div>{_e(it.title)}</div>")
        mean = statistics.fmean(it.points.values())
        o.append("<div class='shares'>"
                 f"<span class='full'>full: <b class='n-full'>{full}</b> ({full / n:.0%})</span>"
                 f"<span class='partial'>partial: <b class='n-partial'>{partial}</b> ({partial / n:.0%})</span>"
                 f"<span class='zero'>zero: <b class='n-zero'>{zero}</b> ({zero / n:.0%})</span>"
                 f"<span>mean: <b class='item-mean'>{_fmt(mean)}</b></span></div>")
        groups = it.groups()
        if groups:
            o.append("<table class='reasons'><tr><th class='num'>students</th><th>stage</th><th>reason</th></tr>")
            for stage, msg, students, example in groups[:8]:
                names = ", ".join(students[:12]) + (f" and {len(students) - 12} more" if len(students) > 12 else "")
                o.append(f"<tr><td class='num n-reason' title='{_e(names)}'>{len(students)}</td>"
                         f"<td><span class='tag'>{_e(kind_of(msg))}</span><code>{_e(stage)}</code></td>"
                         f"<td class='reason'>{_e(msg)}<div class='example'>e.g. {_e(example)}</div></td></tr>")
            if len(groups) > 8:
                o.append(f"<tr><td></td><td colspan='2'>{len(groups) - 8} rarer reasons: see the CSV</td></tr>")
            o.append("</table>")
        o.append("</div></div>")

    # Slowest.
    timed = [(statistics.fmean(it.seconds), it.short) for it in a.items.values() if it.seconds]
    o.append("<h3>Slowest</h3>")
    if timed:
        o.append("<table class='slowest'><tr><th>item</th><th class='num'>mean seconds per submission</th></tr>")
        for sec, short in sorted(timed, reverse=True)[:5]:
            o.append(f"<tr><td>{_e(short)}</td><td class='num'>{sec:.1f}</td></tr>")
    else:
        o.append("<p>These results time whole submissions, not items: the slowest submissions.</p>")
        o.append("<table class='slowest'><tr><th>student</th><th class='num'>seconds</th></tr>")
        for s, sec in sorted(a.seconds.items(), key=lambda kv: -kv[1])[:5]:
            o.append(f"<tr><td>{_e(s)}</td><td class='num'>{sec:.1f}</td></tr>")
    o.append("</table>")

    # Could not be graded.
    o.append("<h3>Notebooks that could not be graded</h3>")
    if a.errors:
        o.append("<table class='errors'><tr><th>student</th><th>why</th></tr>")
        for s, why in sorted(a.errors.items()):
            o.append(f"<tr data-student='{_e(s)}'><td>{_e(s)}</td><td class='error'>{_e(why)}</td></tr>")
        o.append("</table>")
    else:
        o.append("<p class='no-errors'>None: every notebook was graded.</p>")

    # Students.
    o.append("<h3>Students</h3><table class='students'><tr><th>student</th><th class='num'>total</th>"
             "<th class='num'>max</th><th>items below full points</th><th>feedback</th></tr>")
    for r in sorted(a.rows, key=lambda r: r["student"]):
        s = r["student"]
        link = _feedback_link(feedback, page_dir, a.id, s)
        fb = f"<a href='{_e(link)}'>feedback</a>" if link else "<span title='no feedback page found'>-</span>"
        if s in a.errors:
            o.append(f"<tr data-student='{_e(s)}'><td>{_e(s)}</td><td class='num total'>0</td><td class='num'>{_fmt(a.max_points)}</td>"
                     f"<td class='error'>could not be graded</td><td>{fb}</td></tr>")
            continue
        lost = [f"{it.short} {_fmt(it.points[s])}/{_fmt(it.max_points)}" for it in a.items.values()
                if s in it.points and it.points[s] < it.max_points]
        manual = f" (+ {_fmt(a.manual[s])} points of written answers to grade by hand)" if a.manual.get(s) else ""
        o.append(f"<tr data-student='{_e(s)}'><td>{_e(s)}</td><td class='num total'>{_fmt(a.totals[s])}</td>"
                 f"<td class='num'>{_fmt(a.max_points)}</td><td>{_e(', '.join(lost) or 'none')}{_e(manual)}</td><td>{fb}</td></tr>")
    o.append("</table></section>")
    return "\n".join(o)


def write_csv(stats: list[AssignmentStats], path: Path) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", "assignment", "item", "points", "max_points", "reason"])
        for a in stats:
            for s in sorted(set(a.totals) | set(a.errors)):
                if s in a.errors:
                    w.writerow([s, a.id, "", 0, a.max_points, f"could not be graded: {a.errors[s]}"])
                    continue
                for it in a.items.values():
                    if s in it.points:
                        w.writerow([s, a.id, it.id, it.points[s], it.max_points, it.reasons.get(s, "")])


def write_report(results: Path, out: Path | None = None, feedback: Path | None = None) -> tuple[Path, Path]:
    """Write the page and the CSV; return their paths. ``feedback`` defaults to the
    ``feedback/`` folder beside ``results`` (nbgrader's, in a course folder)."""
    results = Path(results)
    out = Path(out) if out else results / "report.html"
    if feedback is None:
        guess = results.resolve().parent / "feedback"
        feedback = guess if guess.is_dir() else None
    stats = summarise(load_results(results))
    out.parent.mkdir(parents=True, exist_ok=True)
    page = render(stats, out.resolve().parent, Path(feedback).resolve() if feedback else None, str(results))
    out.write_text(page, encoding="utf-8")
    csv_path = out.with_suffix(".csv")
    write_csv(stats, csv_path)
    return out, csv_path


def after_grading(results: Path) -> str:
    """The line ``grade-all`` ends with: where the class report is (never fails grading)."""
    try:
        page, csv_path = write_report(results)
    except Exception as e:  # noqa: BLE001
        return f"class report: not written ({type(e).__name__}: {e}); try `python -m autograder report {results}`"
    return f"class report: {page} (open it in a browser; per-item CSV: {csv_path})"
