"""Mutants and alternative correct solutions for the U-Net and colorization items (000 P1)."""

# A U-Net skeleton the mutants vary: encoder, bottleneck, decoder with a hook for each variation.
_UNET_HEAD = '''
class UNet(nn.Module):
    def __init__(self, in_channels=1, out_channels=2, base=16, depth=3):
        super().__init__()
        widths = [base * 2 ** i for i in range(depth)]
        self.down = nn.ModuleList()
        c = in_channels
        for w in widths:
            self.down.append(unet_block(c, w))
            c = w
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = unet_block(c, 2 * c)
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
'''

MUTANTS = {
    "hw4.unet": {
        "no skip connections (an encoder-decoder)": _UNET_HEAD + '''
        for w in reversed(widths):
            self.up.append(nn.ConvTranspose2d(2 * w, w, 2, stride=2))
            self.dec.append(unet_block(w, w))
        self.head = nn.Conv2d(base, out_channels, 1)

    def forward(self, x):
        for block in self.down:
            x = self.pool(block(x))
        x = self.bottleneck(x)
        for up, block in zip(self.up, self.dec):
            x = block(up(x))
        return self.head(x)
''',
        "skip added instead of concatenated": _UNET_HEAD + '''
        for w in reversed(widths):
            self.up.append(nn.ConvTranspose2d(2 * w, w, 2, stride=2))
            self.dec.append(unet_block(w, w))
        self.head = nn.Conv2d(base, out_channels, 1)

    def forward(self, x):
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for up, block, skip in zip(self.up, self.dec, reversed(skips)):
            x = block(skip + up(x))
        return self.head(x)
''',
        "skip taken after the pooling (wrong level)": _UNET_HEAD + '''
        for w in reversed(widths):
            self.up.append(nn.ConvTranspose2d(2 * w, w, 2, stride=2))
            self.dec.append(unet_block(2 * w, w))
        self.head = nn.Conv2d(base, out_channels, 1)

    def forward(self, x):
        skips = []
        for block in self.down:
            x = self.pool(block(x))
            skips.append(x)
        x = self.bottleneck(x)
        for up, block, skip in zip(self.up, self.dec, reversed(skips)):
            x = up(x)
            x = block(torch.cat([F.interpolate(skip, size=x.shape[-2:]), x], dim=1))
        return self.head(x)
''',
        "skips in encoder order (not reversed)": _UNET_HEAD + '''
        for w in reversed(widths):
            self.up.append(nn.ConvTranspose2d(2 * w, w, 2, stride=2))
            self.dec.append(unet_block(2 * w, w))
        self.head = nn.Conv2d(base, out_channels, 1)

    def forward(self, x):
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for up, block, skip in zip(self.up, self.dec, skips):
            x = block(torch.cat([skip, up(x)], dim=1))
        return self.head(x)
''',
        "no final 1x1 conv (the last double conv outputs out_channels)": _UNET_HEAD + '''
        for i, w in enumerate(reversed(widths)):
            self.up.append(nn.ConvTranspose2d(2 * w, w, 2, stride=2))
            self.dec.append(unet_block(2 * w, out_channels if i == depth - 1 else w))

    def forward(self, x):
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for up, block, skip in zip(self.up, self.dec, reversed(skips)):
            x = block(torch.cat([skip, up(x)], dim=1))
        return x
''',
        "out_channels ignored (always 2)": _UNET_HEAD + '''
        for w in reversed(widths):
            self.up.append(nn.ConvTranspose2d(2 * w, w, 2, stride=2))
            self.dec.append(unet_block(2 * w, w))
        self.head = nn.Conv2d(base, 2, 1)

    def forward(self, x):
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for up, block, skip in zip(self.up, self.dec, reversed(skips)):
            x = block(torch.cat([skip, up(x)], dim=1))
        return self.head(x)
''',
        "bilinear upsampling + 1x1 conv instead of a learned up-convolution": _UNET_HEAD + '''
        for w in reversed(widths):
            self.up.append(nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear"), nn.Conv2d(2 * w, w, 1)))
            self.dec.append(unet_block(2 * w, w))
        self.head = nn.Conv2d(base, out_channels, 1)

    def forward(self, x):
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for up, block, skip in zip(self.up, self.dec, reversed(skips)):
            x = block(torch.cat([skip, up(x)], dim=1))
        return self.head(x)
''',
    },
    "hw4.colorization": {
        "L not scaled (0-100)": '''
def rgb_to_lab_channels(images):
    lab = rgb2lab(images / 255.0).transpose(0, 3, 1, 2)
    return lab[:, :1].astype(np.float32), (lab[:, 1:] / 110).astype(np.float32)
''',
        "channels last": '''
def rgb_to_lab_channels(images):
    lab = rgb2lab(images / 255.0)
    return (lab[..., :1] / 100).astype(np.float32), (lab[..., 1:] / 110).astype(np.float32)
''',
        "lab_channels_to_rgb returns 0-255": '''
def lab_channels_to_rgb(L, ab):
    lab = np.concatenate([L * 100.0, ab * 110.0], axis=1).transpose(0, 2, 3, 1)
    return (np.clip(lab2rgb(lab), 0, 1) * 255).astype(np.float32)
''',
        "a model that outputs a constant colour": '''
class UNet(nn.Module):
    def __init__(self, in_channels=1, out_channels=2, base=16, depth=3):
        super().__init__()
        self.colour = nn.Parameter(torch.zeros(1, out_channels, 1, 1))

    def forward(self, x):
        return self.colour.expand(x.shape[0], -1, x.shape[2], x.shape[3]) + 0 * x.mean()
''',
        "a network without non-linearities": '''
class UNet(nn.Module):
    def __init__(self, in_channels=1, out_channels=2, base=16, depth=3):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)

    def forward(self, x):
        return self.conv(x)
''',
    },
}

ALTERNATIVES = {
    "hw4.unet": {
        "recursive U-Net, decoder order [up, skip], convs with bias, functional pooling": '''
class _Level(nn.Module):
    def __init__(self, c_in, c, levels_below):
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(c_in, c, 3, 1, 1), nn.BatchNorm2d(c), nn.ReLU(),
                                 nn.Conv2d(c, c, 3, 1, 1), nn.BatchNorm2d(c), nn.ReLU())
        self.levels_below = levels_below
        if levels_below:
            self.inner = _Level(c, 2 * c, levels_below - 1)
            self.up = nn.ConvTranspose2d(2 * c, c, 2, 2)
            self.dec = nn.Sequential(nn.Conv2d(2 * c, c, 3, 1, 1), nn.BatchNorm2d(c), nn.ReLU(),
                                     nn.Conv2d(c, c, 3, 1, 1), nn.BatchNorm2d(c), nn.ReLU())

    def forward(self, x):
        e = self.enc(x)
        if not self.levels_below:
            return e
        d = self.up(self.inner(F.max_pool2d(e, 2)))
        return self.dec(torch.cat((d, e), 1))


class UNet(nn.Module):
    def __init__(self, in_channels=1, out_channels=2, base=16, depth=3):
        super().__init__()
        self.body = _Level(in_channels, base, depth)
        self.out = nn.Conv2d(base, out_channels, 1)

    def forward(self, x):
        return self.out(self.body(x))
''',
    },
    "hw4.colorization": {
        "rgb2lab on the uint8 array, moveaxis, float32 lab2rgb": '''
def rgb_to_lab_channels(images):
    from skimage import color
    lab = np.moveaxis(color.rgb2lab(images), -1, 1).astype(np.float32)
    return lab[:, 0:1] / np.float32(100), lab[:, 1:3] / np.float32(110)


def lab_channels_to_rgb(L, ab):
    from skimage import color
    lab = np.empty((L.shape[0], L.shape[2], L.shape[3], 3))
    lab[..., 0] = L[:, 0] * 100
    lab[..., 1:] = np.moveaxis(ab, 1, -1) * 110
    return color.lab2rgb(lab).clip(0, 1).astype(np.float32)
''',
    },
}

# Correct solutions written to another widely used convention: each loses only its own small part.
_UNET_UP = _UNET_HEAD + '''
        for w in reversed(widths):
            self.up.append({up})
            self.dec.append(unet_block(2 * w, w))
        self.head = nn.Conv2d(base, out_channels, 1)

    def forward(self, x):
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for up, block, skip in zip(self.up, self.dec, reversed(skips)):
            x = block(torch.cat([skip, up(x)], dim=1))
        return self.head(x)
'''

CONVENTIONS = {
    "hw4.unet": {
        "pix2pix's 4x4 up-convolutions (stride 2, padding 1)": {
            "code": _UNET_UP.format(up="nn.ConvTranspose2d(2 * w, w, kernel_size=4, stride=2, padding=1)"),
            "loses": 0.25, "says": "pix2pix"},
        "Keras's Conv2DTranspose(3, strides=2, padding='same'): padding 1, output_padding 1": {
            "code": _UNET_UP.format(up="nn.ConvTranspose2d(2 * w, w, 3, stride=2, padding=1, output_padding=1)"),
            "loses": 0.25, "says": "Keras"},
    },
    "hw4.colorization": {
        "pix2pix's L channel: L*/50 - 1 in [-1, 1]": {
            "code": '''
def rgb_to_lab_channels(images):
    # pytorch-CycleGAN-and-pix2pix, colorization data set: A = L / 50 - 1, B = ab / 110
    lab = rgb2lab(images / 255.0).astype(np.float32).transpose(0, 3, 1, 2)
    return lab[:, :1] / 50.0 - 1.0, lab[:, 1:] / 110.0


def lab_channels_to_rgb(L, ab):
    lab = np.concatenate([(L + 1.0) * 50.0, ab * 110.0], axis=1).transpose(0, 2, 3, 1)
    return np.clip(lab2rgb(lab.astype(np.float64)), 0, 1).astype(np.float32)
''',
            "loses": 0.5, "says": "pix2pix"},
    },
}
