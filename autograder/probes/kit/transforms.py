"""A transform builder's outputs (child side): ``builder(train)`` for eval and training
mode, each transform applied to copies of the grader's images, each output recorded as
plain data. Used by HW2's digit augmentation and HW5's face augmentation."""
from __future__ import annotations

from ..runtime import Bad
from .convert import safe_record


def transform_draws(ns, builder: str, images, train_draws: int, record) -> dict:
    """``{False: eval-mode draws, True: training-mode draws}``: each transform applied to a
    copy of every image, ``train_draws`` times in training mode (to see the randomness) and
    twice in eval mode (to see it is fixed), each output turned into plain data by ``record``."""
    out = {}
    for train in (False, True):
        t = ns.call(builder, train)
        if isinstance(t, Bad):
            out[train] = t
            continue
        if not callable(t):
            out[train] = Bad("missing", f"returned a {type(t).__name__}, not a callable transform")
            continue
        recs = []
        for img in images:
            draws = []
            for _ in range(train_draws if train else 2):
                r = ns.guard(t, img.copy())
                draws.append(r if isinstance(r, Bad) else safe_record(record, r))
            recs.append(draws)
        out[train] = recs
    return out
