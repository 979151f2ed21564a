"""Mutants (plausible mistakes) and alternative correct solutions for convolution.

Each value is code appended after the reference notebook's cells, so it replaces
the reference's definition of the same function (the notebook's `as_pair` helper
stays available).
"""

MUTANTS = {
    "hw1.conv1d": {
        "flips the kernel (true convolution, not cross-correlation)": '''
def conv1d_forward(x, w, b, stride=1, padding=0, dilation=1):
    n, c, length = x.shape
    f, _, k = w.shape
    l_out = (length + 2 * padding - dilation * (k - 1) - 1) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    out = np.zeros((n, f, l_out)) + b[None, :, None]
    for j in range(k):
        taps = slice(j * dilation, j * dilation + stride * (l_out - 1) + 1, stride)
        out += np.einsum("ncl,fc->nfl", xp[:, :, taps], w[:, :, k - 1 - j])
    return out

def conv1d_backward(dout, x, w, b, stride=1, padding=0, dilation=1):
    n, c, length = x.shape
    f, _, k = w.shape
    l_out = dout.shape[2]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for j in range(k):
        taps = slice(j * dilation, j * dilation + stride * (l_out - 1) + 1, stride)
        dw[:, :, k - 1 - j] = np.einsum("nfl,ncl->fc", dout, xp[:, :, taps])
        dxp[:, :, taps] += np.einsum("nfl,fc->ncl", dout, w[:, :, k - 1 - j])
    return dxp[:, :, padding:padding + length], dw, dout.sum(axis=(0, 2))
''',
        "dilation left out of the output length": '''
def conv1d_forward(x, w, b, stride=1, padding=0, dilation=1):
    n, c, length = x.shape
    f, _, k = w.shape
    l_out = (length + 2 * padding - k) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    out = np.zeros((n, f, l_out)) + b[None, :, None]
    for j in range(k):
        taps = slice(j * dilation, j * dilation + stride * (l_out - 1) + 1, stride)
        out += np.einsum("ncl,fc->nfl", xp[:, :, taps], w[:, :, j])
    return out
''',
        "dw averaged over the batch instead of summed": '''
_reference_conv1d_backward = conv1d_backward

def conv1d_backward(dout, x, w, b, stride=1, padding=0, dilation=1):
    dx, dw, db = _reference_conv1d_backward(dout, x, w, b, stride, padding, dilation)
    return dx, dw / x.shape[0], db
''',
        "db as a mean over batch and positions": '''
_reference_conv1d_backward = conv1d_backward

def conv1d_backward(dout, x, w, b, stride=1, padding=0, dilation=1):
    dx, dw, db = _reference_conv1d_backward(dout, x, w, b, stride, padding, dilation)
    return dx, dw, dout.mean(axis=(0, 2))
''',
        "pads on the left only": '''
def conv1d_forward(x, w, b, stride=1, padding=0, dilation=1):
    n, c, length = x.shape
    f, _, k = w.shape
    xp = np.concatenate([np.zeros((n, c, padding)), x], axis=2)
    l_out = (xp.shape[2] - dilation * (k - 1) - 1) // stride + 1
    out = np.zeros((n, f, l_out)) + b[None, :, None]
    for j in range(k):
        taps = slice(j * dilation, j * dilation + stride * (l_out - 1) + 1, stride)
        out += np.einsum("ncl,fc->nfl", xp[:, :, taps], w[:, :, j])
    return out
''',
    },
    "hw1.conv2d_forward": {
        "flips the kernel (true convolution)": '''
_reference_conv2d_forward = conv2d_forward

def conv2d_forward(x, w, b, stride=1, padding=0, dilation=1):
    return _reference_conv2d_forward(x, w[:, :, ::-1, ::-1], b, stride, padding, dilation)
''',
        "square stride hard-coded (uses the first number for both axes)": '''
def conv2d_forward(x, w, b, stride=1, padding=0, dilation=1):
    s = stride if isinstance(stride, int) else stride[0]
    ph, pw = as_pair(padding)
    dh, dw = as_pair(dilation)
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    h_out = (h + 2 * ph - dh * (kh - 1) - 1) // s + 1
    w_out = (wd + 2 * pw - dw * (kw - 1) - 1) // s + 1
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.zeros((n, f, h_out, w_out)) + b[None, :, None, None]
    for p in range(kh):
        for q in range(kw):
            patch = xp[:, :, p * dh:p * dh + s * (h_out - 1) + 1:s, q * dw:q * dw + s * (w_out - 1) + 1:s]
            out += np.einsum("nchw,fc->nfhw", patch, w[:, :, p, q])
    return out
''',
        "dilation left out of the output size": '''
def conv2d_forward(x, w, b, stride=1, padding=0, dilation=1):
    (sh, sw), (ph, pw), (dh, dw) = as_pair(stride), as_pair(padding), as_pair(dilation)
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    h_out = (h + 2 * ph - kh) // sh + 1
    w_out = (wd + 2 * pw - kw) // sw + 1
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.zeros((n, f, h_out, w_out)) + b[None, :, None, None]
    for p in range(kh):
        for q in range(kw):
            patch = xp[:, :, p * dh:p * dh + sh * (h_out - 1) + 1:sh, q * dw:q * dw + sw * (w_out - 1) + 1:sw]
            out += np.einsum("nchw,fc->nfhw", patch, w[:, :, p, q])
    return out
''',
        "pads only the bottom and right": '''
def conv2d_forward(x, w, b, stride=1, padding=0, dilation=1):
    (sh, sw), (ph, pw), (dh, dw) = as_pair(stride), as_pair(padding), as_pair(dilation)
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (0, 2 * ph), (0, 2 * pw)))
    h_out = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    w_out = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, f, h_out, w_out)) + b[None, :, None, None]
    for p in range(kh):
        for q in range(kw):
            patch = xp[:, :, p * dh:p * dh + sh * (h_out - 1) + 1:sh, q * dw:q * dw + sw * (w_out - 1) + 1:sw]
            out += np.einsum("nchw,fc->nfhw", patch, w[:, :, p, q])
    return out
''',
        "forgets the bias": '''
_reference_conv2d_forward = conv2d_forward

def conv2d_forward(x, w, b, stride=1, padding=0, dilation=1):
    return _reference_conv2d_forward(x, w, np.zeros_like(b), stride, padding, dilation)
''',
    },
    "hw1.conv2d_backward": {
        "dw averaged over the batch instead of summed": '''
_reference_conv2d_backward = conv2d_backward

def conv2d_backward(dout, x, w, b, stride=1, padding=0, dilation=1):
    dx, dw, db = _reference_conv2d_backward(dout, x, w, b, stride, padding, dilation)
    return dx, dw / x.shape[0], db
''',
        "db as a mean": '''
_reference_conv2d_backward = conv2d_backward

def conv2d_backward(dout, x, w, b, stride=1, padding=0, dilation=1):
    dx, dw, db = _reference_conv2d_backward(dout, x, w, b, stride, padding, dilation)
    return dx, dw, dout.mean(axis=(0, 2, 3))
''',
        "dx overwritten where windows overlap instead of added": '''
def conv2d_backward(dout, x, w, b, stride=1, padding=0, dilation=1):
    (sh, sw), (ph, pw), (dh, dwl) = as_pair(stride), as_pair(padding), as_pair(dilation)
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    h_out, w_out = dout.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for p in range(kh):
        for q in range(kw):
            rows = slice(p * dh, p * dh + sh * (h_out - 1) + 1, sh)
            cols = slice(q * dwl, q * dwl + sw * (w_out - 1) + 1, sw)
            dw[:, :, p, q] = np.einsum("nfhw,nchw->fc", dout, xp[:, :, rows, cols])
            dxp[:, :, rows, cols] = np.einsum("nfhw,fc->nchw", dout, w[:, :, p, q])
    return dxp[:, :, ph:ph + h, pw:pw + wd], dw, dout.sum(axis=(0, 2, 3))
''',
        "dx through the flipped kernel": '''
def conv2d_backward(dout, x, w, b, stride=1, padding=0, dilation=1):
    (sh, sw), (ph, pw), (dh, dwl) = as_pair(stride), as_pair(padding), as_pair(dilation)
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    h_out, w_out = dout.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for p in range(kh):
        for q in range(kw):
            rows = slice(p * dh, p * dh + sh * (h_out - 1) + 1, sh)
            cols = slice(q * dwl, q * dwl + sw * (w_out - 1) + 1, sw)
            dw[:, :, p, q] = np.einsum("nfhw,nchw->fc", dout, xp[:, :, rows, cols])
            dxp[:, :, rows, cols] += np.einsum("nfhw,fc->nchw", dout, w[:, :, kh - 1 - p, kw - 1 - q])
    return dxp[:, :, ph:ph + h, pw:pw + wd], dw, dout.sum(axis=(0, 2, 3))
''',
        "square stride hard-coded": '''
_reference_conv2d_backward = conv2d_backward

def conv2d_backward(dout, x, w, b, stride=1, padding=0, dilation=1):
    s = stride if isinstance(stride, int) else stride[0]
    return _reference_conv2d_backward(dout, x, w, b, s, padding, dilation)
''',
    },
}

ALTERNATIVES = {
    "hw1.conv1d": {
        "loops over output positions, padding by hand": '''
def conv1d_forward(x, w, b, stride=1, padding=0, dilation=1):
    N, C, L = x.shape
    F, _, K = w.shape
    span = dilation * (K - 1) + 1
    padded = np.zeros((N, C, L + 2 * padding))
    padded[:, :, padding:padding + L] = x
    L_out = (padded.shape[2] - span) // stride + 1
    out = np.empty((N, F, L_out))
    for i in range(L_out):
        window = padded[:, :, i * stride:i * stride + span:dilation]       # (N, C, K)
        out[:, :, i] = window.reshape(N, -1) @ w.reshape(F, -1).T + b
    return out

def conv1d_backward(dout, x, w, b, stride=1, padding=0, dilation=1):
    N, C, L = x.shape
    F, _, K = w.shape
    span = dilation * (K - 1) + 1
    padded = np.zeros((N, C, L + 2 * padding))
    padded[:, :, padding:padding + L] = x
    d_padded = np.zeros_like(padded)
    grad_w = np.zeros((F, C * K))
    for i in range(dout.shape[2]):
        window = padded[:, :, i * stride:i * stride + span:dilation]
        grad_w += dout[:, :, i].T @ window.reshape(N, -1)
        d_padded[:, :, i * stride:i * stride + span:dilation] += (dout[:, :, i] @ w.reshape(F, -1)).reshape(N, C, K)
    grad_b = np.array([dout[:, f, :].sum() for f in range(F)])
    return d_padded[:, :, padding:padding + L], grad_w.reshape(F, C, K), grad_b
''',
    },
    "hw1.conv2d_forward": {
        "im2col with index arrays and one matrix product": '''
def conv2d_forward(x, w, b, stride=1, padding=0, dilation=1):
    sy, sx = as_pair(stride)
    py, px = as_pair(padding)
    ey, ex = as_pair(dilation)
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    Ho = (H + 2 * py - ey * (KH - 1) - 1) // sy + 1
    Wo = (W + 2 * px - ex * (KW - 1) - 1) // sx + 1
    xpad = np.pad(x, [(0, 0), (0, 0), (py, py), (px, px)], mode="constant")
    r = (np.arange(Ho) * sy)[:, None] + (np.arange(KH) * ey)[None, :]      # (Ho, KH)
    s = (np.arange(Wo) * sx)[:, None] + (np.arange(KW) * ex)[None, :]      # (Wo, KW)
    cols = xpad[:, :, r[:, None, :, None], s[None, :, None, :]]           # (N, C, Ho, Wo, KH, KW)
    cols = cols.transpose(0, 2, 3, 1, 4, 5).reshape(N * Ho * Wo, C * KH * KW)
    res = cols @ w.reshape(F, -1).T + b                                   # (N*Ho*Wo, F)
    return res.reshape(N, Ho, Wo, F).transpose(0, 3, 1, 2)
''',
        "plain loops over output pixels": '''
def conv2d_forward(x, w, b, stride=1, padding=0, dilation=1):
    stride, padding, dilation = as_pair(stride), as_pair(padding), as_pair(dilation)
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    ext = [dilation[0] * (KH - 1) + 1, dilation[1] * (KW - 1) + 1]
    big = np.zeros((N, C, H + 2 * padding[0], W + 2 * padding[1]))
    big[:, :, padding[0]:padding[0] + H, padding[1]:padding[1] + W] = x
    Ho = (big.shape[2] - ext[0]) // stride[0] + 1
    Wo = (big.shape[3] - ext[1]) // stride[1] + 1
    y = np.zeros((N, F, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            top, left = i * stride[0], j * stride[1]
            patch = big[:, :, top:top + ext[0]:dilation[0], left:left + ext[1]:dilation[1]]
            for f in range(F):
                y[:, f, i, j] = np.sum(patch * w[f], axis=(1, 2, 3)) + b[f]
    return y
''',
    },
    "hw1.conv2d_backward": {
        "im2col / col2im with np.add.at": '''
def conv2d_backward(dout, x, w, b, stride=1, padding=0, dilation=1):
    sy, sx = as_pair(stride)
    py, px = as_pair(padding)
    ey, ex = as_pair(dilation)
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    Ho, Wo = dout.shape[2], dout.shape[3]
    xpad = np.pad(x, [(0, 0), (0, 0), (py, py), (px, px)])
    r = ((np.arange(Ho) * sy)[:, None] + (np.arange(KH) * ey)[None, :])[:, None, :, None]
    s = ((np.arange(Wo) * sx)[:, None] + (np.arange(KW) * ex)[None, :])[None, :, None, :]
    cols = xpad[:, :, r, s].transpose(0, 2, 3, 1, 4, 5).reshape(N * Ho * Wo, -1)
    g = dout.transpose(0, 2, 3, 1).reshape(N * Ho * Wo, F)
    grad_w = (g.T @ cols).reshape(w.shape)
    grad_b = g.sum(axis=0)
    dcols = (g @ w.reshape(F, -1)).reshape(N, Ho, Wo, C, KH, KW).transpose(0, 3, 1, 2, 4, 5)
    dpad = np.zeros_like(xpad)
    rr, ss = np.broadcast_arrays(r, s)
    np.add.at(dpad, (slice(None), slice(None), rr, ss), dcols)
    return dpad[:, :, py:py + H, px:px + W], grad_w, grad_b
''',
    },
}
