"""Mutants and alternative correct solutions for folding BatchNorm into a conv (003 T2)."""

MUTANTS = {
    "hw1.fold_batchnorm": {
        "sqrt(var) without eps": '''
def fold_batchnorm(w, b, gamma, beta, running_mean, running_var, eps=1e-5):
    b = np.zeros(w.shape[0]) if b is None else b
    s = gamma / np.sqrt(running_var)
    return w * s[:, None, None, None], s * (b - running_mean) + beta
''',
        "forgets the running mean in the bias": '''
def fold_batchnorm(w, b, gamma, beta, running_mean, running_var, eps=1e-5):
    b = np.zeros(w.shape[0]) if b is None else b
    s = gamma / np.sqrt(running_var + eps)
    return w * s[:, None, None, None], s * b + beta
''',
        "scales the bias but does not shift it (no beta)": '''
def fold_batchnorm(w, b, gamma, beta, running_mean, running_var, eps=1e-5):
    b = np.zeros(w.shape[0]) if b is None else b
    s = gamma / np.sqrt(running_var + eps)
    return w * s[:, None, None, None], s * (b - running_mean)
''',
        "scales along the input-channel axis of w": '''
def fold_batchnorm(w, b, gamma, beta, running_mean, running_var, eps=1e-5):
    b = np.zeros(w.shape[0]) if b is None else b
    s = gamma / np.sqrt(running_var + eps)
    return w * s[None, :, None, None], s * (b - running_mean) + beta
''',
        "divides by the variance instead of the standard deviation": '''
def fold_batchnorm(w, b, gamma, beta, running_mean, running_var, eps=1e-5):
    b = np.zeros(w.shape[0]) if b is None else b
    s = gamma / (running_var + eps)
    return w * s[:, None, None, None], s * (b - running_mean) + beta
''',
        "mean subtracted after scaling": '''
def fold_batchnorm(w, b, gamma, beta, running_mean, running_var, eps=1e-5):
    b = np.zeros(w.shape[0]) if b is None else b
    s = gamma / np.sqrt(running_var + eps)
    return w * s[:, None, None, None], s * b - running_mean + beta
''',
        "does not handle b=None": '''
def fold_batchnorm(w, b, gamma, beta, running_mean, running_var, eps=1e-5):
    s = gamma / np.sqrt(running_var + eps)
    return w * s[:, None, None, None], s * (b - running_mean) + beta
''',
    },
}

ALTERNATIVES = {
    "hw1.fold_batchnorm": {
        "loop over filters, std first, einsum": '''
def fold_batchnorm(w, b, gamma, beta, running_mean, running_var, eps=1e-5):
    n_filters = w.shape[0]
    bias = np.zeros(n_filters) if b is None else np.asarray(b, dtype=float)
    std = np.sqrt(np.asarray(running_var, dtype=float) + eps)
    new_w = np.empty_like(w, dtype=float)
    new_b = np.empty(n_filters)
    for f in range(n_filters):
        new_w[f] = w[f] * gamma[f] / std[f]
        new_b[f] = beta[f] + gamma[f] * (bias[f] - running_mean[f]) / std[f]
    return np.einsum("fckl->fckl", new_w), new_b
''',
        "reshape-based, list bias": '''
def fold_batchnorm(w, b, gamma, beta, running_mean, running_var, eps=1e-5):
    scale = gamma * (running_var + eps) ** -0.5
    shift = beta - scale * running_mean
    w2 = (w.reshape(w.shape[0], -1) * scale.reshape(-1, 1)).reshape(w.shape)
    b2 = shift if b is None else shift + scale * b
    return w2, list(b2)
''',
    },
}
