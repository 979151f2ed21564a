"""Mutants and alternative correct solutions for the TinyYOLOv2 items (network, weights
loader, decoding, drawing)."""

# ----------------------------------------------------------------------------- hw3.tiny_yolo

# A reference-like network with placeholders a mutant changes.
_NET = '''
class TinyYOLOv2(nn.Module):
    def __init__(self, num_classes=20, num_anchors=5):
        super().__init__()
        layers = []
        cin = 3
        for i, cout in enumerate((16, 32, 64, 128, 256, 512, 1024, 1024)):
            layers += [nn.Conv2d(cin, cout, 3, padding=1, bias=BIAS), nn.BatchNorm2d(cout), ACT]
            if i < 5:
                layers.append(nn.MaxPool2d(2, 2))
            elif i == 5:
                layers += LAST_POOL
            cin = cout
        layers.append(nn.Conv2d(cin, OUT, 1))
        layers += TAIL
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)
'''


def _net(BIAS="False", ACT="nn.LeakyReLU(0.1)", LAST_POOL="[nn.ReplicationPad2d((0, 1, 0, 1)), nn.MaxPool2d(2, 1)]",
         OUT="num_anchors * (5 + num_classes)", TAIL="[]"):
    src = _NET
    for k, v in dict(BIAS=BIAS, ACT=ACT, LAST_POOL=LAST_POOL, OUT=OUT, TAIL=TAIL).items():
        src = src.replace(k, v)
    return src


_NET_SPLIT = '''
class TinyYOLOv2(nn.Module):
    """Right wiring, but all convs are registered before all BatchNorms."""
    def __init__(self, num_classes=20, num_anchors=5):
        super().__init__()
        widths = (16, 32, 64, 128, 256, 512, 1024, 1024)
        ins = (3,) + widths[:-1]
        self.convs = nn.ModuleList(nn.Conv2d(i, o, 3, padding=1, bias=False) for i, o in zip(ins, widths))
        self.bns = nn.ModuleList(nn.BatchNorm2d(o) for o in widths)
        self.head = nn.Conv2d(1024, num_anchors * (5 + num_classes), 1)

    def forward(self, x):
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            x = F.leaky_relu(bn(conv(x)), 0.1)
            if i < 5:
                x = F.max_pool2d(x, 2, 2)
            elif i == 5:
                x = F.max_pool2d(F.pad(x, (0, 1, 0, 1), mode="replicate"), 2, 1)
        return self.head(x)
'''

# ----------------------------------------------------------------------------- hw3.darknet_weights

_LOADER = '''
def load_darknet_weights(model, path):
    data = Path(path).read_bytes()
    major, minor, revision = (int(v) for v in np.frombuffer(data, dtype="<i4", count=3))
    if SEEN64:
        seen, start = int(np.frombuffer(data, dtype="<i8", count=1, offset=12)[0]), 20
    else:
        seen, start = int(np.frombuffer(data, dtype="<i4", count=1, offset=12)[0]), 16
    values = np.frombuffer(data[start:len(data) - (len(data) - start) % 4], dtype="<f4")
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
    pos = 0

    def take(tensor, transposed=False):
        nonlocal pos
        n = tensor.numel()
        if pos + n > values.size:
            raise ValueError("file too short")
        chunk = torch.from_numpy(values[pos:pos + n].copy())
        if transposed:
            chunk = chunk.view(tensor.shape[1], tensor.shape[0], *tensor.shape[2:]).transpose(0, 1)
        tensor.copy_(chunk.reshape(tensor.shape))
        pos += n

    with torch.no_grad():
        for i, layer in enumerate(layers):
            if not isinstance(layer, nn.Conv2d):
                continue
            bn = layers[i + 1] if i + 1 < len(layers) and isinstance(layers[i + 1], nn.BatchNorm2d) else None
            WEIGHT_FIRST
            if bn is not None:
                for t in BN_ORDER:
                    take(t)
            else:
                take(layer.bias)
            WEIGHT_LAST
    LEFTOVER
    return major, minor, revision, seen
'''


def _loader(SEEN64="major * 10 + minor >= 2", BN_ORDER="(bn.bias, bn.weight, bn.running_mean, bn.running_var)",
            WEIGHT_FIRST="pass", WEIGHT_LAST="take(layer.weight)",
            LEFTOVER='if pos != values.size or (len(data) - start) % 4:\n        raise ValueError("values left over")'):
    src = _LOADER
    for k, v in dict(SEEN64=SEEN64, BN_ORDER=BN_ORDER, WEIGHT_FIRST=WEIGHT_FIRST, WEIGHT_LAST=WEIGHT_LAST,
                     LEFTOVER=LEFTOVER).items():
        src = src.replace(k, v)
    return src


# ----------------------------------------------------------------------------- hw3.decode

_DECODE = '''
def decode_predictions(output, anchors, num_classes):
    n, _, sh, sw = output.shape
    a = len(anchors)
    p = output.view(n, a, 5 + num_classes, sh, sw).permute(0, 1, 3, 4, 2)
    anc = torch.as_tensor(anchors, dtype=output.dtype)
    cols = torch.arange(sw, dtype=output.dtype).view(1, 1, 1, sw)
    rows = torch.arange(sh, dtype=output.dtype).view(1, 1, sh, 1)
    cx = (COLS + SIG(p[..., 0])) / sw
    cy = (ROWS + SIG(p[..., 1])) / sh
    w = anc[:, AW].view(1, a, 1, 1) * torch.exp(p[..., 2]) / sw
    h = anc[:, AH].view(1, a, 1, 1) * torch.exp(p[..., 3]) / sh
    boxes = torch.stack([cx, cy, w, h], dim=-1)
    objectness = torch.sigmoid(p[..., 4])
    class_probs = SOFTMAX
    FLATTEN
    return boxes.reshape(n, -1, 4), objectness.reshape(n, -1), class_probs.reshape(n, -1, num_classes)
'''
_CONVERT = '''
def xywh_to_xyxy(boxes):
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)


def xyxy_to_xywh(boxes):
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], dim=-1)
'''


def _decode(COLS="cols", ROWS="rows", SIG="torch.sigmoid", AW="0", AH="1",
            SOFTMAX="torch.softmax(p[..., 5:], dim=-1)", FLATTEN="pass"):
    src = _DECODE
    for k, v in dict(COLS=COLS, ROWS=ROWS, SIG=SIG, AW=AW, AH=AH, SOFTMAX=SOFTMAX, FLATTEN=FLATTEN).items():
        src = src.replace(k, v)
    return src + _CONVERT


# ----------------------------------------------------------------------------- hw3.draw_boxes

_DRAW = '''
def draw_boxes(image, boxes, labels, scores, class_names):
    out = COPY
    h, w = out.shape[:2]
    for (x1, y1, x2, y2), label in zip(np.asarray(boxes, dtype=float).reshape(-1, 4), np.asarray(labels).reshape(-1)):
        color = BOX_COLORS[int(label) % len(BOX_COLORS)]
        x1, y1, x2, y2 = (int(round(v)) for v in (x1, y1, x2, y2))
        CLIP
        DRAW
    return out
'''
_CLIP = '''if x2 < 0 or y2 < 0 or x1 > w - 1 or y1 > h - 1:
            continue
        x1, x2 = max(x1, 0), min(x2, w - 1)
        y1, y2 = max(y1, 0), min(y2, h - 1)'''
_OUTLINE = '''out[y1, x1:x2 + 1] = color
        out[y2, x1:x2 + 1] = color
        out[y1:y2 + 1, x1] = color
        out[y1:y2 + 1, x2] = color'''


def _draw(COPY="image.copy()", CLIP=_CLIP, DRAW=_OUTLINE):
    return _DRAW.replace("COPY", COPY).replace("CLIP", CLIP).replace("DRAW", DRAW)


MUTANTS = {
    "hw3.tiny_yolo": {
        "a bias in the convs before BatchNorm": _net(BIAS="True"),
        "the sixth max-pool with stride 2": _net(LAST_POOL="[nn.MaxPool2d(2, 2)]"),
        "LeakyReLU with PyTorch's default slope 0.01": _net(ACT="nn.LeakyReLU()"),
        "125 output channels hard-coded": _net(OUT="125"),
        "zero padding before the stride-1 max-pool": _net(LAST_POOL="[nn.ZeroPad2d((0, 1, 0, 1)), nn.MaxPool2d(2, 1)]"),
        "a LeakyReLU after the last 1x1 conv": _net(TAIL="[nn.LeakyReLU(0.1)]"),
        "all convs registered before all BatchNorms (not darknet's order)": _NET_SPLIT,
    },
    "hw3.darknet_weights": {
        "seen always read as int32": _loader(SEEN64="False"),
        "seen as int64 only when minor >= 2 (ignores the major version)": _loader(SEEN64="minor >= 2"),
        "BatchNorm gamma read before beta": _loader(BN_ORDER="(bn.weight, bn.bias, bn.running_mean, bn.running_var)"),
        "BatchNorm running variance read before the mean":
            _loader(BN_ORDER="(bn.bias, bn.weight, bn.running_var, bn.running_mean)"),
        "conv weight read before the BatchNorm terms": _loader(WEIGHT_FIRST="take(layer.weight)", WEIGHT_LAST="pass"),
        "conv weight read as (in, out, kh, kw)": _loader(WEIGHT_LAST="take(layer.weight, transposed=True)"),
        "values left over are silently ignored": _loader(LEFTOVER="pass"),
    },
    "hw3.decode": {
        "softmax over the anchors instead of the classes": _decode(
            SOFTMAX="torch.softmax(p[..., 5:], dim=1)"),
        "no sigmoid on tx, ty": _decode(SIG=""),
        "the anchors' width and height swapped": _decode(AW="1", AH="0"),
        "rows and columns swapped in the cell offsets": _decode(
            COLS="torch.arange(sh, dtype=output.dtype).view(1, 1, 1, sh)",
            ROWS="torch.arange(sw, dtype=output.dtype).view(1, 1, sw, 1)"),
        "the cell offsets not added": _decode(COLS="0", ROWS="0"),
        "boxes flattened in (row, column, anchor) order": _decode(
            FLATTEN="boxes, objectness, class_probs = boxes.transpose(1, 2).transpose(2, 3), "
                    "objectness.permute(0, 2, 3, 1), class_probs.transpose(1, 2).transpose(2, 3)"),
        "boxes in grid cells, not fractions of the image": _decode().replace(
            "boxes = torch.stack([cx, cy, w, h], dim=-1)",
            "boxes = torch.stack([cx * sw, cy * sh, w * sw, h * sh], dim=-1)"),
        "xywh_to_xyxy subtracts the whole width and height": _decode() + '''
def xywh_to_xyxy(boxes):
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack([cx - w, cy - h, cx + w, cy + h], dim=-1)
''',
    },
    "hw3.draw_boxes": {
        "filled rectangles": _draw(DRAW="out[y1:y2 + 1, x1:x2 + 1] = color"),
        "draws on the given image (no copy)": _draw(COPY="image"),
        "no clipping (out-of-image boxes raise IndexError)": _draw(CLIP="pass"),
        "x and y swapped": _draw(DRAW=_OUTLINE.replace("out[y1, x1:x2 + 1]", "out[x1, y1:y2 + 1]")
                                 .replace("out[y2, x1:x2 + 1]", "out[x2, y1:y2 + 1]")
                                 .replace("out[y1:y2 + 1, x1]", "out[x1:x2 + 1, y1]")
                                 .replace("out[y1:y2 + 1, x2]", "out[x1:x2 + 1, y2]")
                                 .replace("x1, x2 = max(x1, 0), min(x2, w - 1)", "")),
        "only the top-left corner's two edges": _draw(DRAW='''out[y1, x1:x2 + 1] = color
        out[y1:y2 + 1, x1] = color'''),
    },
}

ALTERNATIVES = {
    "hw3.tiny_yolo": {
        "named attributes, functional forward, -inf padding": '''
class TinyYOLOv2(nn.Module):
    def __init__(self, num_classes=20, num_anchors=5):
        super().__init__()
        widths = [16, 32, 64, 128, 256, 512, 1024, 1024]
        prev = 3
        for k, w in enumerate(widths, 1):
            setattr(self, f"conv{k}", nn.Conv2d(prev, w, kernel_size=3, stride=1, padding=1, bias=False))
            setattr(self, f"bn{k}", nn.BatchNorm2d(w, eps=1e-6))
            prev = w
        self.conv9 = nn.Conv2d(prev, num_anchors * (num_classes + 5), kernel_size=1, bias=True)

    def forward(self, x):
        for k in range(1, 9):
            x = F.leaky_relu(getattr(self, f"bn{k}")(getattr(self, f"conv{k}")(x)), negative_slope=0.1)
            if k <= 5:
                x = F.max_pool2d(x, kernel_size=2, stride=2)
            elif k == 6:
                x = F.max_pool2d(F.pad(x, [0, 1, 0, 1], value=float("-inf")), kernel_size=2, stride=1)
        return self.conv9(x)
''',
        "ConvBN blocks in a ModuleList, padding='same', pooling by index": '''
class ConvBNLeaky(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding="same", bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.leaky_relu(self.bn(self.conv(x)), 0.1, inplace=True)


class TinyYOLOv2(nn.Module):
    def __init__(self, num_classes=20, num_anchors=5):
        super().__init__()
        chans = [3, 16, 32, 64, 128, 256, 512, 1024, 1024]
        self.blocks = nn.ModuleList([ConvBNLeaky(a, b) for a, b in zip(chans[:-1], chans[1:])])
        self.pool = nn.MaxPool2d(2)
        self.pad = nn.ReplicationPad2d((0, 1, 0, 1))
        self.pool1 = nn.MaxPool2d(2, stride=1)
        self.out = nn.Conv2d(1024, num_anchors * (5 + num_classes), 1)

    def forward(self, x):
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i < 5:
                x = self.pool(x)
            if i == 5:
                x = self.pool1(self.pad(x))
        return self.out(x)
''',
    },
    "hw3.darknet_weights": {
        "a file object read piece by piece with struct and np.fromfile": '''
import struct


def load_darknet_weights(model, path):
    mods = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
    with open(path, "rb") as f:
        major, minor, revision = struct.unpack("<3i", f.read(12))
        wide = major * 10 + minor >= 2
        raw = f.read(8 if wide else 4)
        if len(raw) != (8 if wide else 4):
            raise ValueError("truncated header")
        (seen,) = struct.unpack("<q" if wide else "<i", raw)

        def fill(t):
            raw = f.read(4 * t.numel())
            if len(raw) != 4 * t.numel():
                raise ValueError("the file is too short for this model")
            t.data = torch.tensor(np.frombuffer(raw, dtype=np.float32).reshape(t.shape), dtype=t.dtype)

        for conv, nxt in zip(mods, mods[1:] + [None]):
            if type(conv) is not nn.Conv2d:
                continue
            if isinstance(nxt, nn.BatchNorm2d):
                fill(nxt.bias); fill(nxt.weight); fill(nxt.running_mean); fill(nxt.running_var)
            else:
                fill(conv.bias)
            fill(conv.weight)
        if f.read(1):
            raise ValueError("extra data after the last layer")
    return (major, minor, revision, seen)
''',
        "one pass collecting the tensors, then a single split of all values": '''
def load_darknet_weights(model, path):
    buf = open(path, "rb").read()
    head = np.frombuffer(buf[:12], np.int32)
    major, minor, revision = map(int, head)
    n_seen = 8 if 10 * major + minor >= 2 else 4
    seen = int(np.frombuffer(buf[12:12 + n_seen], np.int64 if n_seen == 8 else np.int32)[0])
    body = buf[12 + n_seen:]
    seq = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
    targets = []
    for i, m in enumerate(seq):
        if isinstance(m, nn.Conv2d):
            if i + 1 < len(seq) and isinstance(seq[i + 1], nn.BatchNorm2d):
                b = seq[i + 1]
                targets += [b.bias, b.weight, b.running_mean, b.running_var]
            else:
                targets.append(m.bias)
            targets.append(m.weight)
    need = sum(t.numel() for t in targets)
    if len(body) != 4 * need:
        raise ValueError(f"expected {need} float32 values after the header, found {len(body) / 4}")
    flat = torch.from_numpy(np.frombuffer(body, dtype="<f4").copy())
    with torch.no_grad():
        for t, chunk in zip(targets, flat.split([t.numel() for t in targets])):
            t.copy_(chunk.view(t.shape))
    return major, minor, revision, seen
''',
    },
    "hw3.decode": {
        "meshgrid, reshape to (N, A, 5+C, S*S), float64 inside, loop over anchors": '''
def decode_predictions(output, anchors, num_classes):
    N, _, H, W = output.shape
    A = len(anchors)
    t = output.double().reshape(N, A, 5 + num_classes, H * W)
    gy, gx = torch.meshgrid(torch.arange(H, dtype=torch.float64), torch.arange(W, dtype=torch.float64), indexing="ij")
    gx, gy = gx.reshape(-1), gy.reshape(-1)
    boxes, objs, probs = [], [], []
    for a, (aw, ah) in enumerate(anchors):
        ta = t[:, a]                                  # (N, 5+C, H*W)
        bx = (gx + ta[:, 0].sigmoid()) / W
        by = (gy + ta[:, 1].sigmoid()) / H
        bw = aw * ta[:, 2].exp() / W
        bh = ah * ta[:, 3].exp() / H
        boxes.append(torch.stack((bx, by, bw, bh), dim=2))
        objs.append(ta[:, 4].sigmoid())
        probs.append(F.softmax(ta[:, 5:], dim=1).transpose(1, 2))
    return (torch.cat(boxes, 1).float(), torch.cat(objs, 1).float(), torch.cat(probs, 1).float())


def xywh_to_xyxy(boxes):
    half = boxes[..., 2:] / 2
    return torch.cat([boxes[..., :2] - half, boxes[..., :2] + half], dim=-1)


def xyxy_to_xywh(boxes):
    return torch.cat([(boxes[..., :2] + boxes[..., 2:]) * 0.5, boxes[..., 2:] - boxes[..., :2]], dim=-1)
''',
    },
    "hw3.draw_boxes": {
        "PIL's ImageDraw.rectangle with an outline, labels with text": '''
def draw_boxes(image, boxes, labels, scores, class_names):
    from PIL import Image, ImageDraw
    canvas = Image.fromarray(np.ascontiguousarray(image).copy())
    pen = ImageDraw.Draw(canvas)
    for box, lab, sc in zip(np.asarray(boxes, float).reshape(-1, 4), np.asarray(labels).ravel(), np.asarray(scores, float).ravel()):
        x1, y1, x2, y2 = box.tolist()
        if x2 < 0 or y2 < 0 or x1 >= image.shape[1] or y1 >= image.shape[0]:
            continue
        col = BOX_COLORS[int(lab) % len(BOX_COLORS)]
        pen.rectangle([x1, y1, x2, y2], outline=col, width=3)
        pen.text((max(x1, 0) + 4, max(y1, 0) + 4), f"{class_names[int(lab)]}:{sc:.1f}", fill=col)
    return np.array(canvas)
''',
        "boolean masks of the outline, broadcast colour": '''
def draw_boxes(image, boxes, labels, scores, class_names):
    result = np.copy(image)
    H, W = result.shape[:2]
    yy, xx = np.mgrid[0:H, 0:W]
    for b, lab in zip(np.asarray(boxes, dtype=np.float64).reshape(-1, 4), np.asarray(labels).reshape(-1)):
        x1, y1, x2, y2 = np.round(b)
        inside = (xx >= x1) & (xx <= x2) & (yy >= y1) & (yy <= y2)
        core = (xx > x1 + 1) & (xx < x2 - 1) & (yy > y1 + 1) & (yy < y2 - 1)
        result[inside & ~core] = np.array(BOX_COLORS[int(lab) % len(BOX_COLORS)], dtype=np.uint8)
    return result
''',
    },
}

# Correct solutions written to another widely used convention (see tests/test_validity.py).
CONVENTIONS = {
    "hw3.tiny_yolo": {
        "the stride-1 max-pool on a zero-padded map (nn.ZeroPad2d, as some PyTorch ports do)": {
            "code": '''
class TinyYOLOv2(nn.Module):
    # a PyTorch port's layout: the stride-1 pool on a map padded with zeros (nn.ZeroPad2d)
    def __init__(self, num_classes=20, num_anchors=5):
        super().__init__()
        blocks = []
        cin = 3
        for i, cout in enumerate([16, 32, 64, 128, 256, 512, 1024, 1024]):
            blocks.append(nn.Conv2d(cin, cout, kernel_size=3, stride=1, padding=1, bias=False))
            blocks.append(nn.BatchNorm2d(cout))
            blocks.append(nn.LeakyReLU(0.1, inplace=True))
            if i < 5:
                blocks.append(nn.MaxPool2d(kernel_size=2, stride=2))
            elif i == 5:
                blocks.append(nn.ZeroPad2d((0, 1, 0, 1)))
                blocks.append(nn.MaxPool2d(kernel_size=2, stride=1))
            cin = cout
        blocks.append(nn.Conv2d(cin, num_anchors * (5 + num_classes), kernel_size=1))
        self.net = nn.Sequential(*blocks)

    def forward(self, x):
        return self.net(x)
''',
            "loses": 0.5, "says": "ZeroPad2d"},
    },
    "hw3.decode": {
        "boxes in (row, column, anchor) order (YAD2K and keras-yolo3 reshape to channels-last)": {
            "code": '''
def decode_predictions(output, anchors, num_classes):
    # YAD2K's layout: channels last, (N, S_h, S_w, A, 5 + C), flattened row, column, anchor
    n, _, sh, sw = output.shape
    a = len(anchors)
    feats = output.permute(0, 2, 3, 1).reshape(n, sh, sw, a, 5 + num_classes)
    grid_y, grid_x = torch.meshgrid(torch.arange(sh, dtype=output.dtype), torch.arange(sw, dtype=output.dtype), indexing="ij")
    anchor_wh = torch.tensor(anchors, dtype=output.dtype).view(1, 1, 1, a, 2)
    xy = (torch.sigmoid(feats[..., :2]) + torch.stack([grid_x, grid_y], -1)[:, :, None, :]) / torch.tensor([sw, sh], dtype=output.dtype)
    wh = anchor_wh * torch.exp(feats[..., 2:4]) / torch.tensor([sw, sh], dtype=output.dtype)
    boxes = torch.cat([xy, wh], dim=-1).reshape(n, -1, 4)
    conf = torch.sigmoid(feats[..., 4]).reshape(n, -1)
    probs = torch.softmax(feats[..., 5:], dim=-1).reshape(n, -1, num_classes)
    return boxes, conf, probs
''',
            "loses": 0.5, "says": "YAD2K"},
    },
}
