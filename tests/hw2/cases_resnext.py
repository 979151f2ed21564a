"""Mutants and alternative correct solutions for the ResNeXt items (ResNeXtBlock, ResNeXtCIFAR)."""

# The reference ResNeXtBlock, with placeholders a mutant changes.
_BLOCK = '''
class ResNeXtBlock(nn.Module):
    def __init__(self, in_channels, out_channels, cardinality, bottleneck_width, stride=1):
        super().__init__()
        D = INNER
        self.conv1 = nn.Conv2d(in_channels, D, 1, stride=STRIDE1, bias=False)
        self.bn1 = nn.BatchNorm2d(D)
        self.conv2 = nn.Conv2d(D, D, 3, stride=STRIDE2, padding=1, groups=GROUPS, bias=False)
        self.bn2 = BN2
        self.conv3 = nn.Conv2d(D, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        if PROJECT:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_channels))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        FORWARD
'''


def _block(INNER="cardinality * bottleneck_width", STRIDE1="1", STRIDE2="stride", GROUPS="cardinality",
           BN2="nn.BatchNorm2d(D)", PROJECT="stride != 1 or in_channels != out_channels",
           FORWARD="return F.relu(self.bn3(self.conv3(out)) + self.shortcut(x))"):
    src = _BLOCK
    for k, v in dict(INNER=INNER, STRIDE1=STRIDE1, STRIDE2=STRIDE2, GROUPS=GROUPS, BN2=BN2, PROJECT=PROJECT,
                     FORWARD=FORWARD).items():
        src = src.replace(k, v)
    return src


_NET = '''
class ResNeXtCIFAR(nn.Module):
    def __init__(self, num_blocks=(1, 1, 1), cardinality=8, bottleneck_width=4, num_classes=100, width=64):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        blocks = []
        in_ch = width
        for i, n in enumerate(num_blocks):
            out_ch = width * 2 ** i
            for j in range(n):
                blocks.append(ResNeXtBlock(in_ch, out_ch, CARD, BW, STRIDE))
                in_ch = out_ch
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(FC_IN, num_classes)

    def forward(self, x):
        return self.fc(self.blocks(self.stem(x)).mean(dim=(2, 3)))
'''


def _net(CARD="cardinality", BW="bottleneck_width * 2 ** i", STRIDE="2 if (i > 0 and j == 0) else 1", FC_IN="4 * width"):
    src = _NET
    for k, v in dict(CARD=CARD, BW=BW, STRIDE=STRIDE, FC_IN=FC_IN).items():
        src = src.replace(k, v)
    return src


MUTANTS = {
    "hw2.resnext_block": {
        "groups=1 (a dense bottleneck of width D)": _block(GROUPS="1"),
        "groups=bottleneck_width": _block(GROUPS="bottleneck_width"),
        "bottleneck of width d instead of C*d": _block(INNER="bottleneck_width", GROUPS="1"),
        "groups=D (depthwise)": _block(GROUPS="D"),
        "stride on the first 1x1 conv": _block(STRIDE1="stride", STRIDE2="1"),
        "no BatchNorm after the grouped conv": _block(BN2="nn.Identity()"),
        "ReLU after the last BatchNorm, before the addition": _block(
            FORWARD="return F.relu(F.relu(self.bn3(self.conv3(out))) + self.shortcut(x))"),
        "shortcut always a projection": _block(PROJECT="True"),
        "shortcut never a projection": _block(PROJECT="False"),
        "no ReLU after the addition": _block(FORWARD="return self.bn3(self.conv3(out)) + self.shortcut(x)"),
    },
    "hw2.resnext_cifar": {
        "cardinality and bottleneck width swapped": _net(CARD="bottleneck_width * 2 ** i", BW="cardinality"),
        "bottleneck width not doubled per stage": _net(BW="bottleneck_width"),
        "no downsampling (every stride 1)": _net(STRIDE="1"),
        "cardinality doubled per stage instead of the width": _net(CARD="cardinality * 2 ** i", BW="bottleneck_width"),
        "Linear hard-coded for width 64": _net(FC_IN="256"),
        "dense blocks (groups=1) in the network": _block(GROUPS="1") + _net(),
    },
}

ALTERNATIVES = {
    "hw2.resnext_block": {
        "nn.Sequential branch, shortcut built first, torch.relu": '''
class ResNeXtBlock(nn.Module):
    def __init__(self, in_channels, out_channels, cardinality, bottleneck_width, stride=1):
        super().__init__()
        group_width = cardinality * bottleneck_width
        if stride == 1 and in_channels == out_channels:
            self.shortcut = None
        else:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        self.residual = nn.Sequential(
            nn.Conv2d(in_channels, group_width, kernel_size=1, bias=False),
            nn.BatchNorm2d(group_width),
            nn.ReLU(inplace=True),
            nn.Conv2d(group_width, group_width, kernel_size=3, stride=stride, padding=1,
                      groups=cardinality, bias=False),
            nn.BatchNorm2d(group_width),
            nn.ReLU(inplace=True),
            nn.Conv2d(group_width, out_channels, kernel_size=1, bias=False),
            nn.BatchNorm2d(out_channels),
        )

    def forward(self, x):
        sc = x if self.shortcut is None else self.shortcut(x)
        return torch.relu(self.residual(x) + sc)
''',
        "helper functions for conv+BN pairs, ModuleList, in-place add": '''
def conv_bn(cin, cout, k, stride=1, groups=1):
    return nn.ModuleList([nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)])


class ResNeXtBlock(nn.Module):
    def __init__(self, in_channels, out_channels, cardinality, bottleneck_width, stride=1):
        super().__init__()
        width = bottleneck_width * cardinality
        self.reduce = conv_bn(in_channels, width, 1)
        self.grouped = conv_bn(width, width, 3, stride, cardinality)
        self.expand = conv_bn(width, out_channels, 1)
        self.project = conv_bn(in_channels, out_channels, 1, stride) if (stride, in_channels) != (1, out_channels) else None

    def forward(self, x):
        conv, bn = self.reduce
        h = F.relu(bn(conv(x)))
        conv, bn = self.grouped
        h = F.relu(bn(conv(h)))
        conv, bn = self.expand
        h = bn(conv(h))
        if self.project is not None:
            conv, bn = self.project
            x = bn(conv(x))
        h += x
        return F.relu(h)
''',
    },
    "hw2.resnext_cifar": {
        "a stage helper, AdaptiveAvgPool2d + flatten, explicit stem attributes": '''
class ResNeXtCIFAR(nn.Module):
    def __init__(self, num_blocks=(1, 1, 1), cardinality=8, bottleneck_width=4, num_classes=100, width=64):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.stages = nn.ModuleList()
        channels = width
        for i, n in enumerate(num_blocks):
            self.stages.append(self._stage(channels, width << i, n, cardinality, bottleneck_width << i, 1 if i == 0 else 2))
            channels = width << i
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)

    @staticmethod
    def _stage(cin, cout, n, cardinality, bw, stride):
        layers = [ResNeXtBlock(cin, cout, cardinality, bw, stride)]
        layers += [ResNeXtBlock(cout, cout, cardinality, bw) for _ in range(n - 1)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        for stage in self.stages:
            x = stage(x)
        return self.classifier(torch.flatten(self.pool(x), 1))
''',
    },
}
