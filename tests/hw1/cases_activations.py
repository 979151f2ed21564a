"""Mutants (plausible mistakes) and alternative correct solutions for the activations.

Each value is code appended after the reference notebook's cells. Most mutants keep
the reference for every name but one (``_ref_f`` / ``_ref_g`` hold the reference).
"""

_KEEP = '''
_ref_f, _ref_g = activation, activation_grad
'''

MUTANTS = {
    "hw1.activations": {
        "exact GELU computed with the tanh approximation": _KEEP + '''
def activation(name, x):
    if name == "gelu":
        return _ref_f("gelu_tanh", x)
    return _ref_f(name, x)

def activation_grad(name, x):
    if name == "gelu":
        return _ref_g("gelu_tanh", x)
    return _ref_g(name, x)
''',
        "leaky ReLU with slope 0.1": _KEEP + '''
def activation(name, x):
    x = np.asarray(x, dtype=float)
    if name == "leaky_relu":
        return np.where(x > 0, x, 0.1 * x)
    return _ref_f(name, x)

def activation_grad(name, x):
    x = np.asarray(x, dtype=float)
    if name == "leaky_relu":
        return np.where(x > 0, 1.0, 0.1)
    return _ref_g(name, x)
''',
        "PReLU with the leaky slope 0.01": _KEEP + '''
def activation(name, x):
    return _ref_f("leaky_relu" if name == "prelu" else name, x)

def activation_grad(name, x):
    return _ref_g("leaky_relu" if name == "prelu" else name, x)
''',
        "RReLU in eval mode with the lower slope": _KEEP + '''
def activation(name, x):
    x = np.asarray(x, dtype=float)
    if name == "rrelu":
        return np.where(x > 0, x, x / 8)
    return _ref_f(name, x)

def activation_grad(name, x):
    x = np.asarray(x, dtype=float)
    if name == "rrelu":
        return np.where(x > 0, 1.0, 1 / 8)
    return _ref_g(name, x)
''',
        "SELU with rounded constants": _KEEP + '''
def activation(name, x):
    x = np.asarray(x, dtype=float)
    if name == "selu":
        return 1.05 * np.where(x > 0, x, 1.67 * (np.exp(np.minimum(x, 0)) - 1))
    return _ref_f(name, x)

def activation_grad(name, x):
    x = np.asarray(x, dtype=float)
    if name == "selu":
        return 1.05 * np.where(x > 0, 1.0, 1.67 * np.exp(np.minimum(x, 0)))
    return _ref_g(name, x)
''',
        "ELU derivative written as f(x) for x < 0 (forgets + alpha)": _KEEP + '''
def activation_grad(name, x):
    x = np.asarray(x, dtype=float)
    if name == "elu":
        return np.where(x > 0, 1.0, np.exp(np.minimum(x, 0)) - 1)
    return _ref_g(name, x)
''',
        "GELU derivative without the x * phi(x) term": _KEEP + '''
def activation_grad(name, x):
    x = np.asarray(x, dtype=float)
    if name == "gelu":
        return _ref_f("gelu", x) / np.where(x == 0, 1.0, x)
    return _ref_g(name, x)
''',
        "tanh-GELU derivative without the inner chain rule": _KEEP + '''
def activation_grad(name, x):
    x = np.asarray(x, dtype=float)
    if name == "gelu_tanh":
        t = np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t ** 2)
    return _ref_g(name, x)
''',
        "unknown names fall back to ReLU": _KEEP + '''
def activation(name, x):
    try:
        return _ref_f(name, x)
    except ValueError:
        return _ref_f("relu", x)

def activation_grad(name, x):
    try:
        return _ref_g(name, x)
    except ValueError:
        return _ref_g("relu", x)
''',
    },
}

ALTERNATIVES = {
    "hw1.activations": {
        "table of formulas, scipy's erf, derivatives by cases": '''
from scipy.special import erf as _erf

_SQ2PI = math.sqrt(2 / math.pi)

def _leaky(a):
    return (lambda x: np.where(x >= 0, x, a * x)), (lambda x: np.where(x >= 0, 1.0, a))

_TABLE = {
    "relu": _leaky(0.0),
    "leaky_relu": _leaky(0.01),
    "prelu": _leaky(0.25),
    "rrelu": _leaky((1 / 8 + 1 / 3) / 2),
    "elu": (lambda x: np.where(x > 0, x, np.exp(np.minimum(x, 0)) - 1),
            lambda x: np.where(x > 0, 1.0, np.exp(np.minimum(x, 0)))),
    "selu": (lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(np.minimum(x, 0)) - 1)),
             lambda x: 1.0507009873554805 * np.where(x > 0, 1.0, 1.6732632423543772 * np.exp(np.minimum(x, 0)))),
    "gelu": (lambda x: x * (1 + _erf(x / np.sqrt(2))) / 2,
             lambda x: (1 + _erf(x / np.sqrt(2))) / 2 + x * np.exp(-x * x / 2) / np.sqrt(2 * np.pi)),
}

def _gelu_tanh(x):
    u = _SQ2PI * (x + 0.044715 * x ** 3)
    return 0.5 * x * (1 + np.tanh(u))

def _gelu_tanh_grad(x):
    u = _SQ2PI * (x + 0.044715 * x ** 3)
    sech2 = 1 / np.cosh(u) ** 2
    return 0.5 * (1 + np.tanh(u)) + 0.5 * x * sech2 * _SQ2PI * (1 + 0.134145 * x ** 2)

_TABLE["gelu_tanh"] = (_gelu_tanh, _gelu_tanh_grad)

def activation(name, x):
    if name not in _TABLE:
        raise ValueError("no activation called " + str(name))
    return _TABLE[name][0](np.asarray(x, dtype=np.float64))

def activation_grad(name, x):
    if name not in _TABLE:
        raise ValueError("no activation called " + str(name))
    return _TABLE[name][1](np.asarray(x, dtype=np.float64))
''',
        "element by element with math": '''
def _scalar(name, v, grad):
    slopes = {"relu": 0.0, "leaky_relu": 0.01, "prelu": 0.25, "rrelu": 11 / 48}
    if name in slopes:
        return (1.0 if grad else v) if v > 0 else slopes[name] * (1.0 if grad else v)
    if name in ("elu", "selu"):
        a, s = (1.0, 1.0) if name == "elu" else (1.6732632423543772, 1.0507009873554805)
        if v > 0:
            return s * (1.0 if grad else v)
        return s * a * (math.exp(v) if grad else math.expm1(v))
    if name == "gelu":
        cdf = 0.5 * (1 + math.erf(v / math.sqrt(2)))
        return cdf + v * math.exp(-v * v / 2) / math.sqrt(2 * math.pi) if grad else v * cdf
    if name == "gelu_tanh":
        c = math.sqrt(2 / math.pi)
        t = math.tanh(c * (v + 0.044715 * v ** 3))
        return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * c * (1 + 3 * 0.044715 * v * v) if grad else 0.5 * v * (1 + t)
    raise ValueError(name)

def activation(name, x):
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    for i, v in np.ndenumerate(x):
        out[i] = _scalar(name, float(v), False)
    if x.size == 0:
        _scalar(name, 1.0, False)
    return out

def activation_grad(name, x):
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    for i, v in np.ndenumerate(x):
        out[i] = _scalar(name, float(v), True)
    if x.size == 0:
        _scalar(name, 1.0, True)
    return out
''',
    },
}

CONVENTIONS = {
    "hw1.activations": {
        "TensorFlow's LeakyReLU slope 0.2": {
            "code": _KEEP + '''
def activation(name, x):
    if name == "leaky_relu":
        x = np.asarray(x, dtype=float)
        return np.where(x > 0, x, 0.2 * x)
    return _ref_f(name, x)

def activation_grad(name, x):
    if name == "leaky_relu":
        x = np.asarray(x, dtype=float)
        return np.where(x > 0, 1.0, 0.2)
    return _ref_g(name, x)
''',
            "part": "('leaky_relu', x)` for x < 0 (convention",
            "loses": 0.27,
            "says": "tf.nn.leaky_relu",
            "names": ("PyTorch", "TensorFlow"),
        },
        "RReLU in eval mode as the paper: divide by (3 + 8) / 2": {
            "code": _KEEP + '''
def activation(name, x):
    if name == "rrelu":
        x = np.asarray(x, dtype=float)
        return np.where(x > 0, x, x / 5.5)
    return _ref_f(name, x)

def activation_grad(name, x):
    if name == "rrelu":
        x = np.asarray(x, dtype=float)
        return np.where(x > 0, 1.0, 1 / 5.5)
    return _ref_g(name, x)
''',
            "part": "('rrelu', x)` for x < 0 (convention",
            "loses": 0.27,
            "says": "the RReLU paper",
            "names": ("PyTorch", "paper"),
        },
        "JAX's gelu (the tanh approximation)": {
            "code": _KEEP + '''
def activation(name, x):
    return _ref_f("gelu_tanh" if name == "gelu" else name, x)

def activation_grad(name, x):
    return _ref_g("gelu_tanh" if name == "gelu" else name, x)
''',
            "part": "('gelu', x)`, this form of GELU (convention",
            "loses": 0.27,
            "says": "JAX",
            "names": ("PyTorch", "JAX"),
        },
        "'gelu_tanh' computed with erf (PyTorch's default F.gelu for both names)": {
            "code": _KEEP + '''
def activation(name, x):
    return _ref_f("gelu" if name == "gelu_tanh" else name, x)

def activation_grad(name, x):
    return _ref_g("gelu" if name == "gelu_tanh" else name, x)
''',
            "part": "('gelu_tanh', x)`, this form of GELU (convention",
            "loses": 0.27,
            "says": "exact (erf)",
            "names": ("PyTorch", "tanh approximation"),
        },
    },
}
