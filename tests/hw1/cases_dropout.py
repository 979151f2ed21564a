"""Mutants (plausible mistakes) and alternative correct solutions for the dropout items.

Each value is code appended after the reference notebook's cells, so it replaces
the reference's definition of the same function.
"""

MUTANTS = {
    "hw1.dropout": {
        "p taken as the keep probability": '''
def inverted_dropout(x, p, rng, train=True):
    if not train:
        return x, np.ones_like(x)
    mask = (rng.random(x.shape) < p) / p
    return x * mask, mask
''',
        "inverted dropout without the 1/(1-p) scaling": '''
def inverted_dropout(x, p, rng, train=True):
    if not train:
        return x, np.ones_like(x)
    mask = (rng.random(x.shape) >= p).astype(float)
    return x * mask, mask
''',
        "global np.random instead of the rng argument": '''
def inverted_dropout(x, p, rng, train=True):
    if not train:
        return x, np.ones_like(x)
    mask = (np.random.rand(*x.shape) >= p) / (1 - p)
    return x * mask, mask
''',
        "eval mode still drops": '''
def inverted_dropout(x, p, rng, train=True):
    mask = (rng.random(x.shape) >= p) / (1 - p)
    return x * mask, mask
''',
        "Gaussian noise with standard deviation p/(1-p)": '''
def gaussian_dropout(x, p, rng, train=True):
    if not train:
        return x, np.ones_like(x)
    mask = rng.normal(1.0, p / (1 - p), x.shape)
    return x * mask, mask
''',
        "Gaussian noise with variance p": '''
def gaussian_dropout(x, p, rng, train=True):
    if not train:
        return x, np.ones_like(x)
    mask = 1 + np.sqrt(p) * rng.standard_normal(x.shape)
    return x * mask, mask
''',
        "uniform noise with the right mean and variance": '''
def gaussian_dropout(x, p, rng, train=True):
    if not train:
        return x, np.ones_like(x)
    half = np.sqrt(3 * p / (1 - p))
    mask = rng.uniform(1 - half, 1 + half, x.shape)
    return x * mask, mask
''',
        "channel dropout drops single pixels": '''
def channel_dropout(x, p, rng, train=True):
    if not train:
        return x, np.ones(x.shape[:2] + (1, 1))
    mask = (rng.random(x.shape) >= p) / (1 - p)
    return x * mask, mask
''',
        "channel dropout drops the same channels in every sample": '''
def channel_dropout(x, p, rng, train=True):
    if not train:
        return x, np.ones(x.shape[:2] + (1, 1))
    mask = np.broadcast_to((rng.random((1, x.shape[1], 1, 1)) >= p) / (1 - p), x.shape[:2] + (1, 1))
    return x * mask, mask
''',
        "backward forgets the mask": '''
def dropout_backward(dout, mask):
    return dout.copy()
''',
        "backward uses the kept pattern without the scale": '''
def dropout_backward(dout, mask):
    return dout * (mask != 0)
''',
    },
    "hw1.dropout_identity": {
        "penalty with (1-q) instead of q(1-q)": '''
def dropout_objective_closed_form(X, y, w, q):
    r = y - q * X @ w
    return float(r @ r + (1 - q) * np.sum((X ** 2).sum(0) * w ** 2))
''',
        "column norms not squared": '''
def dropout_objective_closed_form(X, y, w, q):
    r = y - q * X @ w
    return float(r @ r + q * (1 - q) * np.sum(np.linalg.norm(X, axis=0) * w ** 2))
''',
        "penalty ||Xw||^2 instead of its diagonal part": '''
def dropout_objective_closed_form(X, y, w, q):
    r = y - q * X @ w
    return float(r @ r + q * (1 - q) * np.sum((X @ w) ** 2))
''',
        "first term without the factor q": '''
def dropout_objective_closed_form(X, y, w, q):
    r = y - X @ w
    return float(r @ r + q * (1 - q) * np.sum((X ** 2).sum(0) * w ** 2))
''',
        "Monte Carlo with inverted scaling D/q": '''
def dropout_objective_monte_carlo(X, y, w, q, n_samples, rng):
    D = rng.random((n_samples,) + X.shape) < q
    return float(np.mean(np.sum((y - (D * X / q) @ w) ** 2, axis=1)))
''',
        "Monte Carlo keeps with probability 1-q": '''
def dropout_objective_monte_carlo(X, y, w, q, n_samples, rng):
    D = rng.random((n_samples,) + X.shape) < 1 - q
    return float(np.mean(np.sum((y - (D * X) @ w) ** 2, axis=1)))
''',
        "Monte Carlo returns the closed form": '''
def dropout_objective_monte_carlo(X, y, w, q, n_samples, rng):
    return dropout_objective_closed_form(X, y, w, q)
''',
        "Monte Carlo with the global np.random": '''
def dropout_objective_monte_carlo(X, y, w, q, n_samples, rng):
    D = np.random.rand(n_samples, *X.shape) < q
    return float(np.mean(np.sum((y - (D * X) @ w) ** 2, axis=1)))
''',
    },
}

ALTERNATIVES = {
    "hw1.dropout": {
        "binomial draws, full-size channel mask, explicit broadcasting": '''
def inverted_dropout(x, p, rng, train=True):
    keep = 1.0 - p
    if train:
        kept = rng.binomial(1, keep, size=np.shape(x))
        m = kept.astype(np.float64) / keep
    else:
        m = np.ones(np.shape(x))
    return np.multiply(x, m), m

def gaussian_dropout(x, p, rng, train=True):
    m = rng.normal(loc=1.0, scale=np.sqrt(p / (1.0 - p)), size=np.shape(x)) if train else np.ones(np.shape(x))
    return np.multiply(x, m), m

def channel_dropout(x, p, rng, train=True):
    n, c, h, w = x.shape
    if not train:
        return x.copy(), np.ones((n, c, h, w))
    per_channel = rng.binomial(1, 1.0 - p, size=(n, c)) / (1.0 - p)
    m = np.repeat(np.repeat(per_channel[:, :, None, None], h, axis=2), w, axis=3)
    return x * m, m

def dropout_backward(dout, mask):
    return np.multiply(dout, np.broadcast_to(mask, dout.shape))
''',
    },
    "hw1.dropout_identity": {
        "explicit Gamma matrix and a loop over samples": '''
def dropout_objective_closed_form(X, y, w, q):
    G = np.diag(np.linalg.norm(X, axis=0))
    resid = y - q * X.dot(w)
    return float(np.dot(resid, resid) + q * (1 - q) * np.dot(G @ w, G @ w))

def dropout_objective_monte_carlo(X, y, w, q, n_samples, rng):
    acc = 0.0
    for _ in range(n_samples):
        keep = rng.binomial(1, q, size=X.shape)
        e = y - (keep * X) @ w
        acc += e @ e
    return acc / n_samples
''',
    },
}

CONVENTIONS = {
    "hw1.dropout": {
        "p read as the keep probability (TensorFlow 1's keep_prob), inverted scaling": {
            "code": '''
def inverted_dropout(x, p, rng, train=True):
    if not train:
        return x, np.ones_like(x, dtype=float)
    mask = (rng.random(x.shape) < p) / p
    return x * mask, mask

def gaussian_dropout(x, p, rng, train=True):
    if not train:
        return x, np.ones_like(x, dtype=float)
    mask = 1.0 + math.sqrt((1.0 - p) / p) * rng.standard_normal(x.shape)
    return x * mask, mask

def channel_dropout(x, p, rng, train=True):
    shape = x.shape[:2] + (1,) * (x.ndim - 2)
    if not train:
        return x, np.ones(shape)
    mask = (rng.random(shape) < p) / p
    return x * mask, mask
''',
            "part": "p drops (convention",
            "loses": 0.43,
            "says": "keep_prob",
            "names": ("PyTorch", "keep_prob"),
        },
        "classic dropout (no scaling in training, the keep probability at test time)": {
            "code": '''
def inverted_dropout(x, p, rng, train=True):
    if not train:
        mask = np.full(x.shape, 1.0 - p)
        return x * mask, mask
    mask = (rng.random(x.shape) >= p).astype(float)
    return x * mask, mask

def channel_dropout(x, p, rng, train=True):
    shape = x.shape[:2] + (1,) * (x.ndim - 2)
    if not train:
        mask = np.full(shape, 1.0 - p)
        return x * mask, mask
    mask = (rng.random(shape) >= p).astype(float)
    return x * mask, mask
''',
            "part": "inverted scaling (convention",
            "loses": 0.29,
            "says": "classic dropout",
            "names": ("PyTorch", "classic dropout"),
        },
    },
}
