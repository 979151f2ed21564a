"""Mutants and alternative correct solutions for translation equivariance (002 Q1)."""

_GAP = '''
def equivariance_gap(x, w, dy, dx, interior_only=True):
    kh, kw = w.shape
    def corr(img):
        ho, wo = img.shape[0] - kh + 1, img.shape[1] - kw + 1
        return np.array([[np.sum(w * img[i:i + kh, j:j + kw]) for j in range(wo)] for i in range(ho)])
    a = corr(shift_image(x, dy, dx))
    b = shift_image(corr(x), dy, dx)
    if interior_only:
        ho, wo = a.shape
        a = a[max(dy, 0): ho + min(dy, 0), max(dx, 0): wo + min(dx, 0)]
        b = b[max(dy, 0): ho + min(dy, 0), max(dx, 0): wo + min(dx, 0)]
    return float(np.max(np.abs(a - b), initial=0.0))
'''

MUTANTS = {
    "hw1.translation_equivariance": {
        "circular shift (np.roll) instead of zero fill": '''
def shift_image(x, dy, dx):
    return np.roll(x, (dy, dx), axis=(-2, -1))
''',
        "sign of the shift swapped (positive dy moves content up)": '''
def shift_image(x, dy, dx):
    out = np.zeros_like(x)
    h, w = x.shape[-2:]
    dy, dx = -dy, -dx
    if abs(dy) < h and abs(dx) < w:
        out[..., max(dy, 0): h + min(dy, 0), max(dx, 0): w + min(dx, 0)] = \\
            x[..., max(-dy, 0): h + min(-dy, 0), max(-dx, 0): w + min(-dx, 0)]
    return out
''',
        "compares the whole maps, borders included": _GAP.replace("    if interior_only:\n", "    if False:\n"),
        "always crops the top-left border, whatever the sign of the shift": _GAP.replace(
            "a[max(dy, 0): ho + min(dy, 0), max(dx, 0): wo + min(dx, 0)]", "a[abs(dy):, abs(dx):]").replace(
            "b[max(dy, 0): ho + min(dy, 0), max(dx, 0): wo + min(dx, 0)]", "b[abs(dy):, abs(dx):]"),
        "gap hard-coded to 0": '''
def equivariance_gap(x, w, dy, dx, interior_only=True):
    return 0.0
''',
        "a shift as large as the image wraps around (negative slice bounds)": '''
def shift_image(x, dy, dx):
    out = np.zeros_like(x)
    h, w = x.shape[-2:]
    out[..., max(dy, 0): h + min(dy, 0), max(dx, 0): w + min(dx, 0)] = \\
        x[..., max(-dy, 0): h + min(-dy, 0), max(-dx, 0): w + min(-dx, 0)]
    return out
''',
    },
}

ALTERNATIVES = {
    "hw1.translation_equivariance": {
        "pixel loops for the shift, convolution by flipped kernel, explicit index ranges": '''
def shift_image(x, dy, dx):
    x = np.asarray(x)
    result = np.zeros(x.shape, dtype=x.dtype)
    height, width = x.shape[-2], x.shape[-1]
    for i in range(height):
        for j in range(width):
            si, sj = i - dy, j - dx
            if 0 <= si < height and 0 <= sj < width:
                result[..., i, j] = x[..., si, sj]
    return result

def equivariance_gap(x, w, dy, dx, interior_only=True):
    flipped = w[::-1, ::-1]
    kh, kw = w.shape
    def valid_corr(img):
        rows, cols = img.shape[0] - kh + 1, img.shape[1] - kw + 1
        res = np.empty((rows, cols))
        for r in range(rows):
            for c in range(cols):
                patch = img[r:r + kh, c:c + kw]
                res[r, c] = (patch * flipped[::-1, ::-1]).sum()
        return res
    first = valid_corr(shift_image(x, dy, dx))
    second = shift_image(valid_corr(x), dy, dx)
    diff = np.abs(first - second)
    if interior_only:
        rows = [r for r in range(diff.shape[0]) if max(dy, 0) <= r < diff.shape[0] + min(dy, 0)]
        cols = [c for c in range(diff.shape[1]) if max(dx, 0) <= c < diff.shape[1] + min(dx, 0)]
        if not rows or not cols:
            return 0.0
        diff = diff[np.ix_(rows, cols)]
    return diff.max()
''',
    },
}
