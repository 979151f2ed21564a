"""Mutants and alternative correct solutions for the noisy-mask detector and the grader-trained
caries segmentation (003 P8)."""

# The reference functions, reused by the mutants so that each mutant has exactly one mistake.
_AGREE = '''
def mask_agreement(probs, masks, smooth=1.0):
    p = probs.reshape(probs.shape[0], -1).float()
    m = masks.reshape(masks.shape[0], -1).float()
    return (2 * (p * m).sum(1) + smooth) / (p.sum(1) + m.sum(1) + smooth)
'''
_FLAG = '''
def flag_noisy_masks(probs, masks, fraction=0.25, smooth=1.0):
    a = mask_agreement(probs, masks, smooth)
    k = int(round(fraction * len(a)))
    flags = torch.zeros(len(a), dtype=torch.bool)
    flags[torch.argsort(a)[:k]] = True
    return flags
'''


MUTANTS = {
    "hw4.noisy_masks": {
        "flags nothing": _AGREE + '''
def flag_noisy_masks(probs, masks, fraction=0.25, smooth=1.0):
    return torch.zeros(probs.shape[0], dtype=torch.bool)
''',
        "flags everything": _AGREE + '''
def flag_noisy_masks(probs, masks, fraction=0.25, smooth=1.0):
    return torch.ones(probs.shape[0], dtype=torch.bool)
''',
        "inverted rule: flags the best-agreeing masks": _AGREE + '''
def flag_noisy_masks(probs, masks, fraction=0.25, smooth=1.0):
    a = mask_agreement(probs, masks, smooth)
    k = int(round(fraction * len(a)))
    flags = torch.zeros(len(a), dtype=torch.bool)
    flags[torch.argsort(a, descending=True)[:k]] = True
    return flags
''',
        "a fixed threshold instead of the fraction": _AGREE + '''
def flag_noisy_masks(probs, masks, fraction=0.25, smooth=1.0):
    return mask_agreement(probs, masks, smooth) < 0.2
''',
        "agreement without the smoothing term": '''
def mask_agreement(probs, masks, smooth=1.0):
    p = probs.reshape(probs.shape[0], -1).float()
    m = masks.reshape(masks.shape[0], -1).float()
    return 2 * (p * m).sum(1) / (p.sum(1) + m.sum(1) + 1e-8)
''' + _FLAG,
        "one Dice over the whole batch (repeated per image)": '''
def mask_agreement(probs, masks, smooth=1.0):
    d = (2 * (probs * masks).sum() + smooth) / (probs.sum() + masks.sum() + smooth)
    return d.expand(probs.shape[0])
''' + _FLAG,
        "the hard prediction (probs > 0.5) instead of the probabilities": '''
def mask_agreement(probs, masks, smooth=1.0):
    p = (probs > 0.5).float().reshape(probs.shape[0], -1)
    m = masks.reshape(masks.shape[0], -1).float()
    return (2 * (p * m).sum(1) + smooth) / (p.sum(1) + m.sum(1) + smooth)
''' + _FLAG,
    },
    "hw4.caries_segmentation": {
        "plain unweighted BCE": '''
def segmentation_loss(logits, targets):
    return F.binary_cross_entropy_with_logits(logits, targets)
''',
        "the loss as a Python float (no gradient)": '''
def segmentation_loss(logits, targets):
    return F.binary_cross_entropy_with_logits(logits, targets, pos_weight=torch.tensor(10.0)).item()
''',
        "the weight on the background instead of the lesions": '''
def segmentation_loss(logits, targets):
    return -(targets * F.logsigmoid(logits) + 10.0 * (1 - targets) * F.logsigmoid(-logits)).mean()
''',
    },
}

ALTERNATIVES = {
    "hw4.noisy_masks": {
        "NumPy, explicit loop over the images, argpartition": '''
def mask_agreement(probs, masks, smooth=1.0):
    p = np.asarray(probs, dtype=np.float64)
    m = np.asarray(masks, dtype=np.float64)
    out = np.empty(len(p))
    for i in range(len(p)):
        out[i] = (2.0 * np.sum(p[i] * m[i]) + smooth) / (np.sum(p[i]) + np.sum(m[i]) + smooth)
    return out


def flag_noisy_masks(probs, masks, fraction=0.25, smooth=1.0):
    a = mask_agreement(probs, masks, smooth)
    k = int(round(fraction * len(a)))
    flags = np.zeros(len(a), dtype=bool)
    if k > 0:
        flags[np.argpartition(a, k - 1)[:k]] = True
    return flags
''',
        "torch.topk on the disagreement, sums over dims": '''
def mask_agreement(probs, masks, smooth=1.0):
    dims = tuple(range(1, probs.dim()))
    inter = (probs * masks).sum(dim=dims)
    return (2 * inter + smooth) / (probs.sum(dim=dims) + masks.sum(dim=dims) + smooth)


def flag_noisy_masks(probs, masks, fraction=0.25, smooth=1.0):
    a = mask_agreement(probs, masks, smooth)
    k = int(round(fraction * a.numel()))
    flags = torch.zeros_like(a, dtype=torch.bool)
    flags[torch.topk(1 - a, k).indices] = True
    return flags
''',
    },
    "hw4.caries_segmentation": {
        "PyTorch's weighted BCE (pos_weight 20) + soft Dice, inline": '''
def segmentation_loss(logits, targets):
    bce = F.binary_cross_entropy_with_logits(logits, targets, pos_weight=torch.tensor(20.0))
    p = torch.sigmoid(logits).flatten(1)
    t = targets.flatten(1)
    dice = (2 * (p * t).sum(1) + 1) / (p.sum(1) + t.sum(1) + 1)
    return bce + (1 - dice).mean()
''',
    },
}

# Correct solutions written to another widely used convention: each loses only its own small part.
CONVENTIONS = {
    "hw4.noisy_masks": {
        "smoothing in the denominator only (MindSpore's nn.DiceLoss)": {
            "code": '''
def mask_agreement(probs, masks, smooth=1.0):
    p = probs.reshape(probs.shape[0], -1).float()
    m = masks.reshape(masks.shape[0], -1).float()
    return 2 * (p * m).sum(1) / (p.sum(1) + m.sum(1) + smooth)
''' + _FLAG,
            "loses": 0.5, "says": "MindSpore"},
        "Co-teaching's count: keep int((1 - fraction) N), flag the rest": {
            "code": _AGREE + '''
def flag_noisy_masks(probs, masks, fraction=0.25, smooth=1.0):
    # Han et al. (2018): num_remember = int(remember_rate * len(loss_sorted))
    a = mask_agreement(probs, masks, smooth)
    order = torch.argsort(a, descending=True)
    num_remember = int((1 - fraction) * len(a))
    flags = torch.ones(len(a), dtype=torch.bool)
    flags[order[:num_remember]] = False
    return flags
''',
            "loses": 0.5, "says": "Co-teaching"},
        "the count rounded down: int(fraction N)": {
            "code": _AGREE + '''
def flag_noisy_masks(probs, masks, fraction=0.25, smooth=1.0):
    a = mask_agreement(probs, masks, smooth)
    k = int(fraction * len(a))
    return torch.isin(torch.arange(len(a)), torch.topk(a, k, largest=False).indices)
''',
            "loses": 0.5, "says": "rounds down"},
    },
}
