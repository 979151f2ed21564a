"""Mutants and alternative correct solutions for the ResUNet's residual encoder (003 P8)."""


def _encoder(unit_forward: str, stride_expr: str = "1 if i == 0 else 2", width_expr: str = "cout",
             shortcut: str = "nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))") -> str:
    return f'''
class ResidualEncoder(nn.Module):
    def __init__(self, in_channels, widths=(16, 32, 64, 128)):
        super().__init__()
        self.units = nn.ModuleList()
        cin = in_channels
        for i, cout in enumerate(widths):
            stride = {stride_expr}
            cout = {width_expr}
            unit = nn.Module()
            unit.pre = None if i == 0 else nn.BatchNorm2d(cin)
            unit.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            unit.bn = nn.BatchNorm2d(cout)
            unit.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            unit.shortcut = {shortcut}
            self.units.append(unit)
            cin = cout

    def forward(self, x):
        features = []
        for unit in self.units:
            h = x if unit.pre is None else F.relu(unit.pre(x))
            h = unit.conv2(F.relu(unit.bn(unit.conv1(h))))
{unit_forward}
            features.append(x)
        return features
'''


_ADD = "            x = h + unit.shortcut(x)"

MUTANTS = {
    "hw4.resunet_encoder": {
        "no residual connection (plain double conv)": _encoder("            x = h + 0 * unit.shortcut(x)"),
        "downsampling missing at the last level": _encoder(_ADD, stride_expr="1 if i in (0, len(widths) - 1) else 2"),
        "wrong widths (every level doubles the first width)": _encoder(_ADD, width_expr="widths[0] * 2 ** i"),
        "returns only the deepest feature map": _encoder(_ADD).replace("        return features", "        return features[-1]"),
        "shortcut through a 3x3 conv": _encoder(
            _ADD, shortcut="nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout))"),
    },
}

ALTERNATIVES = {
    "hw4.resunet_encoder": {
        "ResNet-style post-activation units, Sequential branches": '''
class _Unit(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.branch = nn.Sequential(
            nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
            nn.Conv2d(cout, cout, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(cout))
        self.skip = nn.Identity() if (cin == cout and stride == 1) else nn.Conv2d(cin, cout, 1, stride=stride)

    def forward(self, x):
        return torch.relu(self.branch(x) + self.skip(x))


class ResidualEncoder(nn.Module):
    def __init__(self, in_channels, widths=(16, 32, 64, 128)):
        super().__init__()
        chans = [in_channels] + list(widths)
        self.levels = nn.ModuleList([_Unit(chans[k], chans[k + 1], 2 if k else 1) for k in range(len(widths))])

    def forward(self, x):
        outs = []
        for level in self.levels:
            x = level(x)
            outs.append(x)
        return outs
''',
    },
}
