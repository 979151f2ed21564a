"""Mutants and alternative correct solutions for CAM, Grad-CAM and the Shapley CAM (hw5)."""

# ---------------------------------------------------------------------------- CAM

_CAM_HEAD = '''
def class_activation_map(feature_maps, fc_weight, class_idx, size=None, normalize=True):
    single = feature_maps.dim() == 3
    a = feature_maps.detach()[None] if single else feature_maps.detach()
    n = a.shape[0]
    idx = torch.as_tensor(class_idx, dtype=torch.long).reshape(-1).expand(n)
'''
_CAM_TAIL = '''
    if size is not None:
        cam = F.interpolate(cam[:, None], size=tuple(size), mode="bilinear", align_corners=False)[:, 0]
    if normalize:
        lo = cam.amin(dim=(1, 2), keepdim=True)
        span = cam.amax(dim=(1, 2), keepdim=True) - lo
        cam = torch.where(span > 0, (cam - lo) / span.clamp(min=1e-30), torch.zeros_like(cam))
    return cam[0] if single else cam
'''
_CAM_SUM = '''
    cam = torch.einsum("nc,nchw->nhw", fc_weight.detach()[idx], a)
'''


def _cam(middle: str, tail: str = _CAM_TAIL) -> str:
    return _CAM_HEAD + middle + tail


MUTANTS = {
    "hw5.cam": {
        "ReLU before normalising": _cam('''
    cam = torch.relu(torch.einsum("nc,nchw->nhw", fc_weight.detach()[idx], a))
'''),
        "divides by the maximum only (no min subtraction)": _cam(_CAM_SUM, '''
    if size is not None:
        cam = F.interpolate(cam[:, None], size=tuple(size), mode="bilinear", align_corners=False)[:, 0]
    if normalize:
        cam = cam / cam.amax(dim=(1, 2), keepdim=True).abs().clamp(min=1e-30)
    return cam[0] if single else cam
'''),
        "channels summed without the class weights": _cam('''
    cam = a.sum(dim=1) + 0 * fc_weight.detach()[idx].sum()
'''),
        "the first image's class for the whole batch": _cam('''
    idx = idx[:1].expand(n)
    cam = torch.einsum("nc,nchw->nhw", fc_weight.detach()[idx], a)
'''),
        "a constant added to every map (like the head's bias)": _cam('''
    cam = torch.einsum("nc,nchw->nhw", fc_weight.detach()[idx], a) + fc_weight.detach()[idx].sum(dim=1)[:, None, None]
''', '''
    if size is not None:
        cam = F.interpolate(cam[:, None], size=tuple(size), mode="bilinear", align_corners=False)[:, 0]
    if normalize:
        lo = cam.amin(dim=(1, 2), keepdim=True)
        span = cam.amax(dim=(1, 2), keepdim=True) - lo
        cam = torch.where(span > 0, (cam - lo) / span.clamp(min=1e-30), torch.zeros_like(cam))
    return cam[0] if single else cam
'''),
    },
}

ALTERNATIVES = {
    "hw5.cam": {
        "a loop over the images and channels, NumPy normalisation": '''
def class_activation_map(feature_maps, fc_weight, class_idx, size=None, normalize=True):
    fm = feature_maps.detach().double()
    batch = fm.dim() == 4
    if not batch:
        fm = fm.unsqueeze(0)
    if isinstance(class_idx, int):
        classes = [class_idx] * fm.shape[0]
    else:
        classes = [int(c) for c in class_idx]
    maps = []
    for i in range(fm.shape[0]):
        m = torch.zeros(fm.shape[2:], dtype=torch.float64)
        for c in range(fm.shape[1]):
            m = m + float(fc_weight[classes[i], c]) * fm[i, c]
        if size is not None:
            m = torch.nn.functional.interpolate(m[None, None], size=size, mode="bilinear", align_corners=False)[0, 0]
        if normalize:
            arr = m.numpy()
            rng = arr.max() - arr.min()
            m = torch.from_numpy((arr - arr.min()) / rng if rng > 0 else np.zeros_like(arr))
        maps.append(m.float())
    out = torch.stack(maps)
    return out if batch else out[0]
''',
    },
}

# ---------------------------------------------------------------------------- Grad-CAM

_GC = '''
def grad_cam(model, layer, x, class_idx):
    store = {}
    handle = layer.register_forward_hook(lambda m, i, o: store.__setitem__("A", o))
    try:
        logits = model(x.detach().clone().requires_grad_(True))
    finally:
        handle.remove()
    n = x.shape[0]
    idx = torch.as_tensor(class_idx, dtype=torch.long).reshape(-1).expand(n)
    SCORE
    grads, = torch.autograd.grad(score, store["A"])
    A = store["A"].detach()
    MAP
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    NORM
    return cam.detach()
'''
_SCORE = 'score = logits[torch.arange(n), idx].sum()'
_MAP = 'cam = F.relu((grads.mean(dim=(2, 3), keepdim=True) * A).sum(dim=1, keepdim=True))'
_NORM = '''top = cam.amax(dim=(1, 2), keepdim=True)
    cam = torch.where(top > 0, cam / top.clamp(min=1e-30), torch.zeros_like(cam))'''


def _gc(score=_SCORE, map_=_MAP, norm=_NORM) -> str:
    return _GC.replace("SCORE", score).replace("MAP", map_).replace("NORM", norm)


MUTANTS["hw5.grad_cam"] = {
    "gradient of the softmax probability instead of the logit":
        _gc(score='score = F.softmax(logits, dim=1)[torch.arange(n), idx].sum()'),
    "no ReLU (min-max normalised instead)":
        _gc(map_='cam = (grads.mean(dim=(2, 3), keepdim=True) * A).sum(dim=1, keepdim=True)',
            norm='''cam = cam - cam.amin(dim=(1, 2), keepdim=True)
    cam = cam / cam.amax(dim=(1, 2), keepdim=True).clamp(min=1e-30)'''),
    "gradient times activation pixel by pixel (not averaged)":
        _gc(map_='cam = F.relu((grads * A).sum(dim=1, keepdim=True))'),
    "always the last conv layer (the wrong layer)": '''
def grad_cam(model, layer, x, class_idx):
    layer = [m for m in model.modules() if isinstance(m, nn.Conv2d)][-1]
''' + _gc().split("def grad_cam(model, layer, x, class_idx):\n", 1)[1],
    "hooks left behind": _gc().replace("        handle.remove()", "        pass"),
    "switches the model to eval mode and leaves it there": _gc().replace(
        "    store = {}\n", "    store = {}\n    model.eval()\n", 1),
}

ALTERNATIVES["hw5.grad_cam"] = {
    "one image at a time, a tensor hook for the gradient, backward + zero_grad, mode restored": '''
def grad_cam(model, layer, x, class_idx):
    was_training = model.training
    saved = {}

    def fwd(module, inputs, output):
        saved["act"] = output
        output.register_hook(lambda g: saved.__setitem__("grad", g))

    classes = [int(class_idx)] * x.shape[0] if isinstance(class_idx, int) else [int(c) for c in class_idx]
    maps = []
    h = layer.register_forward_hook(fwd)
    try:
        for i in range(x.shape[0]):
            xi = x[i:i + 1].detach().clone().requires_grad_(True)
            out = model(xi)
            out[0, classes[i]].backward()
            act, grad = saved["act"].detach()[0], saved["grad"].detach()[0]
            weights = grad.mean(dim=(1, 2))
            m = torch.clamp((weights[:, None, None] * act).sum(0), min=0)
            m = torch.nn.functional.interpolate(m[None, None], size=tuple(x.shape[-2:]), mode="bilinear",
                                                align_corners=False)[0, 0]
            maps.append(m / m.max() if m.max() > 0 else torch.zeros_like(m))
    finally:
        h.remove()
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    return torch.stack(maps)
''',
}

# ---------------------------------------------------------------------------- Shapley CAM

_SH = '''
def shapley_cam(model, layer, x, class_idx, n_permutations=64, seed=0):
    state = {"mask": None}

    def hook(module, inputs, output):
        if state["mask"] is None:
            state["A"] = output.detach()
            return None
        return output * state["mask"]

    def v(members, C):
        mask = torch.zeros(1, C, 1, 1)
        mask[0, list(members)] = 1.0
        state["mask"] = mask
        out = model(x)[0, class_idx].item()
        state["mask"] = None
        return out

    handle = layer.register_forward_hook(hook)
    try:
        with torch.no_grad():
            model(x)
            C = state["A"].shape[1]
            PHI
    finally:
        handle.remove()
    phi_t = torch.tensor(phi, dtype=torch.float32)
    cam = F.relu((phi_t[None, :, None, None] * state["A"]).sum(1, keepdim=True))
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    cam = cam / cam.max() if cam.max() > 0 else torch.zeros_like(cam)
    return cam, phi_t
'''


def _sh(phi: str) -> str:
    return _SH.replace("PHI", phi.strip("\n").replace("\n", "\n            "))


_PERM_MC = '''
rng = np.random.default_rng(seed)
phi = np.zeros(C)
for _ in range(n_permutations):
    order = rng.permutation(C)
    before = v([], C)
    for j, c in enumerate(order):
        after = v(order[:j + 1], C)
        phi[c] += after - before
        before = after
phi = phi / n_permutations
'''

MUTANTS["hw5.shapley_cam"] = {
    "leave-one-out instead of Shapley": _sh('''
full = v(range(C), C)
phi = np.array([full - v([d for d in range(C) if d != c], C) for c in range(C)])
'''),
    "no baseline subtraction (v(S + c) instead of v(S + c) - v(S))": _sh('''
rng = np.random.default_rng(seed)
phi = np.zeros(C)
for _ in range(n_permutations):
    order = rng.permutation(C)
    for j, c in enumerate(order):
        phi[c] += v(order[:j + 1], C)
phi = phi / n_permutations
'''),
    "contributions summed over the permutations, not averaged": _sh(_PERM_MC.replace("phi = phi / n_permutations", "")),
    "only one permutation, whatever n_permutations": _sh(_PERM_MC.replace("for _ in range(n_permutations)", "for _ in range(1)")
                                                         .replace("phi = phi / n_permutations", "")),
}

ALTERNATIVES["hw5.shapley_cam"] = {
    "one forward pass per coalition, NumPy permutations, a mask hook": _sh(_PERM_MC),
}

# Correct solutions written to another widely used convention (see tests/test_validity.py).
CONVENTIONS = {
    "hw5.cam": {
        "the CAM authors' code: min-max at the feature maps' size, then the resize": {
            "code": '''
def class_activation_map(feature_maps, fc_weight, class_idx, size=None, normalize=True):
    # the CAM authors' returnCAM: weighted sum, min-max scaling at the feature maps' resolution,
    # and only then the resize to the image (bilinear, half-pixel centres like cv2.resize)
    single = feature_maps.dim() == 3
    a = feature_maps.unsqueeze(0) if single else feature_maps
    n = a.shape[0]
    k = torch.as_tensor(class_idx, dtype=torch.long).reshape(-1).expand(n)
    cams = []
    for i in range(n):
        cam = (fc_weight[k[i]].view(-1, 1, 1) * a[i]).sum(dim=0)
        if normalize:
            cam = cam - cam.min()
            top = cam.max()
            cam = cam / top if top > 0 else torch.zeros_like(cam)
        if size is not None:
            cam = F.interpolate(cam[None, None], size=tuple(size), mode="bilinear", align_corners=False)[0, 0]
        cams.append(cam)
    out = torch.stack(cams)
    return out[0] if single else out
''',
            "loses": 0.25, "says": 'CAM authors'},
    },
    "hw5.grad_cam": {
        "pytorch-grad-cam's scaling: min-max before the resize": {
            "code": '''
def grad_cam(model, layer, x, class_idx):
    # pytorch-grad-cam's scaling: ReLU, min-max at the layer's resolution, then the resize
    store = {}
    handle = layer.register_forward_hook(lambda m, i, o: store.__setitem__("A", o))
    try:
        with torch.enable_grad():
            logits = model(x.detach().clone().requires_grad_(True))
    finally:
        handle.remove()
    n = x.shape[0]
    idx = torch.as_tensor(class_idx, dtype=torch.long).reshape(-1).expand(n)
    grads, = torch.autograd.grad(logits[torch.arange(n), idx].sum(), store["A"])
    with torch.no_grad():
        weights = grads.mean(dim=(2, 3), keepdim=True)
        cam = torch.relu((weights * store["A"]).sum(dim=1, keepdim=True))
        lo = cam.amin(dim=(2, 3), keepdim=True)
        span = cam.amax(dim=(2, 3), keepdim=True) - lo
        cam = torch.where(span > 0, (cam - lo) / torch.where(span > 0, span, torch.ones_like(span)), torch.zeros_like(cam))
        cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    return cam
''',
            "loses": 0.25, "says": 'pytorch-grad-cam'},
        "pytorch-grad-cam's gradients: hooks and loss.backward() (leaves .grad on the parameters)": {
            "code": '''
def grad_cam(model, layer, x, class_idx):
    # the pytorch-grad-cam way: hooks keep the activations and their gradients, loss.backward()
    acts, grads = [], []
    h1 = layer.register_forward_hook(lambda m, i, o: acts.append(o))
    h2 = layer.register_full_backward_hook(lambda m, gi, go: grads.append(go[0]))
    try:
        inp = x.detach().clone().requires_grad_(True)
        out = model(inp)
        n = x.shape[0]
        idx = torch.as_tensor(class_idx).reshape(-1).expand(n)
        model.zero_grad()
        out[torch.arange(n), idx].sum().backward()
    finally:
        h1.remove()
        h2.remove()
    a, g = acts[0].detach(), grads[0].detach()
    cam = F.relu((g.mean(dim=(2, 3), keepdim=True) * a).sum(dim=1, keepdim=True))
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    top = cam.amax(dim=(1, 2), keepdim=True)
    return torch.where(top > 0, cam / top.clamp(min=1e-30), torch.zeros_like(cam))
''',
            "loses": 0.45, "says": 'pytorch-grad-cam'},
    },
}
