"""Mutants (plausible mistakes) and alternative correct solutions for BatchNorm.

Each value is code appended after the reference notebook's cells, so it replaces
the reference's definition of the same function.
"""

MUTANTS = {
    "hw1.batchnorm_forward": {
        "unbiased variance to normalize": '''
def batchnorm_forward(x, gamma, beta, state, train=True, momentum=0.1, eps=1e-5):
    if train:
        mu, var = x.mean(0), x.var(0, ddof=1)
        state["running_mean"] = (1 - momentum) * state["running_mean"] + momentum * mu
        state["running_var"] = (1 - momentum) * state["running_var"] + momentum * var
    else:
        mu, var = state["running_mean"], state["running_var"]
    xh = (x - mu) / np.sqrt(var + eps)
    return gamma * xh + beta, (xh, gamma, 1 / np.sqrt(var + eps))
''',
        "momentum applied the other way round": '''
def batchnorm_forward(x, gamma, beta, state, train=True, momentum=0.1, eps=1e-5):
    if train:
        mu, var = x.mean(0), x.var(0)
        n = x.shape[0]
        state["running_mean"] = momentum * state["running_mean"] + (1 - momentum) * mu
        state["running_var"] = momentum * state["running_var"] + (1 - momentum) * var * n / (n - 1)
    else:
        mu, var = state["running_mean"], state["running_var"]
    xh = (x - mu) / np.sqrt(var + eps)
    return gamma * xh + beta, (xh, gamma, 1 / np.sqrt(var + eps))
''',
        "eval mode still uses batch statistics": '''
def batchnorm_forward(x, gamma, beta, state, train=True, momentum=0.1, eps=1e-5):
    mu, var = x.mean(0), x.var(0)
    if train:
        n = x.shape[0]
        state["running_mean"] = (1 - momentum) * state["running_mean"] + momentum * mu
        state["running_var"] = (1 - momentum) * state["running_var"] + momentum * var * n / (n - 1)
    xh = (x - mu) / np.sqrt(var + eps)
    return gamma * xh + beta, (xh, gamma, 1 / np.sqrt(var + eps))
''',
        "normalizes over features instead of the batch": '''
def batchnorm_forward(x, gamma, beta, state, train=True, momentum=0.1, eps=1e-5):
    mu, var = x.mean(1, keepdims=True), x.var(1, keepdims=True)
    xh = (x - mu) / np.sqrt(var + eps)
    return gamma * xh + beta, (xh, gamma, 1 / np.sqrt(var + eps))
''',
    },
    "hw1.batchnorm_backward": {
        "forgets the mean and variance terms": '''
def batchnorm_backward(dout, cache):
    x_hat, gamma, inv_std = cache
    return dout * gamma * inv_std, (dout * x_hat).sum(0), dout.sum(0)
''',
        "forgets the variance term": '''
def batchnorm_backward(dout, cache):
    x_hat, gamma, inv_std = cache
    dxh = dout * gamma
    return inv_std * (dxh - dxh.mean(0)), (dout * x_hat).sum(0), dout.sum(0)
''',
        "dgamma without x_hat, dbeta as a mean": '''
def batchnorm_backward(dout, cache):
    x_hat, gamma, inv_std = cache
    dxh = dout * gamma
    dx = inv_std * (dxh - dxh.mean(0) - x_hat * (dxh * x_hat).mean(0))
    return dx, dout.sum(0), dout.mean(0)
''',
        "gradient only for an all-ones upstream": '''
def batchnorm_backward(dout, cache):
    x_hat, gamma, inv_std = cache
    return np.zeros_like(dout), (dout * x_hat).sum(0), dout.sum(0)
''',
    },
}

ALTERNATIVES = {
    "hw1.batchnorm_forward": {
        "explicit loops over features, cache as a dict": '''
def batchnorm_forward(x, gamma, beta, state, train=True, momentum=0.1, eps=1e-5):
    n, d = x.shape
    out = np.empty_like(x, dtype=float)
    rm = np.array(state["running_mean"], dtype=float)
    rv = np.array(state["running_var"], dtype=float)
    means, variances = np.empty(d), np.empty(d)
    for j in range(d):
        col = x[:, j]
        if train:
            m = sum(col) / n
            v = sum((c - m) ** 2 for c in col) / n
            rm[j] = (1 - momentum) * rm[j] + momentum * m
            rv[j] = (1 - momentum) * rv[j] + momentum * v * n / (n - 1)
        else:
            m, v = rm[j], rv[j]
        means[j], variances[j] = m, v
        out[:, j] = gamma[j] * (col - m) / math.sqrt(v + eps) + beta[j]
    if train:
        state["running_mean"], state["running_var"] = rm, rv
    return out, {"x": x, "mean": means, "var": variances, "gamma": gamma, "eps": eps}

def batchnorm_backward(dout, cache):
    x, mu, var, gamma, eps = cache["x"], cache["mean"], cache["var"], cache["gamma"], cache["eps"]
    n = x.shape[0]
    xc = x - mu
    std = np.sqrt(var + eps)
    dxh = dout * gamma
    dvar = np.sum(dxh * xc, axis=0) * -0.5 * std ** -3
    dmu = np.sum(-dxh / std, axis=0) + dvar * np.mean(-2 * xc, axis=0)
    dx = dxh / std + dvar * 2 * xc / n + dmu / n
    return dx, np.sum(dout * xc / std, axis=0), np.sum(dout, axis=0)
''',
    },
    "hw1.batchnorm_backward": {
        "staged chain rule through mean and variance": '''
def batchnorm_backward(dout, cache):
    x_hat, gamma, inv_std = cache
    n = dout.shape[0]
    dxh = dout * gamma
    return (n * dxh - dxh.sum(0) - x_hat * (dxh * x_hat).sum(0)) * inv_std / n, (dout * x_hat).sum(0), dout.sum(0)
''',
    },
}

# Written to another widely used convention: each may cost only its own small part,
# and the reason must name both conventions (tests/test_validity.py).
CONVENTIONS = {
    "hw1.batchnorm_forward": {
        "CS231n's running variance (biased)": {
            "code": '''
def batchnorm_forward(x, gamma, beta, state, train=True, momentum=0.1, eps=1e-5):
    if train:
        mu, var = x.mean(axis=0), x.var(axis=0)
        state["running_mean"] = (1 - momentum) * state["running_mean"] + momentum * mu
        state["running_var"] = (1 - momentum) * state["running_var"] + momentum * var
    else:
        mu, var = state["running_mean"], state["running_var"]
    inv = 1 / np.sqrt(var + eps)
    xh = (x - mu) * inv
    return gamma * xh + beta, (xh, gamma, inv)
''',
            "part": "running variance (convention",
            "loses": 0.51,
            "says": "CS231n",
            "names": ("PyTorch", "CS231n"),
        },
        "Keras's momentum rule (momentum weights the old value)": {
            "code": '''
def batchnorm_forward(x, gamma, beta, state, train=True, momentum=0.1, eps=1e-5):
    if train:
        n = x.shape[0]
        mu, var = x.mean(axis=0), x.var(axis=0)
        state["running_mean"] = momentum * state["running_mean"] + (1 - momentum) * mu
        state["running_var"] = momentum * state["running_var"] + (1 - momentum) * var * n / (n - 1)
    else:
        mu, var = state["running_mean"], state["running_var"]
    inv = 1 / np.sqrt(var + eps)
    xh = (x - mu) * inv
    return gamma * xh + beta, (xh, gamma, inv)
''',
            "part": "momentum rule (convention",
            "loses": 0.51,
            "says": "Keras",
            "names": ("PyTorch", "Keras"),
        },
    },
}
