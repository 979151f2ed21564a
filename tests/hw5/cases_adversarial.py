"""Mutants and alternative correct solutions for the class visualization and FGSM (hw5)."""

_VIS = '''
def class_visualization(model, class_idx, steps=100, lr=0.5, l2_reg=1e-3, jitter=2, seed=0, size=(64, 64)):
    gen = torch.Generator().manual_seed(seed)
    img = torch.rand(1, 3, *size, generator=gen)
    for _ in range(steps):
        dy, dx = torch.randint(-jitter, jitter + 1, (2,), generator=gen).tolist()
        img.requires_grad_(True)
        out = model(torch.roll(img, shifts=(dy, dx), dims=(2, 3)))
        OBJECTIVE
        grad, = torch.autograd.grad(objective, img)
        with torch.no_grad():
            img = UPDATE
    return img.detach()
'''
_OBJ = "objective = out[0, class_idx] - l2_reg * (img ** 2).sum()"
_UPD = "(img + lr * grad / (grad.norm() + 1e-12)).clamp(0, 1)"


def _vis(obj=_OBJ, upd=_UPD) -> str:
    return _VIS.replace("OBJECTIVE", obj).replace("UPDATE", upd)


_FGSM = '''
def fgsm(model, x, y, eps, targeted=False):
    x_var = x.detach().clone().requires_grad_(True)
    loss = F.cross_entropy(model(x_var), y)
    grad, = torch.autograd.grad(loss, x_var)
    STEP
    return x_adv.detach()


def accuracy_vs_epsilon(model, x, y, epsilons):
    accs = []
    for eps in epsilons:
        x_adv = fgsm(model, x, y, eps)
        with torch.no_grad():
            accs.append((model(x_adv).argmax(1) == y).float().mean().item())
    return accs
'''
_STEP = "x_adv = (x_var - eps * grad.sign() if targeted else x_var + eps * grad.sign()).clamp(0, 1)"


def _fgsm(step=_STEP) -> str:
    return _FGSM.replace("STEP", step)


MUTANTS = {
    "hw5.class_visualization": {
        "gradient descent instead of ascent": _vis(upd="(img - lr * grad / (grad.norm() + 1e-12)).clamp(0, 1)"),
        "the L2 term is never applied": _vis(obj="objective = out[0, class_idx]"),
        "maximises the softmax of the wrong class (class_idx + 1)":
            _vis(obj="objective = F.softmax(out, dim=1)[0, (class_idx + 1) % out.shape[1]] - l2_reg * (img ** 2).sum()"),
        "no clamp to [0, 1]": _vis(upd="img + lr * grad / (grad.norm() + 1e-12)"),
        "calls model.eval() and leaves the model in eval mode": _vis().replace(
            "    gen = torch.Generator()", "    model.eval()\n    gen = torch.Generator()", 1),
    },
    "hw5.fgsm": {
        "no clamp to [0, 1]": _fgsm("x_adv = x_var - eps * grad.sign() if targeted else x_var + eps * grad.sign()"),
        "the gradient instead of its sign": _fgsm("x_adv = (x_var - eps * grad if targeted else x_var + eps * grad).clamp(0, 1)"),
        "targeted with the wrong sign (+ like untargeted)": _fgsm("x_adv = (x_var + eps * grad.sign()).clamp(0, 1)"),
        "eps applied to the image instead of the step: x * (1 + eps * sign(grad))":
            _fgsm("x_adv = (x_var * (1 - eps * grad.sign()) if targeted else x_var * (1 + eps * grad.sign())).clamp(0, 1)"),
        "loss.backward(): the parameters get a .grad": _fgsm(_STEP).replace(
            "    grad, = torch.autograd.grad(loss, x_var)", "    loss.backward()\n    grad = x_var.grad"),
    },
}

ALTERNATIVES = {
    "hw5.class_visualization": {
        "CS231n style: .grad, the jitter undone on the data, parameters frozen and restored": '''
def class_visualization(model, class_idx, steps=100, lr=0.5, l2_reg=1e-3, jitter=2, seed=0, size=(64, 64)):
    g = torch.Generator()
    g.manual_seed(seed)
    flags = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        img = torch.rand((1, 3) + tuple(size), generator=g).requires_grad_()
        for t in range(steps):
            ox, oy = torch.randint(-jitter, jitter + 1, (2,), generator=g)
            with torch.no_grad():
                img.data = torch.roll(img.data, shifts=(int(ox), int(oy)), dims=(2, 3))
            loss = model(img)[0, class_idx] - l2_reg * img.pow(2).sum()
            loss.backward()
            with torch.no_grad():
                step = img.grad / img.grad.norm().clamp(min=1e-12)
                img.data = img.data + lr * step
                img.grad = None
                img.data = torch.roll(img.data, shifts=(-int(ox), -int(oy)), dims=(2, 3)).clamp(0.0, 1.0)
    finally:
        for p, f in zip(model.parameters(), flags):
            p.requires_grad_(f)
    return img.detach().clone()
''',
    },
    "hw5.fgsm": {
        "x.grad from backward with frozen parameters restored, sum reduction": '''
def fgsm(model, x, y, eps, targeted=False):
    flags = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad = False
    try:
        xv = x.clone().detach()
        xv.requires_grad = True
        loss = nn.CrossEntropyLoss(reduction="sum")(model(xv), y)
        loss.backward()
        direction = -1.0 if targeted else 1.0
        out = torch.clamp(xv + direction * eps * torch.sign(xv.grad), min=0.0, max=1.0)
    finally:
        for p, f in zip(model.parameters(), flags):
            p.requires_grad = f
    return out.detach()


def accuracy_vs_epsilon(model, x, y, epsilons):
    result = []
    for e in epsilons:
        adv = x if e == 0 else fgsm(model, x, y, e)
        with torch.no_grad():
            pred = model(adv).argmax(dim=1)
        result.append(float((pred == y).sum()) / len(y))
    return result
''',
    },
}

# Correct solutions written to another widely used convention (see tests/test_validity.py).
CONVENTIONS = {
    "hw5.fgsm": {
        'the PyTorch FGSM tutorial: requires_grad on the data, loss.backward(), data.grad': {
            "code": '''
def fgsm(model, x, y, eps, targeted=False):
    # the PyTorch FGSM tutorial's steps: requires_grad on the data, backward, data.grad
    x.requires_grad = True
    loss = F.cross_entropy(model(x), y)
    model.zero_grad()
    loss.backward()
    step = eps * x.grad.data.sign()
    perturbed = x - step if targeted else x + step
    return torch.clamp(perturbed, 0, 1).detach()


def accuracy_vs_epsilon(model, x, y, epsilons):
    accs = []
    for eps in epsilons:
        adv = fgsm(model, x.clone(), y, eps)
        with torch.no_grad():
            accs.append((model(adv).argmax(1) == y).float().mean().item())
    return accs
''',
            "loses": 0.45, "says": 'FGSM tutorial'},
    },
    "hw5.class_visualization": {
        "CS231n's update step: jitter the image, score.backward(), un-jitter": {
            "code": '''
def class_visualization(model, class_idx, steps=100, lr=0.5, l2_reg=1e-3, jitter=2, seed=0, size=(64, 64)):
    # CS231n's update step: jitter the image itself, score.backward(), a normalised gradient step, un-jitter
    gen = torch.Generator().manual_seed(seed)
    img = torch.rand(1, 3, *size, generator=gen).requires_grad_()
    for _ in range(steps):
        oy, ox = torch.randint(-jitter, jitter + 1, (2,), generator=gen).tolist()
        img.data.copy_(torch.roll(img.data, shifts=(oy, ox), dims=(2, 3)))
        score = model(img)[0, class_idx] - l2_reg * torch.sum(torch.roll(img, shifts=(-oy, -ox), dims=(2, 3)) ** 2)
        score.backward()
        img.data += lr * img.grad / torch.norm(img.grad)
        img.grad.zero_()
        img.data.copy_(torch.roll(img.data, shifts=(-oy, -ox), dims=(2, 3)))
        img.data.clamp_(0, 1)
    return img.detach()
''',
            "loses": 0.5, "says": 'CS231n'},
    },
}
