"""Mutants, alternative correct solutions and convention variants for 004 Q4 (backprop
by hand through a 1-D conv and overlapping maxima).

Each value is code appended after the reference notebook's cells. Most mutants keep
the reference's forward pass and change how the gradient is routed.
"""

_FORWARD = '''
def _forward_q4(u, k, b, w, a):
    u, k, w = (np.asarray(v, dtype=float) for v in (u, k, w))
    m = len(u) - len(k) + 1
    z = np.array([k @ u[j:j + len(k)] for j in range(m)]) + b
    windows = np.stack([np.zeros(m - 1), z[:-1], z[1:]])
    v = windows.max(axis=0)
    return u, k, w, m, z, windows, v, float(w @ v + a)
'''

MUTANTS = {
    "hw1.conv_max_backprop": {
        # 004's own answer: dv/dz = 1 whenever the max is positive, for both of its inputs.
        "every input of a positive max gets the gradient": _FORWARD + '''
def conv_max_grads(u, k, b, w, a, t):
    u, k, w, m, z, windows, v, y = _forward_q4(u, k, b, w, a)
    dy = y - t
    dz = np.zeros(m)
    for j in range(m - 1):
        if v[j] > 0:
            dz[j] += dy * w[j]
            dz[j + 1] += dy * w[j]
    dk = np.array([dz @ u[i:i + m] for i in range(len(k))])
    return {"y": y, "dw": dy * v, "da": dy, "dz": dz, "dk": dk, "db": float(dz.sum())}
''',
        "a z that wins two maxima keeps only the last path": _FORWARD + '''
def conv_max_grads(u, k, b, w, a, t):
    u, k, w, m, z, windows, v, y = _forward_q4(u, k, b, w, a)
    dy = y - t
    dz = np.zeros(m)
    winner = windows.argmax(axis=0)
    for j in range(m - 1):
        if winner[j] == 1:
            dz[j] = dy * w[j]
        elif winner[j] == 2:
            dz[j + 1] = dy * w[j]
    dk = np.array([dz @ u[i:i + m] for i in range(len(k))])
    return {"y": y, "dw": dy * v, "da": dy, "dz": dz, "dk": dk, "db": float(dz.sum())}
''',
        "the 0 in the max left out (v = max(z_j, z_{j+1}))": '''
def conv_max_grads(u, k, b, w, a, t):
    u, k, w = (np.asarray(val, dtype=float) for val in (u, k, w))
    m = len(u) - len(k) + 1
    z = np.array([k @ u[j:j + len(k)] for j in range(m)]) + b
    v = np.maximum(z[:-1], z[1:])
    y = float(w @ v + a)
    dy = y - t
    dz = np.zeros(m)
    for j in range(m - 1):
        dz[j + (0 if z[j] >= z[j + 1] else 1)] += dy * w[j]
    dk = np.array([dz @ u[i:i + m] for i in range(len(k))])
    return {"y": y, "dw": dy * v, "da": dy, "dz": dz, "dk": dk, "db": float(dz.sum())}
''',
        "dL/dk with the input reversed (a true convolution)": '''
_ref_q4 = conv_max_grads

def conv_max_grads(u, k, b, w, a, t):
    g = _ref_q4(u, k, b, w, a, t)
    u = np.asarray(u, dtype=float)
    m, kk = len(g["dz"]), len(k)
    g["dk"] = np.array([g["dz"] @ u[kk - 1 - i:kk - 1 - i + m] for i in range(kk)])
    return g
''',
        "dL/db taken as the mean of alpha": '''
_ref_q4 = conv_max_grads

def conv_max_grads(u, k, b, w, a, t):
    g = _ref_q4(u, k, b, w, a, t)
    g["db"] = float(np.mean(g["dz"]))
    return g
''',
    },
}

ALTERNATIVES = {
    "hw1.conv_max_backprop": {
        "plain loops, a winner table, lists turned into arrays at the end": '''
def conv_max_grads(u, k, b, w, a, t):
    n, taps = len(u), len(k)
    m = n - taps + 1
    z = [sum(float(k[i]) * float(u[j + i]) for i in range(taps)) + b for j in range(m)]
    routes = []
    v = []
    for j in range(m - 1):
        best = max((0.0, None), (z[j], j), (z[j + 1], j + 1), key=lambda pair: pair[0])
        v.append(best[0])
        routes.append(best[1])
    y = sum(float(w[j]) * v[j] for j in range(m - 1)) + a
    err = y - t
    alpha = [0.0] * m
    for j, target in enumerate(routes):
        if target is not None:
            alpha[target] = alpha[target] + err * float(w[j])
    dk = [sum(alpha[j] * float(u[j + i]) for j in range(m)) for i in range(taps)]
    return {"y": y, "dw": np.array([err * vj for vj in v]), "da": err, "dz": np.array(alpha),
            "dk": np.array(dk), "db": sum(alpha)}
''',
    },
}

CONVENTIONS = {
    "hw1.conv_max_backprop": {
        "loss (y - t)^2 without the 1/2 (PyTorch's MSELoss)": {
            "code": '''
_ref_q4 = conv_max_grads

def conv_max_grads(u, k, b, w, a, t):
    g = _ref_q4(u, k, b, w, a, t)
    return {key: (value if key == "y" else 2 * value) for key, value in g.items()}
''',
            "part": "L = 1/2 (y - t)^2 (convention",
            "loses": 0.14,
            "says": "MSELoss",
            "names": ("MSELoss", "1/2"),
        },
    },
}
