"""Mutants and alternative correct solutions for the Dice coefficient, the soft Dice loss
and the weighted BCE (003 P8)."""

_COEF = '''
def dice_coefficient(pred_mask, true_mask, smooth=1.0):
    n = pred_mask.shape[0]
    p, t = pred_mask.reshape(n, -1).float(), true_mask.reshape(n, -1).float()
    return ((2 * (p * t).sum(1) + smooth) / (p.sum(1) + t.sum(1) + smooth)).mean()
'''
_SOFT = '''
def soft_dice_loss(logits, targets, smooth=1.0):
    n = logits.shape[0]
    p, t = torch.sigmoid(logits).reshape(n, -1), targets.reshape(n, -1)
    return 1 - ((2 * (p * t).sum(1) + smooth) / (p.sum(1) + t.sum(1) + smooth)).mean()
'''

MUTANTS = {
    "hw4.dice": {
        "the factor 2 forgotten": '''
def dice_coefficient(pred_mask, true_mask, smooth=1.0):
    n = pred_mask.shape[0]
    p, t = pred_mask.reshape(n, -1).float(), true_mask.reshape(n, -1).float()
    return (((p * t).sum(1) + smooth) / (p.sum(1) + t.sum(1) + smooth)).mean()

def soft_dice_loss(logits, targets, smooth=1.0):
    n = logits.shape[0]
    p, t = torch.sigmoid(logits).reshape(n, -1), targets.reshape(n, -1)
    return 1 - (((p * t).sum(1) + smooth) / (p.sum(1) + t.sum(1) + smooth)).mean()
''',
        "sigmoid missing in the soft loss": _COEF + '''
def soft_dice_loss(logits, targets, smooth=1.0):
    n = logits.shape[0]
    p, t = logits.reshape(n, -1), targets.reshape(n, -1)
    return 1 - ((2 * (p * t).sum(1) + smooth) / (p.sum(1) + t.sum(1) + smooth)).mean()
''',
        "sums over the last axis only (mean over the rows)": '''
def dice_coefficient(pred_mask, true_mask, smooth=1.0):
    p, t = pred_mask.float(), true_mask.float()
    return ((2 * (p * t).sum(-1) + smooth) / (p.sum(-1) + t.sum(-1) + smooth)).mean()
''' + _SOFT,
        "the smoothing term left out (2|P.T| / (|P| + |T|))": '''
def dice_coefficient(pred_mask, true_mask, smooth=1.0):
    n = pred_mask.shape[0]
    p, t = pred_mask.reshape(n, -1).float(), true_mask.reshape(n, -1).float()
    return (2 * (p * t).sum(1) / (p.sum(1) + t.sum(1)).clamp_min(1e-12)).mean()
''' + _SOFT,
        "soft loss returns a Python float": _COEF + '''
def soft_dice_loss(logits, targets, smooth=1.0):
    n = logits.shape[0]
    p, t = torch.sigmoid(logits).reshape(n, -1), targets.reshape(n, -1)
    return 1 - ((2 * (p * t).sum(1) + smooth) / (p.sum(1) + t.sum(1) + smooth)).mean().item()
''',
    },
    "hw4.weighted_bce": {
        "the weight on the wrong class": '''
def weighted_bce_loss(logits, targets, pos_weight):
    return -(targets * F.logsigmoid(logits) + pos_weight * (1 - targets) * F.logsigmoid(-logits)).mean()
''',
        "log(sigmoid(z)), not stable": '''
def weighted_bce_loss(logits, targets, pos_weight):
    p = torch.sigmoid(logits)
    return -(pos_weight * targets * torch.log(p) + (1 - targets) * torch.log(1 - p)).mean()
''',
        "clamped probabilities (finite but wrong for large logits)": '''
def weighted_bce_loss(logits, targets, pos_weight):
    p = torch.sigmoid(logits).clamp(1e-7, 1 - 1e-7)
    return -(pos_weight * targets * torch.log(p) + (1 - targets) * torch.log(1 - p)).mean()
''',
        "sum instead of mean": '''
def weighted_bce_loss(logits, targets, pos_weight):
    return -(pos_weight * targets * F.logsigmoid(logits) + (1 - targets) * F.logsigmoid(-logits)).sum()
''',
        "pos_weight ignored": '''
def weighted_bce_loss(logits, targets, pos_weight):
    return F.binary_cross_entropy_with_logits(logits, targets)
''',
    },
}

ALTERNATIVES = {
    "hw4.dice": {
        "flatten, explicit dims, float result": '''
def dice_coefficient(pred_mask, true_mask, smooth=1.0):
    p = torch.flatten(pred_mask.double(), start_dim=1)
    t = torch.flatten(true_mask.double(), start_dim=1)
    inter = torch.einsum("ij,ij->i", p, t)
    return float(torch.mean((2.0 * inter + smooth) / (p.sum(dim=-1) + t.sum(dim=-1) + smooth)))

def soft_dice_loss(logits, targets, smooth=1.0):
    dims = tuple(range(1, logits.dim()))
    p = logits.sigmoid()
    num = 2.0 * (p * targets).sum(dim=dims) + smooth
    den = p.sum(dim=dims) + targets.sum(dim=dims) + smooth
    return torch.mean(1.0 - num / den)
''',
    },
    "hw4.weighted_bce": {
        "the log-sum-exp form": '''
def weighted_bce_loss(logits, targets, pos_weight):
    z, t = logits, targets
    log1p_exp = torch.clamp(-z, min=0) + torch.log(torch.exp(-torch.abs(z)) + 1)   # log(1 + exp(-z))
    loss = (1 - t) * z + (1 + (pos_weight - 1) * t) * log1p_exp
    return loss.mean()
''',
    },
}

# Correct solutions written to another widely used convention: each loses only its own small part.
CONVENTIONS = {
    "hw4.dice": {
        "smoothing in the denominator only (MindSpore's nn.DiceLoss, kornia's eps)": {
            "code": '''
def dice_coefficient(pred_mask, true_mask, smooth=1.0):
    # MindSpore's DiceLoss: 2 * intersection / (unionset + smooth)
    n = pred_mask.shape[0]
    p, t = pred_mask.reshape(n, -1).float(), true_mask.reshape(n, -1).float()
    return (2 * (p * t).sum(1) / (p.sum(1) + t.sum(1) + smooth)).mean()

def soft_dice_loss(logits, targets, smooth=1.0):
    n = logits.shape[0]
    p, t = torch.sigmoid(logits).reshape(n, -1), targets.reshape(n, -1)
    return 1 - (2 * (p * t).sum(1) / (p.sum(1) + t.sum(1) + smooth)).mean()
''',
            "loses": 0.5, "says": "MindSpore"},
        "smoothing counted twice in the numerator: 2 (|P.T| + s) / (|P| + |T| + s)": {
            "code": '''
def dice_coefficient(pred_mask, true_mask, smooth=1.0):
    n = pred_mask.shape[0]
    p, t = pred_mask.reshape(n, -1).float(), true_mask.reshape(n, -1).float()
    return (2.0 * ((p * t).sum(1) + smooth) / (p.sum(1) + t.sum(1) + smooth)).mean()

def soft_dice_loss(logits, targets, smooth=1.0):
    n = logits.shape[0]
    p, t = torch.sigmoid(logits).reshape(n, -1), targets.reshape(n, -1)
    return 1 - (2.0 * ((p * t).sum(1) + smooth) / (p.sum(1) + t.sum(1) + smooth)).mean()
''',
            "loses": 0.5, "says": "counts it twice in the numerator"},
        "smoothing added to the intersection and to each sum (soft loss only)": {
            "code": _COEF + '''
def soft_dice_loss(logits, targets, smooth=1.0):
    n = logits.shape[0]
    p, t = torch.sigmoid(logits).reshape(n, -1), targets.reshape(n, -1)
    inter = (p * t).sum(1) + smooth
    return 1 - (2 * inter / ((p.sum(1) + smooth) + (t.sum(1) + smooth))).mean()
''',
            "loses": 0.5, "says": "once to the numerator and once to the denominator"},
        "one Dice over the whole batch (segmentation_models_pytorch's binary DiceLoss)": {
            "code": '''
def dice_coefficient(pred_mask, true_mask, smooth=1.0):
    # the sums run over the batch and the pixels: dims=(0, 2) of a (N, 1, H*W) view
    n = pred_mask.shape[0]
    p, t = pred_mask.float().view(n, 1, -1), true_mask.float().view(n, 1, -1)
    return ((2 * (p * t).sum(dim=(0, 2)) + smooth) / ((p + t).sum(dim=(0, 2)) + smooth)).mean()

def soft_dice_loss(logits, targets, smooth=1.0):
    n = logits.shape[0]
    p, t = torch.sigmoid(logits).view(n, 1, -1), targets.view(n, 1, -1)
    return 1 - ((2 * (p * t).sum(dim=(0, 2)) + smooth) / ((p + t).sum(dim=(0, 2)) + smooth)).mean()
''',
            "loses": 0.5, "says": "segmentation_models_pytorch"},
    },
    "hw4.weighted_bce": {
        "a per-pixel weight map instead of pos_weight": {
            "code": '''
def weighted_bce_loss(logits, targets, pos_weight):
    # every pixel's whole loss weighted: pos_weight on the lesions, 1 elsewhere
    weight = 1 + (pos_weight - 1) * targets
    return F.binary_cross_entropy_with_logits(logits, targets, weight=weight)
''',
            "loses": 0.5, "says": "per-pixel weight map"},
    },
}
