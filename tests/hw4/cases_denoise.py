"""Mutants and alternative correct solutions for the denoising autoencoder and the
dilated receptive field (004 Q1(e), Q2)."""

MUTANTS = {
    "hw4.denoising_ae": {
        "trained to reconstruct the noisy input (targets = inputs)": '''
def make_denoising_batch(clean, sigma, generator=None):
    noisy = (clean + sigma * torch.randn(clean.shape, generator=generator)).clamp(0, 1)
    return noisy, noisy
''',
        "noise not clipped to [0, 1]": '''
def make_denoising_batch(clean, sigma, generator=None):
    return clean + sigma * torch.randn(clean.shape, generator=generator), clean
''',
        "noise drawn without the generator": '''
def make_denoising_batch(clean, sigma, generator=None):
    return (clean + sigma * torch.randn(clean.shape)).clamp(0, 1), clean
''',
        "psnr with the natural log": '''
def psnr(pred, target, max_val=1.0):
    return float(10 * torch.log(max_val ** 2 / torch.mean((pred - target) ** 2)))
''',
        "an identity network (one scale parameter)": '''
class DenoisingAE(nn.Module):
    def __init__(self, channels=1, base=16):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x):
        return (x * self.scale).clamp(0, 1)
''',
        "no sigmoid at the end": '''
class DenoisingAE(nn.Module):
    def __init__(self, channels=1, base=16):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, base, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(base, 2 * base, 3, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(2 * base, base, 2, stride=2), nn.ReLU(),
            nn.ConvTranspose2d(base, channels, 2, stride=2))

    def forward(self, x):
        return self.net(x)
''',
        "decoder with one up-convolution (half-size output)": '''
class DenoisingAE(nn.Module):
    def __init__(self, channels=1, base=16):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, base, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(base, 2 * base, 3, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(2 * base, channels, 2, stride=2), nn.Sigmoid())

    def forward(self, x):
        return self.net(x)
''',
    },
    "hw4.dilated_rf": {
        "ignores the dilation: 1 + i(k-1)": '''
def dilated_receptive_field(k, d, i):
    return 1 + i * (k - 1)
''',
        "d*k per layer": '''
def dilated_receptive_field(k, d, i):
    return i * d * k
''',
        "off by one: i d (k-1)": '''
def dilated_receptive_field(k, d, i):
    return i * d * (k - 1)
''',
        "output size n - d k + 1 (dilated kernel miscounted)": '''
def dilated_output_size(n, k, d, i=1):
    return n - i * (d * k - 1)
''',
        "output size of one layer only (i ignored)": '''
def dilated_output_size(n, k, d, i=1):
    return n - d * (k - 1)
''',
        "stack padded to keep the size": '''
def dilated_stack(channels, k, d, i):
    return nn.Sequential(*[m for _ in range(i) for m in (nn.Conv2d(channels, channels, k, dilation=d, padding="same"),
                                                         nn.ReLU())])
''',
        "stack without dilation": '''
def dilated_stack(channels, k, d, i):
    return nn.Sequential(*[m for _ in range(i) for m in (nn.Conv2d(channels, channels, k), nn.ReLU())])
''',
    },
}

ALTERNATIVES = {
    "hw4.denoising_ae": {
        "functional forward, F.mse_loss-based psnr, torch.clip": '''
def psnr(pred, target, max_val=1.0):
    mse = F.mse_loss(pred.float(), target.float()).item()
    return math.inf if mse == 0 else 20 * math.log10(max_val) - 10 * math.log10(mse)


def make_denoising_batch(clean, sigma, generator=None):
    eps = torch.randn(*clean.shape, generator=generator)
    return torch.clip(clean + eps * sigma, min=0, max=1), clean.clone()


class DenoisingAE(nn.Module):
    def __init__(self, channels=1, base=16):
        super().__init__()
        self.c1 = nn.Conv2d(channels, base, 3, 2, 1)
        self.c2 = nn.Conv2d(base, base * 2, 3, 2, 1)
        self.t1 = nn.ConvTranspose2d(base * 2, base, 2, 2)
        self.t2 = nn.ConvTranspose2d(base, channels, 2, 2)

    def forward(self, x):
        h = F.relu(self.c2(F.relu(self.c1(x))))
        return torch.sigmoid(self.t2(F.relu(self.t1(h))))
''',
    },
    "hw4.dilated_rf": {
        "layer by layer, the effective kernel size": '''
def dilated_receptive_field(k, d, i):
    rf = 1
    for _ in range(i):
        rf += (d * (k - 1) + 1) - 1
    return rf


def dilated_output_size(n, k, d, i=1):
    k_eff = d * (k - 1) + 1
    for _ in range(i):
        n = (n - k_eff) // 1 + 1
    return int(n)


def dilated_stack(channels, k, d, i):
    s = nn.Sequential()
    for j in range(i):
        s.add_module(f"conv{j}", nn.Conv2d(channels, channels, kernel_size=(k, k), dilation=(d, d), padding=0))
        s.add_module(f"act{j}", nn.ReLU(inplace=True))
    return s
''',
    },
}

# Correct solutions written to another widely used convention: each loses only its own small part.
CONVENTIONS = {
    "hw4.denoising_ae": {
        "the mean of per-image PSNRs (BasicSR, torchmetrics with dim=(1, 2, 3))": {
            "code": '''
def psnr(pred, target, max_val=1.0):
    mse = ((pred.double() - target.double()) ** 2).flatten(1).mean(dim=1)
    return float((10 * torch.log10(max_val ** 2 / mse)).mean())
''',
            "loses": 0.25, "says": "BasicSR"},
    },
}
