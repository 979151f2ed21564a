"""Mutants and alternative correct solutions for the center loss and its center update (000 T6)."""

# The reference update, reused by the mutants of the loss (and vice versa), so that each
# mutant has exactly one mistake.
_UPDATE = '''
def update_centers(features, labels, centers, alpha):
    with torch.no_grad():
        x = features.detach().to(centers.dtype)
        counts = torch.bincount(labels, minlength=centers.shape[0]).to(centers.dtype)
        sums = torch.zeros_like(centers).index_add_(0, labels, x)
        return centers - alpha * (counts[:, None] * centers - sums) / (1.0 + counts[:, None])
'''
_LOSS = '''
def center_loss(features, labels, centers):
    return 0.5 * ((features - centers.detach()[labels]) ** 2).sum()
'''

MUTANTS = {
    "hw2.center_loss": {
        "mean over the batch instead of the paper's sum": '''
def center_loss(features, labels, centers):
    return 0.5 * ((features - centers.detach()[labels]) ** 2).sum(dim=1).mean()
''' + _UPDATE,
        "no 1/2": '''
def center_loss(features, labels, centers):
    return ((features - centers.detach()[labels]) ** 2).sum()
''' + _UPDATE,
        "F.mse_loss (a mean over every entry)": '''
def center_loss(features, labels, centers):
    return 0.5 * F.mse_loss(features, centers.detach()[labels])
''' + _UPDATE,
        "distances instead of squared distances": '''
def center_loss(features, labels, centers):
    return 0.5 * (features - centers.detach()[labels]).norm(dim=1).sum()
''' + _UPDATE,
        "the nearest center instead of the labelled one": '''
def center_loss(features, labels, centers):
    c = centers.detach()
    nearest = torch.cdist(features.detach(), c).argmin(dim=1)
    return 0.5 * ((features - c[nearest]) ** 2).sum()
''' + _UPDATE,
        "gradient flows into the centers (no detach)": '''
def center_loss(features, labels, centers):
    return 0.5 * ((features - centers[labels]) ** 2).sum()
''' + _UPDATE,
        "returns a Python float": '''
def center_loss(features, labels, centers):
    return 0.5 * ((features - centers.detach()[labels]) ** 2).sum().item()
''' + _UPDATE,
        "update: no +1 in the denominator (clamped to avoid 0/0)": _LOSS + '''
def update_centers(features, labels, centers, alpha):
    with torch.no_grad():
        x = features.detach()
        counts = torch.bincount(labels, minlength=centers.shape[0]).to(centers.dtype)
        sums = torch.zeros_like(centers).index_add_(0, labels, x)
        return centers - alpha * (counts[:, None] * centers - sums) / counts[:, None].clamp(min=1)
''',
        "update: c_j - sum_x / (1 + n) (forgets n_j * c_j, moves absent classes)": _LOSS + '''
def update_centers(features, labels, centers, alpha):
    with torch.no_grad():
        x = features.detach()
        counts = torch.bincount(labels, minlength=centers.shape[0]).to(centers.dtype)
        sums = torch.zeros_like(centers).index_add_(0, labels, x)
        return centers - alpha * (centers - sums / (1.0 + counts[:, None]))
''',
        "update: sign flipped": _LOSS + '''
def update_centers(features, labels, centers, alpha):
    with torch.no_grad():
        x = features.detach()
        counts = torch.bincount(labels, minlength=centers.shape[0]).to(centers.dtype)
        sums = torch.zeros_like(centers).index_add_(0, labels, x)
        return centers + alpha * (counts[:, None] * centers - sums) / (1.0 + counts[:, None])
''',
        "update: plain gradient step on L_C (no division)": _LOSS + '''
def update_centers(features, labels, centers, alpha):
    with torch.no_grad():
        x = features.detach()
        counts = torch.bincount(labels, minlength=centers.shape[0]).to(centers.dtype)
        sums = torch.zeros_like(centers).index_add_(0, labels, x)
        return centers - alpha * (counts[:, None] * centers - sums)
''',
        "update: moving average towards the batch mean, absent classes too": _LOSS + '''
def update_centers(features, labels, centers, alpha):
    with torch.no_grad():
        x = features.detach()
        new = centers.clone()
        for j in range(centers.shape[0]):
            mine = x[labels == j]
            target = mine.mean(0) if len(mine) else x.mean(0)
            new[j] = (1 - alpha) * centers[j] + alpha * target
        return new
''',
        "update: changes the given centers in place": _LOSS + '''
def update_centers(features, labels, centers, alpha):
    with torch.no_grad():
        x = features.detach()
        counts = torch.bincount(labels, minlength=centers.shape[0]).to(centers.dtype)
        sums = torch.zeros_like(centers).index_add_(0, labels, x)
        centers -= alpha * (counts[:, None] * centers - sums) / (1.0 + counts[:, None])
        return centers
''',
        "update: keeps the autograd graph of the features": _LOSS + '''
def update_centers(features, labels, centers, alpha):
    counts = torch.bincount(labels, minlength=centers.shape[0]).to(centers.dtype)
    sums = torch.zeros_like(centers).index_add(0, labels, features)
    return centers - alpha * (counts[:, None] * centers - sums) / (1.0 + counts[:, None])
''',
    },
}

ALTERNATIVES = {
    "hw2.center_loss": {
        "loops over the samples and over the classes": '''
def center_loss(features, labels, centers):
    total = features.new_zeros(())
    for i in range(features.shape[0]):
        d = features[i] - centers[int(labels[i])].detach()
        total = total + 0.5 * torch.dot(d, d)
    return total

def update_centers(features, labels, centers, alpha):
    new = centers.detach().clone()
    x = features.detach()
    for j in range(centers.shape[0]):
        mask = labels == j
        n = int(mask.sum())
        if n == 0:
            continue
        delta = (n * centers[j].detach() - x[mask].sum(dim=0)) / (1 + n)
        new[j] = centers[j].detach() - alpha * delta
    return new
''',
        "gather for the loss, one-hot matmul for the update, float64 inside": '''
def center_loss(features, labels, centers):
    idx = labels.view(-1, 1).expand(-1, features.shape[1])
    c = torch.gather(centers.detach(), 0, idx)
    return (features - c).pow(2).sum() / 2

def update_centers(features, labels, centers, alpha):
    with torch.no_grad():
        onehot = F.one_hot(labels, centers.shape[0]).double()        # (N, K)
        x = features.double()
        c = centers.double()
        n = onehot.sum(0)                                              # (K,)
        diff = n[:, None] * c - onehot.T @ x                           # sum_i [y_i=j] (c_j - x_i)
        return (c - alpha * diff / (1 + n[:, None])).to(centers.dtype)
''',
        "scatter_add_ and torch.where, float32": '''
def center_loss(features, labels, centers):
    return 0.5 * torch.sum(torch.square(features - torch.index_select(centers.detach(), 0, labels)))

def update_centers(features, labels, centers, alpha):
    K, D = centers.shape
    x = features.detach()
    sums = torch.zeros(K, D, dtype=x.dtype).scatter_add_(0, labels[:, None].expand(-1, D), x)
    n = torch.zeros(K, dtype=x.dtype).scatter_add_(0, labels, torch.ones_like(labels, dtype=x.dtype))
    moved = centers.detach() - alpha * (n[:, None] * centers.detach() - sums) / (1 + n[:, None])
    return torch.where(n[:, None] > 0, moved, centers.detach())
''',
    },
}

# Correct solutions written to another widely used convention (see tests/test_validity.py).
CONVENTIONS = {
    "hw2.center_loss": {
        'pytorch-center-loss: the mean of the squared distances over the batch': {
            "code": '''
def center_loss(features, labels, centers):
    # pytorch-center-loss (KaiyangZhou): squared distances to the own center, summed, / batch size
    batch = features.shape[0]
    dist = (features - centers.detach()[labels]).pow(2).sum(dim=1)
    return dist.clamp(min=1e-12, max=1e12).sum() / batch
''',
            "loses": 0.4, "says": 'pytorch-center-loss'},
    },
}
