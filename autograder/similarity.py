"""Code similarity: ``python -m autograder similarity SUBMISSIONS_DIR --assignment hw1``.

Compares the students' solution code function by function, the way MOSS does
(Schleimer, Wilkerson and Aiken, "Winnowing: local algorithms for document
fingerprinting", SIGMOD 2003), with these steps:

1. **Units.** Every code cell of a submission is cut into units: each top-level
   function, each method of a class (``Class.method``), the rest of a class, and
   the rest of each cell. A later definition replaces an earlier one, as in Python.
2. **Normalised tokens.** Comments, docstrings and layout are dropped; names a
   student chooses become ``V`` (variables, parameters, helper functions, ``self``'s
   attributes), numbers ``N`` and strings ``S``. Keywords, operators, builtins,
   imported modules and the attributes the code calls (``np.maximum``, ``x.sum``)
   stay. Renaming and reformatting therefore change nothing.
3. **Fingerprints.** Hashes of every run of ``K`` tokens, winnowed (the smallest
   hash of every window of ``W`` hashes), so that any match of ``K + W - 1`` tokens
   or more is certain to be seen, wherever it moved to.
4. **What is not the student's.** Units left as the release gave them are dropped,
   and every fingerprint of the release's code (the given code, the stubs, the
   test cells) is removed; so are fingerprints that more than a share of the class
   holds (``--common``; what everybody writes is no evidence).
5. **Scores.** For students A and B, each unit of A is matched with B's unit of the
   same name or else B's unit sharing most fingerprints with it. ``A->B`` is the
   share of A's fingerprints found in its matched units of B; the pair's score is
   the larger of ``A->B`` and ``B->A`` (a copy padded with dead code, or a copy of
   half a notebook, still scores high), scaled down where fewer than
   ``MIN_SHARED`` fingerprints are shared: a few short functions that every
   correct solution writes alike are not evidence of copying.

The HTML page shows the top pairs side by side, unit by unit, with the matched
lines highlighted. Everything shown from a notebook is escaped.
"""
from __future__ import annotations

import ast
import builtins
import hashlib
import html
import io
import itertools
import json
import keyword
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

K = 11  # tokens per k-gram
W = 6  # k-grams per winnowing window: matches of K + W - 1 = 16 tokens are always seen
MIN_UNIT = 4  # fingerprints a unit needs to be compared at all
MIN_SHARED = 40  # shared fingerprints for a full score; fewer scale the score down
THRESHOLD = 0.35  # default score from which a pair is reported as a likely copy (tools/similarity_eval.py)
COMMON = 0.5  # fingerprints held by more than this share of the class are ignored (classes of 6 or more)

_BUILTINS = frozenset(dir(builtins))
_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING,
         tokenize.ENDMARKER}
_MAGIC = re.compile(r"^\s*[%!]")
_AUGMENTED = {"+=", "-=", "*=", "/=", "//=", "%=", "**=", "@=", "&=", "|=", "^=", ">>=", "<<="}


@dataclass
class Unit:
    name: str
    source: str
    first_line: int  # the unit's first line within its cell (1-based)
    cell: int
    tokens: list[str] = field(default_factory=list)
    token_lines: list[int] = field(default_factory=list)  # line (1-based, within source) of each token
    prints: dict[int, list[int]] = field(default_factory=dict)  # fingerprint -> k-gram start positions

    def lines_of(self, hashes) -> set[int]:
        out: set[int] = set()
        for h in hashes:
            for pos in self.prints.get(h, ()):
                out.update(self.token_lines[pos:pos + K])
        return out


@dataclass
class Submission:
    student: str
    path: str
    units: dict[str, Unit]
    error: str = ""

    def fingerprints(self) -> set[int]:
        return set().union(*(u.prints for u in self.units.values())) if self.units else set()


# --------------------------------------------------------------------------
# Units and tokens.


def code_cells(nb: dict) -> list[str]:
    cells = []
    for c in nb.get("cells", []):
        if c.get("cell_type") != "code":
            continue
        src = c.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        # IPython magics and shell lines are not Python.
        cells.append("\n".join("" if _MAGIC.match(line) else line for line in src.splitlines()))
    return cells


def _segment(lines: list[str], node: ast.AST) -> tuple[str, int]:
    start = node.lineno
    if getattr(node, "decorator_list", None):
        start = min(d.lineno for d in node.decorator_list)
    return "\n".join(lines[start - 1:node.end_lineno]), start


def units_of_cell(src: str, cell: int) -> list[Unit]:
    """The units of one cell, in order (see the module's docstring)."""
    lines = src.splitlines()
    try:
        tree = ast.parse(src)
    except (SyntaxError, ValueError):
        return [Unit(f"cell {cell}", src, 1, cell)] if src.strip() else []
    units, rest = [], []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            text, start = _segment(lines, node)
            units.append(Unit(node.name, text, start, cell))
        elif isinstance(node, ast.ClassDef):
            body_rest = []
            for sub in node.body:
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    text, start = _segment(lines, sub)
                    units.append(Unit(f"{node.name}.{sub.name}", _dedent(text), start, cell))
                else:
                    body_rest.append(sub)
            head = lines[node.lineno - 1] if node.lineno <= len(lines) else f"class {node.name}:"
            text = "\n".join([head] + [_segment(lines, s)[0] for s in body_rest])
            units.append(Unit(node.name, text, node.lineno, cell))
        else:
            rest.append(node)
    if rest:
        text = "\n".join(_segment(lines, n)[0] for n in rest)
        units.append(Unit(f"cell {cell}", text, rest[0].lineno, cell))
    return units


def _dedent(text: str) -> str:
    import textwrap

    return textwrap.dedent(text)


def _imported_names(srcs: list[str]) -> set[str]:
    names: set[str] = set()
    for src in srcs:
        try:
            tree = ast.parse(src)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                names.update(a.asname or a.name for a in node.names)
    return names


def _raw_tokens(src: str):
    try:
        yield from tokenize.generate_tokens(io.StringIO(src + "\n").readline)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return


def normalise(src: str, keep: set[str]) -> tuple[list[str], list[int]]:
    """Normalised tokens of ``src`` and the line of each (see the module's docstring)."""
    toks = [t for t in _raw_tokens(src) if t.type not in _SKIP]
    out: list[str] = []
    lines: list[int] = []
    prev = None  # the previous token kept, raw
    i = 0
    while i < len(toks):
        t = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        # A string alone on its line is a docstring or a comment in disguise.
        if t.type == tokenize.STRING and (prev is None or prev.type == tokenize.NEWLINE or prev.string == ":") \
                and (nxt is None or nxt.type == tokenize.NEWLINE):
            i += 2
            continue
        if t.type == tokenize.NEWLINE:
            if out and out[-1] != ";":
                out.append(";")
                lines.append(t.start[0])
            prev = t
            i += 1
            continue
        if t.type == tokenize.NAME:
            if keyword.iskeyword(t.string) or keyword.issoftkeyword(t.string):
                s = t.string
            elif prev is not None and prev.string == ".":
                before = toks[i - 2] if i >= 2 else None
                s = "V" if before is not None and before.string == "self" else t.string
            elif t.string in keep or t.string in _BUILTINS:
                s = t.string
            else:
                s = "V"
        elif t.type == tokenize.NUMBER:
            s = "N"
        elif t.type in (tokenize.STRING, getattr(tokenize, "FSTRING_START", -1)):
            s = "S"
        elif t.type == tokenize.OP:
            s = t.string
            if s in "()":
                s = ""  # brackets that only group: reformatting adds and drops them
            elif s in _AUGMENTED and len(out) >= 1 and out[-1] == "V" and (len(out) == 1 or out[-2] == ";"):
                out += ["=", "V"]  # x += y is x = x + y
                lines += [t.start[0]] * 2
                s = s[:-1]
        else:
            s = t.string if t.string.strip() else ""
        if s:
            out.append(s)
            lines.append(t.start[0])
        prev = t
        i += 1
    return out, lines


def _hash(gram: tuple[str, ...]) -> int:
    return int.from_bytes(hashlib.blake2b("\x1f".join(gram).encode(), digest_size=8).digest(), "little")


def winnow(tokens: list[str], k: int | None = None, w: int | None = None) -> dict[int, list[int]]:
    """Fingerprints of a token list: ``hash -> [positions]`` (robust winnowing)."""
    k, w = k or K, w or W
    hashes = [_hash(tuple(tokens[i:i + k])) for i in range(len(tokens) - k + 1)]
    prints: dict[int, list[int]] = {}
    if not hashes:
        return prints
    if len(hashes) <= w:
        j = min(range(len(hashes)), key=lambda x: (hashes[x], -x))
        prints[hashes[j]] = [j]
        return prints
    last = -1
    for start in range(len(hashes) - w + 1):
        window = range(start, start + w)
        j = min(window, key=lambda x: (hashes[x], -x))
        if j != last:
            prints.setdefault(hashes[j], []).append(j)
            last = j
    return prints


# --------------------------------------------------------------------------
# Submissions.


def read_notebook(path: Path) -> dict:
    from .notebook import read_notebook as read_bounded

    return read_bounded(path)


def extract(cells: list[str], keep: set[str]) -> dict[str, Unit]:
    units: dict[str, Unit] = {}
    for i, src in enumerate(cells):
        for u in units_of_cell(src, i):
            if u.name.startswith("cell "):
                units[u.name] = u
            else:
                units.pop(u.name, None)  # a later definition replaces the earlier one, and moves
                units[u.name] = u
    for u in units.values():
        u.tokens, u.token_lines = normalise(u.source, keep)
        u.prints = winnow(u.tokens)
    return units


def load_submission(student: str, path: Path, keep: set[str]) -> Submission:
    try:
        nb = read_notebook(path)
    except Exception as e:  # noqa: BLE001 -- an unreadable notebook is reported, not fatal
        return Submission(student, str(path), {}, f"{type(e).__name__}: {e}")
    cells = code_cells(nb)
    return Submission(student, str(path), extract(cells, keep | _imported_names(cells)))


@dataclass
class Base:
    """What the release gives everybody: its units (by name) and all its fingerprints."""
    units: dict[str, Unit]
    prints: set[int]
    keep: set[str]


def base_from_cells(cells: list[str]) -> Base:
    keep = _imported_names(cells)
    units = extract(cells, keep)
    prints = set().union(*(u.prints for u in units.values())) if units else set()
    # Every k-gram of the release, not only the winnowed ones: a student's window may pick another.
    for u in units.values():
        prints.update(_hash(tuple(u.tokens[i:i + K])) for i in range(len(u.tokens) - K + 1))
    return Base(units, prints, keep)


def strip_base(sub: Submission, base: Base) -> None:
    for name in list(sub.units):
        u = sub.units[name]
        given = base.units.get(name)
        if given is not None and given.tokens == u.tokens:
            del sub.units[name]
            continue
        u.prints = {h: p for h, p in u.prints.items() if h not in base.prints}


def strip_common(subs: list[Submission], share: float) -> set[int]:
    """Drop fingerprints more than ``share`` of the class holds (classes of 6 or more)."""
    if len(subs) < 6 or share >= 1:
        return set()
    count: dict[int, int] = {}
    for s in subs:
        for h in s.fingerprints():
            count[h] = count.get(h, 0) + 1
    common = {h for h, n in count.items() if n > share * len(subs)}
    for s in subs:
        for u in s.units.values():
            u.prints = {h: p for h, p in u.prints.items() if h not in common}
    return common


# --------------------------------------------------------------------------
# Scores.


@dataclass
class Match:
    a: str  # unit of A
    b: str  # unit of B
    shared: set[int]
    size_a: int
    size_b: int


@dataclass
class Pair:
    a: str
    b: str
    score: float
    a_in_b: float
    b_in_a: float
    shared: int
    matches: list[Match]


def _direction(A: Submission, B: Submission, min_unit: int) -> tuple[int, int, list[Match]]:
    got = total = 0
    matches = []
    b_units = [u for u in B.units.values() if len(u.prints) >= min_unit]
    for ua in A.units.values():
        fa = set(ua.prints)
        if len(fa) < min_unit:
            continue
        total += len(fa)
        ub = B.units.get(ua.name)
        if ub is None or len(ub.prints) < min_unit or not (fa & set(ub.prints)):
            ub = max(b_units, key=lambda u: (len(fa & set(u.prints)), u.name == ua.name), default=None)
        if ub is None:
            continue
        shared = fa & set(ub.prints)
        if shared:
            got += len(shared)
            matches.append(Match(ua.name, ub.name, shared, len(fa), len(ub.prints)))
    return got, total, matches


def compare(A: Submission, B: Submission, min_unit: int | None = None, min_shared: int | None = None) -> Pair:
    min_unit = MIN_UNIT if min_unit is None else min_unit
    min_shared = MIN_SHARED if min_shared is None else min_shared
    got_ab, tot_ab, m_ab = _direction(A, B, min_unit)
    got_ba, tot_ba, m_ba = _direction(B, A, min_unit)
    ab = got_ab / tot_ab if tot_ab else 0.0
    ba = got_ba / tot_ba if tot_ba else 0.0
    shared = len(set().union(*(m.shared for m in m_ab)) if m_ab else set())
    evidence = min(1.0, shared / min_shared) if min_shared else 1.0
    score = max(ab, ba) * evidence
    matches = m_ab if ab >= ba else [Match(m.b, m.a, m.shared, m.size_b, m.size_a) for m in m_ba]
    return Pair(A.student, B.student, round(score, 4), round(ab, 4), round(ba, 4), shared,
                sorted(matches, key=lambda m: -len(m.shared)))


def compare_all(subs: list[Submission], **kw) -> list[Pair]:
    pairs = [compare(a, b, **kw) for a, b in itertools.combinations(subs, 2)]
    return sorted(pairs, key=lambda p: (-p.score, p.a, p.b))


def check_class(submissions: dict[str, Path], base_cells: list[str], common: float | None = None,
                **kw) -> tuple[list[Submission], list[Pair]]:
    """Load, strip the release and the class's common code, compare every pair."""
    base = base_from_cells(base_cells)
    subs = [load_submission(s, p, base.keep) for s, p in sorted(submissions.items())]
    for s in subs:
        strip_base(s, base)
    strip_common([s for s in subs if not s.error], COMMON if common is None else common)
    return subs, compare_all([s for s in subs if not s.error], **kw)


# --------------------------------------------------------------------------
# The page.

CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 90em; padding: 0 1em; color: #222; }
h2 { border-bottom: 2px solid #8172b3; padding-bottom: .2em; margin-top: 2em; }
table.pairs td, table.pairs th { padding: .2em .7em; border-bottom: 1px solid #ddd; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.flagged td { background: #fdecea; }
.side { display: flex; gap: 1em; margin: .6em 0 1.2em 0; }
.side > div { flex: 1 1 50%; min-width: 0; }
.side h4 { margin: .2em 0; font-size: .95em; }
pre { background: #f7f7f7; border: 1px solid #ddd; padding: .4em; overflow-x: auto; font-size: 12px; line-height: 1.35; margin: 0; }
pre span.line { display: block; white-space: pre; }
pre span.hit { background: #ffe08a; }
.note { color: #555; }
"""


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _code(unit, hit_lines: set[int]) -> str:
    out = []
    for n, line in enumerate(unit.source.splitlines(), start=1):
        cls = "line hit" if n in hit_lines else "line"
        out.append(f"<span class='{cls}'>{_e(line) or ' '}</span>")
    return "<pre>" + "".join(out) + "</pre>"


def render(hw: str, subs: list[Submission], pairs: list[Pair], threshold: float, top: int, source: str) -> str:
    by = {s.student: s for s in subs}
    flagged = [p for p in pairs if p.score >= threshold]
    shown = pairs[:max(top, len(flagged))] if pairs else []
    o = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Similarity: {_e(hw)}</title>"
         f"<style>{CSS}</style></head><body>",
         f"<h1>Similarity of the solutions to {_e(hw)}</h1>",
         f"<p class='note'>{len(subs)} notebooks from <code>{_e(source)}</code>; {len(pairs)} pairs compared. "
         f"Names, numbers, strings, comments and layout are abstracted and the release's code removed, so "
         f"renaming and reformatting do not hide a copy. Score: the larger share of one student's solution "
         f"fingerprints found in the other's, scaled down below {MIN_SHARED} shared fingerprints. "
         f"<b id='n-flagged'>{len(flagged)}</b> pairs at or above the threshold {threshold:g}.</p>"]
    errors = [s for s in subs if s.error]
    if errors:
        o.append("<p>Not read: " + ", ".join(f"{_e(s.student)} ({_e(s.error)})" for s in errors) + "</p>")
    o.append("<table class='pairs'><tr><th>#</th><th>student</th><th>student</th><th>score</th>"
             "<th>A in B</th><th>B in A</th><th>shared fingerprints</th></tr>")
    for i, p in enumerate(shown, 1):
        cls = " class='flagged'" if p.score >= threshold else ""
        o.append(f"<tr{cls} data-a='{_e(p.a)}' data-b='{_e(p.b)}'><td><a href='#pair-{i}'>{i}</a></td>"
                 f"<td>{_e(p.a)}</td><td>{_e(p.b)}</td><td class='num score'>{p.score:.2f}</td>"
                 f"<td class='num'>{p.a_in_b:.0%}</td><td class='num'>{p.b_in_a:.0%}</td><td class='num'>{p.shared}</td></tr>")
    o.append("</table>")
    for i, p in enumerate(shown, 1):
        if not p.matches:
            continue
        o.append(f"<section class='pair' id='pair-{i}'><h2>{i}. {_e(p.a)} and {_e(p.b)}: score {p.score:.2f}</h2>")
        A, B = (by[p.a], by[p.b]) if p.a_in_b >= p.b_in_a else (by[p.b], by[p.a])
        for m in p.matches[:12]:
            ua, ub = A.units.get(m.a), B.units.get(m.b)
            if ua is None or ub is None:
                continue
            o.append("<div class='side'>"
                     f"<div><h4>{_e(A.student)}: <code>{_e(m.a)}</code> ({len(m.shared)} of {m.size_a} fingerprints)</h4>"
                     f"{_code(ua, ua.lines_of(m.shared))}</div>"
                     f"<div><h4>{_e(B.student)}: <code>{_e(m.b)}</code> ({len(m.shared)} of {m.size_b} fingerprints)</h4>"
                     f"{_code(ub, ub.lines_of(m.shared))}</div></div>")
        o.append("</section>")
    o.append("</body></html>")
    return "\n".join(o)


def discover(submissions: Path, hw: str) -> dict[str, Path]:
    from .core import get_assignment

    nb = get_assignment(hw).notebook
    return {d.name: d / hw / nb for d in sorted(Path(submissions).iterdir())
            if d.is_dir() and (d / hw / nb).is_file()}


def run(submissions: Path, hw: str, out: Path | None = None, threshold: float | None = None, top: int = 20,
        release: Path | None = None, common: float | None = None) -> tuple[Path, list[Pair]]:
    from .core import get_assignment

    threshold = THRESHOLD if threshold is None else threshold
    a = get_assignment(hw)
    release = Path(release) if release else Path(__file__).resolve().parents[1] / "release" / hw / a.notebook
    base_cells = code_cells(read_notebook(release)) if release.is_file() else []
    found = discover(submissions, hw)
    subs, pairs = check_class(found, base_cells, common)
    out = Path(out) if out else Path(submissions).resolve().parent / f"similarity-{hw}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(hw, subs, pairs, threshold, top, str(submissions)), encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps(
        [{"a": p.a, "b": p.b, "score": p.score, "a_in_b": p.a_in_b, "b_in_a": p.b_in_a, "shared": p.shared}
         for p in pairs], indent=1))
    return out, pairs
