"""Mutants, alternative correct solutions and convention variants for 002 Q3's small
1-D CNN (parameter count and the two gradients).

Each value is code appended after the reference notebook's cells, so it replaces the
reference's definition of the same function.
"""

MUTANTS = {
    "hw1.small_cnn_1d": {
        "padding counted once (one zero in total, not one at each end)": '''
def small_cnn_parameter_count(length, hidden, kernel=2, padding=1, pool=2):
    conv_length = length + padding - kernel + 1
    pooled = (conv_length - pool) // pool + 1
    fc1 = pooled * hidden + hidden
    return {"pooled_length": pooled, "conv": kernel + 1, "fc1": fc1, "output": hidden + 1,
            "total": kernel + 1 + fc1 + hidden + 1}
''',
        "pooled length from the unpadded input, rounded up (right for 785 only)": '''
def small_cnn_parameter_count(length, hidden, kernel=2, padding=1, pool=2):
    pooled = -(-(length - pool) // pool) + 1
    fc1 = pooled * hidden + hidden
    return {"pooled_length": pooled, "conv": kernel + 1, "fc1": fc1, "output": hidden + 1,
            "total": kernel + 1 + fc1 + hidden + 1}
''',
        "FC layers without their biases": '''
def small_cnn_parameter_count(length, hidden, kernel=2, padding=1, pool=2):
    pooled = (length + 2 * padding - kernel + 1 - pool) // pool + 1
    return {"pooled_length": pooled, "conv": kernel + 1, "fc1": pooled * hidden, "output": hidden,
            "total": kernel + 1 + pooled * hidden + hidden}
''',
        "pooling gradient not halved": '''
def small_cnn_grad_wc1(x, y, params):
    layers = small_cnn_layers(x, params)
    delta_f = (layers["z"] - y) * params["wf"] * (layers["f_pre"] > 0)
    da = params["wa"].T @ delta_f
    dc = np.zeros_like(layers["c"])
    dc[:2 * len(da)] = np.repeat(da, 2)
    dc_pre = dc * (layers["c_pre"] > 0)
    return float(dc_pre @ layers["xp"][:len(dc_pre)])
''',
        "W^C_1 paired with the right neighbour (flipped kernel)": '''
def small_cnn_grad_wc1(x, y, params):
    layers = small_cnn_layers(x, params)
    delta_f = (layers["z"] - y) * params["wf"] * (layers["f_pre"] > 0)
    da = params["wa"].T @ delta_f
    dc = np.zeros_like(layers["c"])
    dc[:2 * len(da)] = np.repeat(da / 2, 2)
    dc_pre = dc * (layers["c_pre"] > 0)
    k = len(params["wc"])
    return float(dc_pre @ layers["xp"][k - 1:k - 1 + len(dc_pre)])
''',
        "dCost/dW^A without the ReLU of FC1": '''
def small_cnn_grad_wa(x, y, params):
    layers = small_cnn_layers(x, params)
    return np.outer((layers["z"] - y) * params["wf"], layers["a"])
''',
        "dCost/dW^A transposed (pooled value, hidden unit)": '''
def small_cnn_grad_wa(x, y, params):
    layers = small_cnn_layers(x, params)
    delta_f = (layers["z"] - y) * params["wf"] * (layers["f_pre"] > 0)
    return np.outer(layers["a"], delta_f)
''',
        "forward without the output's sigmoid": '''
def small_cnn_forward(x, params):
    layers = small_cnn_layers(x, params)
    return float(params["wf"] @ layers["f"] + params["bf"])
''',
    },
}

ALTERNATIVES = {
    "hw1.small_cnn_1d": {
        "explicit loops, NumPy integers, the chain rule written out term by term": '''
def small_cnn_parameter_count(length, hidden, kernel=2, padding=1, pool=2):
    positions = np.int64(length) + 2 * padding - kernel + 1
    windows = np.int64(0)
    start = 0
    while start + pool <= positions:
        windows += 1
        start += pool
    sizes = {"conv": np.int64(kernel) + 1, "fc1": windows * hidden + hidden, "output": np.int64(hidden) + 1}
    return {"pooled_length": windows, **sizes, "total": sizes["conv"] + sizes["fc1"] + sizes["output"]}

def _net(x, p):
    w = list(p["wc"])
    padded = [0.0] + [float(v) for v in x] + [0.0]
    pre_c = [sum(w[t] * padded[i + t] for t in range(len(w))) + p["bc"] for i in range(len(padded) - len(w) + 1)]
    c = [max(v, 0.0) for v in pre_c]
    a = np.array([(c[2 * j] + c[2 * j + 1]) / 2 for j in range(len(c) // 2)])
    pre_f = p["wa"].dot(a) + p["bm"]
    f = np.where(pre_f > 0, pre_f, 0.0)
    s = float(np.dot(p["wf"], f) + p["bf"])
    return padded, pre_c, a, pre_f, 1 / (1 + math.exp(-s))

def small_cnn_forward(x, params):
    return _net(x, params)[-1]

def small_cnn_grad_wa(x, y, params):
    _, _, a, pre_f, z = _net(x, params)
    out = np.zeros(params["wa"].shape)
    for j in range(out.shape[0]):
        if pre_f[j] > 0:
            for i in range(out.shape[1]):
                out[j, i] = (z - y) * params["wf"][j] * a[i]
    return out

def small_cnn_grad_wc1(x, y, params):
    padded, pre_c, a, pre_f, z = _net(x, params)
    total = 0.0
    for i in range(2 * len(a)):
        if pre_c[i] <= 0:
            continue
        window = i // 2
        d_a = sum((z - y) * params["wf"][j] * params["wa"][j, window] for j in range(len(pre_f)) if pre_f[j] > 0)
        total += 0.5 * d_a * padded[i]
    return total
''',
    },
}

CONVENTIONS = {
    "hw1.small_cnn_1d": {
        "pooled length rounded up (ceil mode)": {
            "code": '''
def small_cnn_parameter_count(length, hidden, kernel=2, padding=1, pool=2):
    conv_length = length + 2 * padding - kernel + 1
    pooled = -(-(conv_length - pool) // pool) + 1          # ceil_mode=True: a partial last window
    fc1 = pooled * hidden + hidden
    return {"pooled_length": pooled, "conv": kernel + 1, "fc1": fc1, "output": hidden + 1,
            "total": kernel + 1 + fc1 + hidden + 1}
''',
            "part": "left-over conv output (convention",
            "loses": 0.28,
            "says": "ceil_mode=True",
            "names": ("PyTorch", "ceil mode"),
        },
    },
}
