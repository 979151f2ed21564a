"""Mutants and alternative correct solutions for the ResNet items (BasicBlock, ResNetCIFAR)."""

# The reference BasicBlock, with one marked line changed per mutant.
_BLOCK = '''
class BasicBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=STRIDE1, padding=1, bias=BIAS)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=STRIDE2, padding=1, bias=BIAS)
        self.bn2 = BN2
        if PROJECT:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                          SCBN)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        FORWARD
'''


def _block(STRIDE1="stride", STRIDE2="1", BIAS="False", BN2="nn.BatchNorm2d(out_channels)",
           PROJECT="stride != 1 or in_channels != out_channels", SCBN="nn.BatchNorm2d(out_channels)",
           FORWARD="return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))"):
    src = _BLOCK
    for k, v in dict(STRIDE1=STRIDE1, STRIDE2=STRIDE2, BIAS=BIAS, BN2=BN2, PROJECT=PROJECT, SCBN=SCBN,
                     FORWARD=FORWARD).items():
        src = src.replace(k, v)
    return src


_NET = '''
class ResNetCIFAR(nn.Module):
    def __init__(self, num_blocks=(3, 3, 3), num_classes=10, width=16):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        layers = []
        in_ch = width
        for i, n in enumerate(NUM_BLOCKS):
            out_ch = WIDTH
            for j in range(n):
                layers.append(BasicBlock(in_ch, out_ch, STRIDE))
                in_ch = out_ch
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(FC_IN, num_classes)

    def forward(self, x):
        POOL
        return self.fc(x.mean(dim=(2, 3)))
'''


def _net(NUM_BLOCKS="num_blocks", WIDTH="width * 2 ** i", STRIDE="2 if (i > 0 and j == 0) else 1",
         FC_IN="4 * width", POOL="x = self.layers(self.stem(x))"):
    src = _NET
    for k, v in dict(NUM_BLOCKS=NUM_BLOCKS, WIDTH=WIDTH, STRIDE=STRIDE, FC_IN=FC_IN, POOL=POOL).items():
        src = src.replace(k, v)
    return src


MUTANTS = {
    "hw2.resnet_block": {
        "shortcut always a projection": _block(PROJECT="True"),
        "shortcut never a projection": _block(PROJECT="False"),
        "projection only when the channels change (stride ignored)": _block(PROJECT="in_channels != out_channels"),
        "ReLU on the branch before the addition": _block(
            FORWARD="return F.relu(F.relu(self.bn2(self.conv2(out))) + self.shortcut(x))"),
        "no ReLU after the addition": _block(FORWARD="return self.bn2(self.conv2(out)) + self.shortcut(x)"),
        "stride on the second conv": _block(STRIDE1="1", STRIDE2="stride"),
        "convs with bias": _block(BIAS="True"),
        "second BatchNorm missing": _block(BN2="nn.Identity()"),
        "projection without BatchNorm": _block(SCBN="nn.Identity()"),
        "shortcut added before the second BatchNorm": _block(
            FORWARD="return F.relu(self.bn2(self.conv2(out) + self.shortcut(x)))"),
        "second BatchNorm defined but skipped in forward": _block(
            FORWARD="return F.relu(self.conv2(out) + self.shortcut(x))"),
        "one BatchNorm shared by both convs": _block(
            BN2="None",
            FORWARD="return F.relu(self.bn1(self.conv2(out)) + self.shortcut(x))"),
    },
    "hw2.resnet_cifar": {
        "no downsampling stage (every stride 1)": _net(STRIDE="1"),
        "widths not doubled per stage": _net(WIDTH="width", FC_IN="width"),
        "num_blocks ignored (3 blocks per stage)": _net(NUM_BLOCKS="(3, 3, 3)"),
        "Linear hard-coded for width 16": _net(FC_IN="64"),
        "max pooling after the stem (downsampling by 8)": _net(
            POOL="x = self.layers(F.max_pool2d(self.stem(x), 2))"),
        "stride 2 in the last block of a stage instead of the first": _net(
            STRIDE="2 if (i > 0 and j == n - 1) else 1"),
        "only two stages": _net(NUM_BLOCKS="num_blocks[:2]", FC_IN="2 * width"),
    },
}

ALTERNATIVES = {
    "hw2.resnet_block": {
        "nn.Sequential branch, helper functions, shortcut=None, in-place add": '''
def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        # shortcut first, branch second: the grader must not depend on the order
        self.proj = None
        if (in_channels, stride) != (out_channels, 1):
            self.proj = nn.Sequential(nn.Conv2d(in_channels, out_channels, (1, 1), (stride, stride), bias=False),
                                      nn.BatchNorm2d(out_channels, eps=1e-5, momentum=0.2))
        self.branch = nn.Sequential(conv3x3(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels),
                                    nn.ReLU(inplace=True), conv3x3(out_channels, out_channels),
                                    nn.BatchNorm2d(out_channels))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        identity = x if self.proj is None else self.proj(x)
        out = self.branch(x)
        out += identity
        return self.act(out)
''',
        "padding='same' for stride 1, torch.relu, ModuleDict": '''
class BasicBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.layers = nn.ModuleDict({
            "a": nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False),
            "a_bn": nn.BatchNorm2d(out_channels),
            "b": nn.Conv2d(out_channels, out_channels, 3, 1, "same", bias=False),
            "b_bn": nn.BatchNorm2d(out_channels),
        })
        self.down = stride > 1 or in_channels != out_channels
        if self.down:
            self.sc_conv = nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)
            self.sc_bn = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        h = torch.relu(self.layers["a_bn"](self.layers["a"](x)))
        h = self.layers["b_bn"](self.layers["b"](h))
        s = self.sc_bn(self.sc_conv(x)) if self.down else x
        return torch.relu(h + s)
''',
    },
    "hw2.resnet_cifar": {
        "layer1/2/3 with a _make_layer helper, adaptive pooling, own blocks": '''
class ResNetCIFAR(nn.Module):
    def __init__(self, num_blocks=(3, 3, 3), num_classes=10, width=16):
        super().__init__()
        self.conv = nn.Conv2d(3, width, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(width)
        self.in_planes = width
        self.layer1 = self._make_layer(width, num_blocks[0], 1)
        self.layer2 = self._make_layer(2 * width, num_blocks[1], 2)
        self.layer3 = self._make_layer(4 * width, num_blocks[2], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.linear = nn.Linear(4 * width, num_classes)

    def _make_layer(self, planes, n, stride):
        layers = []
        for s in [stride] + [1] * (n - 1):
            layers.append(BasicBlock(self.in_planes, planes, s))
            self.in_planes = planes
        return nn.Sequential(*layers)

    def forward(self, x):
        out = F.relu(self.bn(self.conv(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = self.avgpool(out).view(out.size(0), -1)
        return self.linear(out)
''',
    },
}

# Correct solutions written to another widely used convention (see tests/test_validity.py).
CONVENTIONS = {
    "hw2.resnet_block": {
        "option A shortcuts (He et al.'s CIFAR ResNets): subsample and zero channels": {
            "code": '''
class BasicBlock(nn.Module):
    # option A of He et al.'s CIFAR ResNets: a parameter-free shortcut (subsample, zero channels
    # on both sides, as the widely used CIFAR ports' F.pad(x[:, :, ::2, ::2], ..., planes // 4, planes // 4))
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.stride = stride
        extra = out_channels - in_channels
        self.pad = (extra // 2, extra - extra // 2)

    def shortcut(self, x):
        if self.stride == 1 and self.pad == (0, 0):
            return x
        return F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, *self.pad))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))
''',
            "loses": 0.5, "says": 'option A'},
    },
    "hw2.resnet_cifar": {
        'ResNet-20 with option A shortcuts (0.27 M parameters)': {
            "code": '''
class BasicBlock(nn.Module):
    # option A of He et al.'s CIFAR ResNets: a parameter-free shortcut (subsample, zero channels
    # on both sides, as the widely used CIFAR ports' F.pad(x[:, :, ::2, ::2], ..., planes // 4, planes // 4))
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.stride = stride
        extra = out_channels - in_channels
        self.pad = (extra // 2, extra - extra // 2)

    def shortcut(self, x):
        if self.stride == 1 and self.pad == (0, 0):
            return x
        return F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, *self.pad))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))
''',
            "loses": 0.5, "says": 'option A'},
    },
}
