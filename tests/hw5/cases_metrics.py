"""Mutants and alternative correct solutions: one-vs-rest ROC, AUC and the confusion matrix (002 P5)."""

_REST = '''

def roc_auc(y_true, scores):
    fpr, tpr, _ = roc_curve_binary(y_true, scores)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def one_vs_rest_auc(y_true, scores):
    y = np.asarray(y_true)
    scores = np.asarray(scores, dtype=float)
    return np.array([roc_auc(y == c, scores[:, c]) for c in range(scores.shape[1])])


def confusion_from_scores(y_true, scores):
    scores = np.asarray(scores)
    cm = np.zeros((scores.shape[1],) * 2, dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true).astype(int), scores.argmax(1)), 1)
    return cm
'''

_ROC = '''
def roc_curve_binary(y_true, scores):
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype=float)
    thr = np.r_[np.inf, np.unique(s)[::-1]]
    tpr = np.array([(y & (s >= t)).sum() for t in thr]) / y.sum()
    fpr = np.array([(~y & (s >= t)).sum() for t in thr]) / (~y).sum()
    return fpr, tpr, thr
'''

MUTANTS = {
    "hw5.roc_confusion": {
        "thresholds per sample: tied scores give a staircase": '''
def roc_curve_binary(y_true, scores):
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype=float)
    order = np.argsort(-s, kind="stable")
    y, s = y[order], s[order]
    tpr = np.r_[0.0, np.cumsum(y) / y.sum()]
    fpr = np.r_[0.0, np.cumsum(~y) / (~y).sum()]
    return fpr, tpr, np.r_[np.inf, s]
''' + _REST,
        "AUC by trapezoids over the points in the data's order (unsorted)": _ROC + '''

def roc_auc(y_true, scores):
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype=float)
    tpr = np.array([(y & (s >= t)).sum() for t in s]) / y.sum()
    fpr = np.array([(~y & (s >= t)).sum() for t in s]) / (~y).sum()
    return float(abs(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)))


def one_vs_rest_auc(y_true, scores):
    y = np.asarray(y_true)
    scores = np.asarray(scores, dtype=float)
    return np.array([roc_auc(y == c, scores[:, c]) for c in range(scores.shape[1])])


def confusion_from_scores(y_true, scores):
    scores = np.asarray(scores)
    cm = np.zeros((scores.shape[1],) * 2, dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true).astype(int), scores.argmax(1)), 1)
    return cm
''',
        "confusion matrix transposed (rows predicted)": _ROC + '''

def roc_auc(y_true, scores):
    fpr, tpr, _ = roc_curve_binary(y_true, scores)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def one_vs_rest_auc(y_true, scores):
    y = np.asarray(y_true)
    scores = np.asarray(scores, dtype=float)
    return np.array([roc_auc(y == c, scores[:, c]) for c in range(scores.shape[1])])


def confusion_from_scores(y_true, scores):
    scores = np.asarray(scores)
    cm = np.zeros((scores.shape[1],) * 2, dtype=np.int64)
    np.add.at(cm, (scores.argmax(1), np.asarray(y_true).astype(int)), 1)
    return cm
''',
        "threshold > instead of >= (and no +inf start)": '''
def roc_curve_binary(y_true, scores):
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype=float)
    thr = np.unique(s)[::-1]
    tpr = np.array([(y & (s > t)).sum() for t in thr]) / y.sum()
    fpr = np.array([(~y & (s > t)).sum() for t in thr]) / (~y).sum()
    return fpr, tpr, thr
''' + _REST,
        "confusion matrix sized by the classes seen (np.unique)": _ROC + '''

def roc_auc(y_true, scores):
    fpr, tpr, _ = roc_curve_binary(y_true, scores)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def one_vs_rest_auc(y_true, scores):
    y = np.asarray(y_true)
    scores = np.asarray(scores, dtype=float)
    return np.array([roc_auc(y == c, scores[:, c]) for c in range(scores.shape[1])])


def confusion_from_scores(y_true, scores):
    y = np.asarray(y_true).astype(int)
    p = np.asarray(scores).argmax(1)
    k = int(max(y.max(), p.max())) + 1
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (y, p), 1)
    return cm
''',
        "one-vs-rest AUC from the argmax predictions, not the scores": _ROC + '''

def roc_auc(y_true, scores):
    fpr, tpr, _ = roc_curve_binary(y_true, scores)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def one_vs_rest_auc(y_true, scores):
    y = np.asarray(y_true)
    pred = np.asarray(scores).argmax(1)
    return np.array([roc_auc(y == c, (pred == c).astype(float)) for c in range(np.asarray(scores).shape[1])])


def confusion_from_scores(y_true, scores):
    scores = np.asarray(scores)
    cm = np.zeros((scores.shape[1],) * 2, dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true).astype(int), scores.argmax(1)), 1)
    return cm
''',
        "scikit-learn (not available in this exercise)": '''
def roc_curve_binary(y_true, scores):
    from sklearn.metrics import roc_curve
    return roc_curve(y_true, scores, drop_intermediate=False)


def roc_auc(y_true, scores):
    from sklearn.metrics import roc_auc_score
    return float(roc_auc_score(y_true, scores))


def one_vs_rest_auc(y_true, scores):
    from sklearn.metrics import roc_auc_score
    y = np.asarray(y_true)
    return np.array([roc_auc_score(y == c, scores[:, c]) for c in range(scores.shape[1])])


def confusion_from_scores(y_true, scores):
    from sklearn.metrics import confusion_matrix
    return confusion_matrix(y_true, np.asarray(scores).argmax(1), labels=range(np.asarray(scores).shape[1]))
''',
    },
}

ALTERNATIVES = {
    "hw5.roc_confusion": {
        "a threshold loop over the distinct scores; AUC by counting pairs (Mann-Whitney)": _ROC + '''

def roc_auc(y_true, scores):
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype=float)
    pos, neg = s[y], s[~y]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(wins / (len(pos) * len(neg)))


def one_vs_rest_auc(y_true, scores):
    out = []
    for c in range(len(scores[0])):
        out.append(roc_auc([int(t == c) for t in y_true], [row[c] for row in scores]))
    return out


def confusion_from_scores(y_true, scores):
    k = len(scores[0])
    cm = [[0] * k for _ in range(k)]
    for t, row in zip(y_true, scores):
        cm[int(t)][int(np.argmax(row))] += 1
    return np.array(cm)
''',
        "torch ops": '''
def roc_curve_binary(y_true, scores):
    y = torch.as_tensor(np.asarray(y_true)).bool()
    s = torch.as_tensor(np.asarray(scores, dtype=np.float64))
    s_sorted, order = torch.sort(s, descending=True, stable=True)
    y_sorted = y[order]
    keep = torch.ones(len(s), dtype=torch.bool)
    keep[:-1] = s_sorted[1:] != s_sorted[:-1]
    tp = torch.cumsum(y_sorted.double(), 0)[keep]
    fp = torch.cumsum((~y_sorted).double(), 0)[keep]
    zero = torch.zeros(1, dtype=torch.float64)
    fpr = torch.cat([zero, fp / fp[-1]]).numpy()
    tpr = torch.cat([zero, tp / tp[-1]]).numpy()
    thr = torch.cat([torch.tensor([float("inf")], dtype=torch.float64), s_sorted[keep]]).numpy()
    return fpr, tpr, thr
''' + _REST.replace("np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)", "np.trapezoid(tpr, fpr)"),
    },
}

# Correct solutions written to another widely used convention (see tests/test_validity.py).
CONVENTIONS = {
    "hw5.roc_confusion": {
        'scikit-learn before 1.3: the first threshold is max(score) + 1': {
            "code": '''
def roc_curve_binary(y_true, scores):
    # scikit-learn before 1.3: the extra first point (0, 0) gets threshold max(score) + 1
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype=float)
    levels = np.unique(s)[::-1]
    tps = np.array([np.count_nonzero(y & (s >= t)) for t in levels], dtype=float)
    fps = np.array([np.count_nonzero(~y & (s >= t)) for t in levels], dtype=float)
    tpr = np.concatenate([[0.0], tps]) / max(y.sum(), 1)
    fpr = np.concatenate([[0.0], fps]) / max((~y).sum(), 1)
    return fpr, tpr, np.concatenate([[levels[0] + 1], levels])
''' + _REST,
            "loses": 0.25, "says": 'before 1.3'},
        "scikit-learn's default drop_intermediate=True": {
            "code": '''
def roc_curve_binary(y_true, scores):
    # scikit-learn's default drop_intermediate=True: points in the middle of a straight
    # (horizontal, vertical or diagonal-free) run of the curve are left out
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype=float)
    levels = np.unique(s)[::-1]
    tps = np.array([np.count_nonzero(y & (s >= t)) for t in levels], dtype=float)
    fps = np.array([np.count_nonzero(~y & (s >= t)) for t in levels], dtype=float)
    if len(levels) > 2:
        bend = np.logical_or(np.diff(fps, 2) != 0, np.diff(tps, 2) != 0)
        keep = np.concatenate([[True], bend, [True]])
        levels, tps, fps = levels[keep], tps[keep], fps[keep]
    tpr = np.concatenate([[0.0], tps]) / max(y.sum(), 1)
    fpr = np.concatenate([[0.0], fps]) / max((~y).sum(), 1)
    return fpr, tpr, np.concatenate([[np.inf], levels])
''' + _REST,
            "loses": 0.25, "says": 'drop_intermediate=True'},
        "MATLAB's plotconfusion layout: rows are the predicted classes": {
            "code": _ROC + '''
def roc_auc(y_true, scores):
    fpr, tpr, _ = roc_curve_binary(y_true, scores)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def one_vs_rest_auc(y_true, scores):
    y = np.asarray(y_true)
    scores = np.asarray(scores, dtype=float)
    return np.array([roc_auc(y == c, scores[:, c]) for c in range(scores.shape[1])])


def confusion_from_scores(y_true, scores):
    # MATLAB's plotconfusion layout: rows = predicted (output) class, columns = true (target) class
    scores = np.asarray(scores)
    k = scores.shape[1]
    predicted = scores.argmax(axis=1)
    m = np.zeros((k, k), dtype=np.int64)
    for t, p in zip(np.asarray(y_true).astype(int), predicted):
        m[p, t] += 1
    return m
''',
            "loses": 0.3, "says": "plotconfusion"},
    },
}
