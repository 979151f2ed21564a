"""Mutants (plausible mistakes) and alternative correct solutions for pooling.

Each value is code appended after the reference notebook's cells, so it replaces
the reference's definition of the same function.
"""

MUTANTS = {
    "hw1.pooling": {
        "average-pool backward does not divide by k*k": '''
def avgpool2d_backward(dout, x, k, stride):
    h_out, w_out = dout.shape[2:]
    dx = np.zeros_like(x)
    for p in range(k):
        for q in range(k):
            dx[:, :, p:p + stride * (h_out - 1) + 1:stride, q:q + stride * (w_out - 1) + 1:stride] += dout
    return dx
''',
        "max-pool backward sends the gradient to every pixel of the window": '''
def maxpool2d_backward(dout, x, k, stride):
    h_out, w_out = dout.shape[2:]
    dx = np.zeros_like(x)
    for p in range(k):
        for q in range(k):
            dx[:, :, p:p + stride * (h_out - 1) + 1:stride, q:q + stride * (w_out - 1) + 1:stride] += dout
    return dx
''',
        "max-pool backward overwrites where windows overlap": '''
def maxpool2d_backward(dout, x, k, stride):
    n, c, h_out, w_out = dout.shape
    dx = np.zeros_like(x)
    for i in range(h_out):
        for j in range(w_out):
            win = x[:, :, i * stride:i * stride + k, j * stride:j * stride + k]
            mask = win == win.max(axis=(2, 3), keepdims=True)
            dx[:, :, i * stride:i * stride + k, j * stride:j * stride + k] = mask * dout[:, :, i:i + 1, j:j + 1]
    return dx
''',
        "average-pool backward overwrites where windows overlap": '''
def avgpool2d_backward(dout, x, k, stride):
    n, c, h_out, w_out = dout.shape
    dx = np.zeros_like(x)
    for i in range(h_out):
        for j in range(w_out):
            dx[:, :, i * stride:i * stride + k, j * stride:j * stride + k] = dout[:, :, i:i + 1, j:j + 1] / (k * k)
    return dx
''',
        "output size rounded up (ceil mode) in the forward passes": '''
def _ceil_size(n, k, s):
    return -(-(n - k) // s) + 1

def maxpool2d_forward(x, k, stride):
    n, c, h, w = x.shape
    out = np.empty((n, c, _ceil_size(h, k, stride), _ceil_size(w, k, stride)))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + k, j * stride:j * stride + k].max(axis=(2, 3))
    return out

def avgpool2d_forward(x, k, stride):
    n, c, h, w = x.shape
    out = np.empty((n, c, _ceil_size(h, k, stride), _ceil_size(w, k, stride)))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + k, j * stride:j * stride + k].mean(axis=(2, 3))
    return out
''',
    },
}

ALTERNATIVES = {
    "hw1.pooling": {
        "loops over windows, arg-max by index": '''
def maxpool2d_forward(x, k, stride):
    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - k) // stride, 1 + (W - k) // stride
    res = np.zeros((N, C, Ho, Wo))
    for r in range(Ho):
        for s in range(Wo):
            res[:, :, r, s] = np.max(x[:, :, r * stride:r * stride + k, s * stride:s * stride + k], axis=(2, 3))
    return res

def maxpool2d_backward(dout, x, k, stride):
    N, C, H, W = x.shape
    grad = np.zeros((N, C, H, W))
    for n in range(N):
        for ch in range(C):
            for r in range(dout.shape[2]):
                for s in range(dout.shape[3]):
                    win = x[n, ch, r * stride:r * stride + k, s * stride:s * stride + k]
                    a, bb = np.unravel_index(np.argmax(win), win.shape)
                    grad[n, ch, r * stride + a, s * stride + bb] += dout[n, ch, r, s]
    return grad

def avgpool2d_forward(x, k, stride):
    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - k) // stride, 1 + (W - k) // stride
    res = np.zeros((N, C, Ho, Wo))
    for r in range(Ho):
        for s in range(Wo):
            res[:, :, r, s] = x[:, :, r * stride:r * stride + k, s * stride:s * stride + k].sum(axis=(2, 3)) / k ** 2
    return res

def avgpool2d_backward(dout, x, k, stride):
    grad = np.zeros(x.shape)
    for r in range(dout.shape[2]):
        for s in range(dout.shape[3]):
            grad[:, :, r * stride:r * stride + k, s * stride:s * stride + k] += dout[:, :, r:r + 1, s:s + 1] / k ** 2
    return grad
''',
    },
}

CONVENTIONS = {
    "hw1.pooling": {
        "ceil mode (a partial last window, as ceil_mode=True and Caffe)": {
            "code": '''
def _ceil_size(n, k, s):
    out = -(-(n - k) // s) + 1
    if (out - 1) * s >= n:   # the last window must start inside the input (PyTorch's rule)
        out -= 1
    return out

def _windows(x, k, stride, h_out, w_out):
    for i in range(h_out):
        for j in range(w_out):
            yield i, j, (slice(None), slice(None), slice(i * stride, i * stride + k), slice(j * stride, j * stride + k))

def maxpool2d_forward(x, k, stride):
    n, c, h, w = x.shape
    out = np.empty((n, c, _ceil_size(h, k, stride), _ceil_size(w, k, stride)))
    for i, j, win in _windows(x, k, stride, *out.shape[2:]):
        out[:, :, i, j] = x[win].max(axis=(2, 3))
    return out

def maxpool2d_backward(dout, x, k, stride):
    dx = np.zeros_like(x, dtype=float)
    for i, j, win in _windows(x, k, stride, *dout.shape[2:]):
        patch = x[win]
        dx[win] += (patch == patch.max(axis=(2, 3), keepdims=True)) * dout[:, :, i:i + 1, j:j + 1]
    return dx

def avgpool2d_forward(x, k, stride):
    n, c, h, w = x.shape
    out = np.empty((n, c, _ceil_size(h, k, stride), _ceil_size(w, k, stride)))
    for i, j, win in _windows(x, k, stride, *out.shape[2:]):
        out[:, :, i, j] = x[win].mean(axis=(2, 3))   # a partial window averages what it covers
    return out

def avgpool2d_backward(dout, x, k, stride):
    dx = np.zeros_like(x, dtype=float)
    for i, j, win in _windows(x, k, stride, *dout.shape[2:]):
        size = x[win].shape[2] * x[win].shape[3]
        dx[win] += dout[:, :, i:i + 1, j:j + 1] / size
    return dx
''',
            "part": "leftover rows (convention",
            "loses": 0.36,
            "says": "ceil_mode=True",
            "names": ("PyTorch", "ceil_mode=True"),
        },
    },
}
