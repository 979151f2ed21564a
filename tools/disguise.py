"""Disguise a copied notebook the way a student hiding a copy would.

    python tools/disguise.py NOTEBOOK OUT.ipynb [--seed N] [--level light|heavy] [--release RELEASE.ipynb]

- **rename**: helper functions, parameters without defaults, local and top-level
  variables and ``self``'s attributes get new names; what the release defines or
  uses (the graded functions, the given helpers, the imports) keeps its name, so
  the copy still works;
- **reformat**: every cell is rewritten by ``ast.unparse`` (new layout and quotes,
  no comments) and some ``a += b`` become ``a = a + b``;
- **reorder** (heavy): the functions of a cell are shuffled and adjacent
  statements that do not depend on each other are swapped;
- **pad** (heavy): comments, docstrings, unused variables and dead ``if`` blocks
  are added.

Used by the similarity check's measurement (tools/similarity_eval.py).
"""
from __future__ import annotations

import argparse
import ast
import copy
import json
import random
import sys
from pathlib import Path

WORDS = ["val", "tmp", "acc", "res", "buf", "arr", "cur", "item", "data", "part", "step", "out",
         "inp", "aux", "elem", "vec", "mat", "grid", "cnt", "num", "total", "piece", "chunk", "seg"]
COMMENTS = ["# compute the intermediate values", "# main step", "# see the lecture notes", "# shapes check out",
            "# TODO: tidy up", "# loop over everything", "# careful with the axes here", "# helper result",
            "# this follows the formula from class", "# edge cases handled below"]


def _names_in(tree: ast.AST) -> set[str]:
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Name):
            out.add(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(n.name)
        elif isinstance(n, ast.Attribute):
            out.add(n.attr)
        elif isinstance(n, ast.arg):
            out.add(n.arg)
        elif isinstance(n, ast.alias):
            out.add((n.asname or n.name).split(".")[0])
        elif isinstance(n, ast.keyword) and n.arg:
            out.add(n.arg)
    return out


def protected_names(release_cells: list[str]) -> set[str]:
    keep = {"self", "cls", "super", "__init__", "forward", "__call__", "__len__", "__getitem__"}
    for src in release_cells:
        try:
            keep |= _names_in(ast.parse(src))
        except SyntaxError:
            continue
    return keep


class _Collect(ast.NodeVisitor):
    def __init__(self, keep: set[str]):
        self.keep = keep
        self.names: list[str] = []
        self.attrs: list[str] = []

    def add(self, name: str, where: list[str]) -> None:
        if name not in self.keep and not name.startswith("__") and name not in where:
            where.append(name)

    def visit_FunctionDef(self, node):
        self.add(node.name, self.names)
        args = node.args
        positional = args.posonlyargs + args.args
        n_plain = len(positional) - len(args.defaults)
        for a in positional[:n_plain]:
            self.add(a.arg, self.names)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Store):
            self.add(node.id, self.names)

    def visit_Attribute(self, node):
        if isinstance(node.ctx, ast.Store) and isinstance(node.value, ast.Name) and node.value.id == "self":
            self.add(node.attr, self.attrs)
        self.generic_visit(node)


class _Rename(ast.NodeTransformer):
    def __init__(self, names: dict[str, str], attrs: dict[str, str]):
        self.names, self.attrs = names, attrs

    def visit_Name(self, node):
        node.id = self.names.get(node.id, node.id)
        return node

    def visit_arg(self, node):
        node.arg = self.names.get(node.arg, node.arg)
        return node

    def visit_FunctionDef(self, node):
        node.name = self.names.get(node.name, node.name)
        self.generic_visit(node)
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Attribute(self, node):
        self.generic_visit(node)
        if isinstance(node.value, ast.Name) and node.value.id == "self":
            node.attr = self.attrs.get(node.attr, node.attr)
        return node


def _reads_writes(stmt: ast.stmt) -> tuple[set[str], set[str]]:
    reads, writes = set(), set()
    for n in ast.walk(stmt):
        if isinstance(n, ast.Name):
            (writes if isinstance(n.ctx, (ast.Store, ast.Del)) else reads).add(n.id)
        elif isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store):
            writes.add(ast.unparse(n.value))
        elif isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store):
            writes.add(ast.unparse(n.value))
        elif isinstance(n, ast.Call):
            reads.add("<call>")
    return reads, writes


def _swappable(a: ast.stmt, b: ast.stmt) -> bool:
    simple = (ast.Assign, ast.AugAssign, ast.AnnAssign)
    if not (isinstance(a, simple) and isinstance(b, simple)):
        return False
    ra, wa = _reads_writes(a)
    rb, wb = _reads_writes(b)
    if "<call>" in ra and "<call>" in rb:
        return False  # two calls may share hidden state (a random generator)
    return not (wa & (rb | wb)) and not (wb & ra)


class _Reorder(ast.NodeTransformer):
    def __init__(self, rng: random.Random):
        self.rng = rng

    def _body(self, body: list[ast.stmt]) -> list[ast.stmt]:
        body = list(body)
        i = 0
        while i + 1 < len(body):
            if _swappable(body[i], body[i + 1]) and self.rng.random() < 0.7:
                body[i], body[i + 1] = body[i + 1], body[i]
                i += 2
            else:
                i += 1
        return body

    def generic_visit(self, node):
        super().generic_visit(node)
        for fld in ("body", "orelse", "finalbody"):
            val = getattr(node, fld, None)
            if isinstance(val, list) and val and isinstance(val[0], ast.stmt):
                setattr(node, fld, self._body(val))
        return node


class _Pad(ast.NodeTransformer):
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.k = 0

    def _junk(self) -> list[ast.stmt]:
        """A statement that does nothing, drawn from many shapes so that two padded
        copies do not share their padding."""
        r = self.rng
        self.k += 1
        v = f"{r.choice(WORDS)}_{self.k}"
        expr = " ".join(str(r.randrange(1, 50)) + " " + r.choice("+-*") for _ in range(r.randrange(1, 4))) + " 1"
        shapes = [
            f"if False:\n    print({r.choice(WORDS)!r}, {expr})",
            f"{v} = {expr}",
            f"for _ in range(0):\n    {v} = [{expr}]",
            f"{v} = None\nif {v} is not None:\n    raise RuntimeError({r.choice(WORDS)!r})",
            f"{v} = {{{r.choice(WORDS)!r}: {expr}}}",
            f"while False:\n    break",
            f"{v} = len({r.choice(WORDS)!r}) * {expr}",
            f"assert True, {r.choice(WORDS)!r}",
        ]
        return ast.parse(r.choice(shapes)).body

    def visit_FunctionDef(self, node):
        self.generic_visit(node)
        body = list(node.body)
        for _ in range(1 + self.rng.randrange(2)):
            at = self.rng.randrange(0, max(1, len(body)))
            if isinstance(body[at - 1] if at else None, ast.Return):
                at -= 1
            body[at:at] = self._junk()
        if not (body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant)):
            body.insert(0, ast.Expr(ast.Constant(f"{node.name}: my implementation.")))
        node.body = body
        return node

    visit_AsyncFunctionDef = visit_FunctionDef


class _AugExpand(ast.NodeTransformer):
    def __init__(self, rng: random.Random):
        self.rng = rng

    def visit_AugAssign(self, node):
        if isinstance(node.target, ast.Name) and self.rng.random() < 0.5:
            return ast.copy_location(ast.Assign([ast.Name(node.target.id, ast.Store())],
                                                ast.BinOp(ast.Name(node.target.id, ast.Load()), node.op, node.value)), node)
        return node


def _comment(text: str, rng: random.Random) -> str:
    out = []
    for line in text.splitlines():
        if line.strip() and rng.random() < 0.2:
            indent = line[: len(line) - len(line.lstrip())]
            out.append(indent + rng.choice(COMMENTS))
        out.append(line)
    return "\n".join(out)


def disguise_cells(cells: list[str], keep: set[str], seed: int = 0, level: str = "heavy",
                   given: list[bool] | None = None) -> list[str]:
    """``given[i]``: cell i is the release's, unchanged; it is renamed and reformatted
    like the rest, but only the student's own cells are reordered and padded."""
    rng = random.Random(seed)
    given = given or [False] * len(cells)
    trees: list[ast.Module | None] = []
    for src in cells:
        try:
            trees.append(ast.parse(src))
        except SyntaxError:
            trees.append(None)
    col = _Collect(keep)
    for t in trees:
        if t is not None:
            col.visit(t)
    fresh = iter(f"{rng.choice(WORDS)}{i}" for i in itertools_count(rng))
    names = {n: next(fresh) for n in col.names}
    attrs = {n: next(fresh) for n in col.attrs}
    out = []
    for src, t, is_given in zip(cells, trees, given):
        if t is None or not src.strip():
            out.append(src)
            continue
        t = _Rename(names, attrs).visit(t)
        t = _AugExpand(rng).visit(t)
        if level == "heavy" and not is_given:
            defs = [i for i, s in enumerate(t.body) if isinstance(s, (ast.FunctionDef, ast.ClassDef))]
            moved = [t.body[i] for i in defs]
            rng.shuffle(moved)
            for i, s in zip(defs, moved):
                t.body[i] = s
            t = _Reorder(rng).visit(t)
            t = _Pad(rng).visit(t)
        ast.fix_missing_locations(t)
        text = ast.unparse(t)
        if level == "heavy" and not is_given:
            text = _comment(text, rng)
        out.append(text)
    return out


def itertools_count(rng: random.Random):
    i = rng.randrange(10, 40)
    while True:
        yield i
        i += 1 + rng.randrange(3)


def disguise_notebook(nb: dict, release_cells: list[str], seed: int = 0, level: str = "heavy") -> dict:
    nb = copy.deepcopy(nb)
    code = [c for c in nb["cells"] if c.get("cell_type") == "code"]
    srcs = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in code]
    magic = [any(line.lstrip().startswith(("%", "!")) for line in s.splitlines()) for s in srcs]
    released = set(release_cells)
    new = disguise_cells(["" if m else s for s, m in zip(srcs, magic)], protected_names(release_cells), seed, level,
                         [s in released for s in srcs])
    for c, s, m in zip(code, new, magic):
        if not m:
            c["source"] = s
        c["outputs"] = []
        c["execution_count"] = None
    return nb


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("notebook")
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--level", choices=["light", "heavy"], default="heavy")
    p.add_argument("--release", help="the release notebook: its names are kept")
    args = p.parse_args(argv)
    nb = json.loads(Path(args.notebook).read_text())
    rel = []
    if args.release:
        rel = [("".join(c["source"]) if isinstance(c["source"], list) else c["source"])
               for c in json.loads(Path(args.release).read_text())["cells"] if c["cell_type"] == "code"]
    Path(args.out).write_text(json.dumps(disguise_notebook(nb, rel, args.seed, args.level), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
