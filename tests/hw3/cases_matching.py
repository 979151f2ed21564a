"""Mutants and alternative correct solutions for template matching with CNN features (003 P4).

Each cell is appended after the reference cells: a mutant redefines only what it gets wrong.
"""

MUTANTS = {
    "hw3.template_matching": {
        "cosine similarity (no mean subtraction)": '''
def feature_ncc(search_feats, template_feats):
    s, t = search_feats.double(), template_feats.double()
    c, h, w = t.shape
    num = F.conv2d(s[None], t[None])[0, 0]
    p2 = F.avg_pool2d((s ** 2)[None], (h, w), stride=1)[0].sum(0) * h * w
    den = torch.sqrt(p2 * (t ** 2).sum())
    return torch.where(den > 0, num / den.clamp(min=1e-12), torch.zeros_like(num)).float()
''',
        "one mean over all channels instead of one per channel": '''
def feature_ncc(search_feats, template_feats):
    s, t = search_feats.double(), template_feats.double()
    c, h, w = t.shape
    tc = t - t.mean()
    num = F.conv2d(s[None], tc[None])[0, 0]
    n = c * h * w
    sp = F.avg_pool2d(s[None], (h, w), stride=1)[0].sum(0) * h * w
    sp2 = F.avg_pool2d((s ** 2)[None], (h, w), stride=1)[0].sum(0) * h * w
    den = torch.sqrt((sp2 - sp ** 2 / n).clamp(min=0) * (tc ** 2).sum())
    return torch.where(den > 1e-9, num / den.clamp(min=1e-12), torch.zeros_like(num)).float()
''',
        "divided by the template's norm only": '''
def feature_ncc(search_feats, template_feats):
    s, t = search_feats.double(), template_feats.double()
    tc = t - t.mean(dim=(1, 2), keepdim=True)
    return (F.conv2d(s[None], tc[None])[0, 0] / tc.norm()).float()
''',
        "the box in feature cells (stride forgotten)": '''
def match_template_cnn(image, template, extractor, border=1):
    with torch.no_grad():
        sf, tf = extractor(image[None])[0], extractor(template[None])[0]
    tf = tf[:, border:-border, border:-border]
    score = feature_ncc(sf, tf)
    i, j = divmod(int(score.argmax()), score.shape[1])
    h, w = template.shape[1:]
    return torch.tensor([j - border, i - border, j - border + w, i - border + h], dtype=torch.float32)
''',
        "x and y swapped": '''
def match_template_cnn(image, template, extractor, border=1):
    with torch.no_grad():
        sf, tf = extractor(image[None])[0], extractor(template[None])[0]
    tf = tf[:, border:-border, border:-border]
    score = feature_ncc(sf, tf)
    i, j = divmod(int(score.argmax()), score.shape[1])
    s = extractor.stride
    h, w = template.shape[1:]
    return torch.tensor([(i - border) * s, (j - border) * s, (i - border) * s + w, (j - border) * s + h], dtype=torch.float32)
''',
        "the template's border cells kept": '''
def match_template_cnn(image, template, extractor, border=1):
    with torch.no_grad():
        sf, tf = extractor(image[None])[0], extractor(template[None])[0]
    score = feature_ncc(sf, tf)
    i, j = divmod(int(score.argmax()), score.shape[1])
    s = extractor.stride
    h, w = template.shape[1:]
    return torch.tensor([j * s, i * s, j * s + w, i * s + h], dtype=torch.float32)
''',
        "pixel matching with skimage (the extractor ignored)": '''
def match_template_cnn(image, template, extractor, border=1):
    from skimage.feature import match_template
    img = image.permute(1, 2, 0).numpy()
    tpl = template.permute(1, 2, 0).numpy()
    r = match_template(img, tpl)[..., 0]
    i, j = np.unravel_index(int(np.argmax(r)), r.shape)
    return torch.tensor([j, i, j + tpl.shape[1], i + tpl.shape[0]], dtype=torch.float32)
''',
        "stride 4 hard-coded": '''
def match_template_cnn(image, template, extractor, border=1):
    with torch.no_grad():
        sf, tf = extractor(image[None])[0], extractor(template[None])[0]
    tf = tf[:, border:-border, border:-border]
    score = feature_ncc(sf, tf)
    i, j = divmod(int(score.argmax()), score.shape[1])
    h, w = template.shape[1:]
    return torch.tensor([(j - border) * 4, (i - border) * 4, (j - border) * 4 + w, (i - border) * 4 + h], dtype=torch.float32)
''',
    },
}

ALTERNATIVES = {
    "hw3.template_matching": {
        "window sums from integral images; box as a list, clipped to the image": '''
def feature_ncc(search_feats, template_feats):
    c, h, w = template_feats.shape
    t = template_feats.double()
    t_centred = t - t.mean(dim=(1, 2), keepdim=True)
    numerator = F.conv2d(search_feats[None].float(), t_centred[None].float())[0, 0].double()

    def window_sums(x):  # (C, H, W) -> (C, H-h+1, W-w+1) sums over every h x w window
        ii = F.pad(x.cumsum(1).cumsum(2), (1, 0, 1, 0))
        return ii[:, h:, w:] - ii[:, :-h, w:] - ii[:, h:, :-w] + ii[:, :-h, :-w]

    s = search_feats.double()
    sum1, sum2 = window_sums(s), window_sums(s * s)
    patch_var = (sum2 - sum1 ** 2 / (h * w)).sum(dim=0).clamp(min=0)
    denominator = torch.sqrt(patch_var * (t_centred ** 2).sum())
    result = torch.zeros_like(numerator)
    mask = denominator > 1e-9
    result[mask] = numerator[mask] / denominator[mask]
    return result

def match_template_cnn(image, template, extractor, border=1):
    with torch.no_grad():
        feats_img = extractor(image.unsqueeze(0)).squeeze(0)
        feats_tpl = extractor(template.unsqueeze(0)).squeeze(0)
    b = border
    if b:
        feats_tpl = feats_tpl[:, b:feats_tpl.shape[1] - b, b:feats_tpl.shape[2] - b]
    score = feature_ncc(feats_img, feats_tpl)
    row = int(score.argmax()) // score.shape[1]
    col = int(score.argmax()) % score.shape[1]
    stride = extractor.stride
    x1 = (col - b) * stride
    y1 = (row - b) * stride
    H, W = image.shape[1:]
    return [max(0, x1), max(0, y1), min(W, x1 + template.shape[2]), min(H, y1 + template.shape[1])]
''',
    },
}

# Correct solutions written to another widely used convention (see tests/test_validity.py).
CONVENTIONS = {
    "hw3.template_matching": {
        "one mean over all channels, as scikit-image's match_template on a 3-D array": {
            "code": '''
def feature_ncc(search_feats, template_feats):
    # scikit-image's match_template on a 3-D array: one mean over the whole (C, h, w) template / patch
    c, h, w = template_feats.shape
    t = template_feats.double()
    t = t - t.mean()
    s = search_feats.double()
    windows = s.unfold(1, h, 1).unfold(2, w, 1)          # (C, Ho, Wo, h, w)
    windows = windows.permute(1, 2, 0, 3, 4)             # (Ho, Wo, C, h, w)
    centred = windows - windows.mean(dim=(2, 3, 4), keepdim=True)
    num = (centred * t).sum(dim=(2, 3, 4))
    den = torch.sqrt((centred ** 2).sum(dim=(2, 3, 4)) * (t ** 2).sum())
    score = torch.where(den > 1e-9, num / torch.where(den > 1e-9, den, torch.ones_like(den)), torch.zeros_like(num))
    return score.to(search_feats.dtype)
''',
            "loses": 0.4, "says": "scikit-image"},
    },
}
