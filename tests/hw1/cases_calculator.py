"""Mutants and alternative correct solutions for the layer calculator.

Most mutants are the reference with one classic mistake: each is built by replacing
one line of a correct solution (``_BASE``), so the mistake is easy to read.
"""

_BASE = '''
def layer_table(input_shape, layers):
    c, h, w = input_shape
    flat = None
    rf, jump = 1, 1
    rows = []
    for spec in layers:
        kind = spec["type"]
        params = macs = 0
        if kind == "conv":
            k, s, d = spec["k"], spec.get("s", 1), spec.get("d", 1)
            groups, out, pad = spec.get("groups", 1), spec["out"], spec.get("p", 0)
            k_eff = d * (k - 1) + 1
            if pad == "same":
                h_out, w_out = h, w
            else:
                pad = 0 if pad == "valid" else pad
                h_out = (h + 2 * pad - k_eff) // s + 1
                w_out = (w + 2 * pad - k_eff) // s + 1
            per_output = (c // groups) * k * k
            params = per_output * out + (out if spec.get("bias", True) else 0)
            macs = per_output * out * h_out * w_out
            c, h, w = out, h_out, w_out
            rf, jump = rf + (k_eff - 1) * jump, jump * s
        elif kind in ("maxpool", "avgpool"):
            k = spec["k"]
            s, pad = spec.get("s", k), spec.get("p", 0)
            h, w = (h + 2 * pad - k) // s + 1, (w + 2 * pad - k) // s + 1
            rf, jump = rf + (k - 1) * jump, jump * s
        elif kind == "bn":
            params = 2 * (c if flat is None else flat)
        elif kind == "flatten":
            flat = c * h * w
        elif kind == "linear":
            out = spec["out"]
            params = flat * out + (out if spec.get("bias", True) else 0)
            macs = flat * out
            flat = out
        rows.append({"output_shape": (c, h, w) if flat is None else (flat,), "params": params, "macs": macs,
                     "rf": rf if flat is None else None})
    return rows
'''


def _mutant(old: str, new: str) -> str:
    assert _BASE.count(old) == 1, old
    return _BASE.replace(old, new)


MUTANTS = {
    "hw1.layer_calculator": {
        "BatchNorm counted as 2 parameters, not 2C": _mutant(
            "params = 2 * (c if flat is None else flat)", "params = 2"),
        "FC layer without its bias": _mutant(
            "params = flat * out + (out if spec.get(\"bias\", True) else 0)", "params = flat * out"),
        "'same' padding as p = k // 2 (wrong for even kernels and dilation)": _mutant(
            '''            if pad == "same":
                h_out, w_out = h, w
            else:
                pad = 0 if pad == "valid" else pad
''', '''            pad = k // 2 if pad == "same" else (0 if pad == "valid" else pad)
            if True:
'''),
        "receptive field as a pixel area": _mutant(
            '"rf": rf if flat is None else None', '"rf": rf * rf if flat is None else None'),
        "dilation forgotten": _mutant("k_eff = d * (k - 1) + 1", "k_eff = k"),
        "multiply-adds count the bias": _mutant(
            "macs = per_output * out * h_out * w_out", "macs = (per_output + 1) * out * h_out * w_out"),
        "groups ignored in the parameter count": _mutant(
            "per_output = (c // groups) * k * k", "per_output = c * k * k"),
        "pooling stride defaults to 1": _mutant('s, pad = spec.get("s", k), spec.get("p", 0)',
                                                 's, pad = spec.get("s", 1), spec.get("p", 0)'),
        "receptive field grows by k - 1 without the jump": _mutant(
            "rf, jump = rf + (k_eff - 1) * jump, jump * s", "rf, jump = rf + (k_eff - 1), jump * s"),
        "BatchNorm counts its running statistics (4C)": _mutant(
            "params = 2 * (c if flat is None else flat)", "params = 4 * (c if flat is None else flat)"),
    },
}

ALTERNATIVES = {
    "hw1.layer_calculator": {
        "state dict, per-layer helper functions, lists for shapes": '''
def _side(n, k, s, p, d=1):
    return math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1

def _normalized(spec):
    full = dict(spec)
    if full["type"] == "conv":
        for key, value in (("s", 1), ("p", 0), ("d", 1), ("groups", 1), ("bias", True)):
            full.setdefault(key, value)
        if full["p"] == "valid":
            full["p"] = 0
    elif full["type"] in ("maxpool", "avgpool"):
        full.setdefault("s", full["k"])
        full.setdefault("p", 0)
    elif full["type"] == "linear":
        full.setdefault("bias", True)
    return full

def layer_table(input_shape, layers):
    state = {"shape": list(input_shape), "rf": 1, "jump": 1}
    table = []
    for raw in layers:
        spec = _normalized(raw)
        shape = state["shape"]
        entry = {"params": 0, "macs": 0}
        if spec["type"] == "conv":
            cin, hin, win = shape
            if spec["p"] == "same":
                hout, wout = hin, win
            else:
                hout = _side(hin, spec["k"], spec["s"], spec["p"], spec["d"])
                wout = _side(win, spec["k"], spec["s"], spec["p"], spec["d"])
            fan_in = cin // spec["groups"] * spec["k"] ** 2
            entry["params"] = fan_in * spec["out"] + spec["out"] * int(bool(spec["bias"]))
            entry["macs"] = fan_in * spec["out"] * hout * wout
            state["shape"] = [spec["out"], hout, wout]
            state["rf"] += spec["d"] * (spec["k"] - 1) * state["jump"]
            state["jump"] *= spec["s"]
        elif spec["type"] in ("maxpool", "avgpool"):
            cin, hin, win = shape
            state["shape"] = [cin, _side(hin, spec["k"], spec["s"], spec["p"]), _side(win, spec["k"], spec["s"], spec["p"])]
            state["rf"] += (spec["k"] - 1) * state["jump"]
            state["jump"] *= spec["s"]
        elif spec["type"] == "bn":
            entry["params"] = 2 * shape[0]
        elif spec["type"] == "flatten":
            state["shape"] = [int(np.prod(shape))]
            state["rf"] = None
        elif spec["type"] == "linear":
            n_in = shape[0]
            entry["params"] = (n_in + int(bool(spec["bias"]))) * spec["out"]
            entry["macs"] = n_in * spec["out"]
            state["shape"] = [spec["out"]]
        entry["output_shape"] = list(state["shape"])
        entry["rf"] = state["rf"]
        table.append(entry)
    return table
''',
        "the reference written by a different hand (numpy ints, float rf)": _BASE.replace(
            '"params": params, "macs": macs,', '"params": np.int64(params), "macs": np.int64(macs),').replace(
            '"rf": rf if flat is None else None', '"rf": float(rf) if flat is None else None'),
    },
}

CONVENTIONS = {
    "hw1.layer_calculator": {
        "Keras's parameter count for BatchNorm (4C, running statistics included)": {
            "code": _mutant("params = 2 * (c if flat is None else flat)", "params = 4 * (c if flat is None else flat)"),
            "part": "BatchNorm parameters (convention",
            "loses": 0.22,
            "says": "Keras's model.summary()",
            "names": ("PyTorch", "Keras"),
        },
        "pooling sizes rounded up (ceil_mode=True, Caffe)": {
            "code": _mutant(
                "h, w = (h + 2 * pad - k) // s + 1, (w + 2 * pad - k) // s + 1",
                "h, w = _ceil_pool(h, k, s, pad), _ceil_pool(w, k, s, pad)") + '''
def _ceil_pool(n, k, s, pad):
    out = -(-(n + 2 * pad - k) // s) + 1
    if (out - 1) * s >= n + pad:   # the last window must start inside the input or its left padding
        out -= 1
    return out
''',
            "part": "pooling output sizes (convention",
            "loses": 0.21,
            "says": "ceil_mode=True",
            "names": ("PyTorch", "ceil_mode=True"),
        },
    },
}
