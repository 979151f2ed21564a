"""Mutants (plausible mistakes) and alternative correct solutions for the regression metrics.

Each value is code appended after the reference notebook's cells. The metric mutants
keep the reference and spoil one entry of its dict.
"""

_KEEP = '''
_ref_metrics = regression_metrics
'''

MUTANTS = {
    "hw1.regression_metrics": {
        "RMSE as the mean absolute error": '''
def regression_metrics(y_true, y_pred):
    e = np.abs(np.asarray(y_true, float) - np.asarray(y_pred, float))
    y = np.asarray(y_true, float)
    rmse = float(e.mean())
    q75, q25 = np.percentile(y, [75, 25])
    return {"mse": float(np.mean(e ** 2)), "rmse": rmse, "nrmse_mean": rmse / y.mean(),
            "nrmse_range": rmse / (y.max() - y.min()), "nrmse_std": rmse / y.std(),
            "nrmse_iqr": rmse / (q75 - q25), "rrmse": 100 * rmse / y.mean()}
''',
        "sample std (ddof=1) where the population std is specified": _KEEP + '''
def regression_metrics(y_true, y_pred):
    m = _ref_metrics(y_true, y_pred)
    m["nrmse_std"] = m["rmse"] / float(np.std(np.asarray(y_true, float), ddof=1))
    return m
''',
        "IQR computed as the range": _KEEP + '''
def regression_metrics(y_true, y_pred):
    m = _ref_metrics(y_true, y_pred)
    y = np.asarray(y_true, float)
    m["nrmse_iqr"] = m["rmse"] / float(y.max() - y.min())
    return m
''',
        "range taken as the maximum": _KEEP + '''
def regression_metrics(y_true, y_pred):
    m = _ref_metrics(y_true, y_pred)
    m["nrmse_range"] = m["rmse"] / float(np.max(y_true))
    return m
''',
        "RRMSE as a fraction, not in percent": _KEEP + '''
def regression_metrics(y_true, y_pred):
    m = _ref_metrics(y_true, y_pred)
    m["rrmse"] = m["rmse"] / float(np.mean(y_true))
    return m
''',
        "NRMSE by the maximum divided by the mean instead": _KEEP + '''
def regression_metrics(y_true, y_pred):
    m = _ref_metrics(y_true, y_pred)
    m["nrmse_max"] = m["nrmse_mean"]
    return m
''',
        "MSE as a sum": _KEEP + '''
def regression_metrics(y_true, y_pred):
    m = _ref_metrics(y_true, y_pred)
    m["mse"] = float(np.sum((np.asarray(y_true, float) - np.asarray(y_pred, float)) ** 2))
    return m
''',
        "band boundaries include the upper bound": '''
def rrmse_band(rrmse_percent):
    if rrmse_percent <= 10:
        return "excellent"
    if rrmse_percent <= 20:
        return "good"
    if rrmse_percent <= 30:
        return "fair"
    return "poor"
''',
        "bands read from a fraction": '''
def rrmse_band(rrmse_percent):
    if rrmse_percent < 0.1:
        return "excellent"
    if rrmse_percent < 0.2:
        return "good"
    if rrmse_percent < 0.3:
        return "fair"
    return "poor"
''',
    },
}

ALTERNATIVES = {
    "hw1.regression_metrics": {
        "plain Python with a hand-made percentile": '''
def _percentile(values, q):
    s = sorted(values)
    pos = (len(s) - 1) * q / 100
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)

def regression_metrics(y_true, y_pred):
    t = [float(v) for v in y_true]
    p = [float(v) for v in y_pred]
    n = len(t)
    sq = sum((a - b) ** 2 for a, b in zip(t, p)) / n
    root = sq ** 0.5
    mean = sum(t) / n
    pstd = (sum((a - mean) ** 2 for a in t) / n) ** 0.5
    iqr = _percentile(t, 75) - _percentile(t, 25)
    return dict(mse=sq, rmse=root, nrmse_mean=root / mean, nrmse_max=root / max(t), nrmse_range=root / (max(t) - min(t)),
                nrmse_std=root / pstd, nrmse_iqr=root / iqr, rrmse=root / mean * 100)

def rrmse_band(rrmse_percent):
    for upper, name in ((10, "excellent"), (20, "good"), (30, "fair")):
        if rrmse_percent < upper:
            return name
    return "poor"
''',
    },
}

CONVENTIONS = {
    "hw1.regression_metrics": {
        "pandas' and R's sample standard deviation": {
            "code": _KEEP + '''
def regression_metrics(y_true, y_pred):
    m = _ref_metrics(y_true, y_pred)
    m["nrmse_std"] = m["rmse"] / float(np.std(np.asarray(y_true, float), ddof=1))
    return m
''',
            "part": "['nrmse_std']",
            "loses": 0.47,
            "says": "ddof=1",
            "names": ("ddof=0", "ddof=1"),
        },
        "Excel's QUARTILE.EXC quartiles for the IQR": {
            "code": _KEEP + '''
def regression_metrics(y_true, y_pred):
    m = _ref_metrics(y_true, y_pred)
    q75, q25 = np.percentile(np.asarray(y_true, float), [75, 25], method="weibull")
    m["nrmse_iqr"] = m["rmse"] / float(q75 - q25)
    return m
''',
            "part": "['nrmse_iqr']",
            "loses": 0.47,
            "says": "method='weibull'",
            "names": ("linear", "weibull"),
        },
        "bands that include their upper bound": {
            "code": '''
def rrmse_band(rrmse_percent):
    if rrmse_percent <= 10:
        return "excellent"
    if rrmse_percent <= 20:
        return "good"
    if rrmse_percent <= 30:
        return "fair"
    return "poor"
''',
            "part": "at the boundaries (convention",
            "loses": 0.29,
            "says": "(10, 20]",
            "names": ("lower bound", "(10, 20]"),
        },
    },
}
