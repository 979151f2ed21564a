"""Mutants and alternative correct solutions for the digits 1-4 project (003 P5)."""

MUTANTS = {
    "hw2.digits_labels": {
        "first digit anywhere in the path": '''
import re

def label_from_filename(path):
    return int(re.search(r"[0-9]", str(path)).group())
''',
        "returns the digit as a string": '''
def label_from_filename(path):
    return Path(path).name[5]
''',
        "str methods only (fails on pathlib.Path)": '''
def label_from_filename(path):
    return int(path.split("/")[-1][5])
''',
        "class index (digit - 1) instead of the digit": '''
def label_from_filename(path):
    return int(Path(path).name[5]) - 1
''',
        "last digit of the name": '''
import re

def label_from_filename(path):
    return int(re.findall(r"[0-9]", Path(path).stem)[-1])
''',
    },
    "hw2.digits_split": {
        "not stratified (one permutation of everything)": '''
def split_dataset(paths, labels, test_fraction=0.2, seed=42):
    order = np.random.default_rng(seed).permutation(len(paths))
    n_test = math.ceil(test_fraction * len(paths))
    return order[n_test:], order[:n_test]
''',
        "int() instead of ceil for the test size": '''
def split_dataset(paths, labels, test_fraction=0.2, seed=42):
    from sklearn.model_selection import train_test_split
    idx = np.arange(len(paths))
    return train_test_split(idx, test_size=int(test_fraction * len(paths)), stratify=np.asarray(labels), random_state=seed)
''',
        "global random state, not seeded": '''
def split_dataset(paths, labels, test_fraction=0.2, seed=42):
    from sklearn.model_selection import train_test_split
    idx = np.arange(len(paths))
    return train_test_split(idx, test_size=test_fraction, stratify=np.asarray(labels))
''',
        "seed ignored (always 42)": '''
def split_dataset(paths, labels, test_fraction=0.2, seed=42):
    from sklearn.model_selection import train_test_split
    idx = np.arange(len(paths))
    return train_test_split(idx, test_size=test_fraction, stratify=np.asarray(labels), random_state=42)
''',
        "no shuffling: the last 20 % of each class": '''
def split_dataset(paths, labels, test_fraction=0.2, seed=42):
    labels = np.asarray(labels)
    test = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        test.extend(idx[len(idx) - round(test_fraction * len(idx)):])
    test = np.array(sorted(test))
    return np.setdiff1d(np.arange(len(labels)), test), test
''',
        "boolean masks instead of indices": '''
def split_dataset(paths, labels, test_fraction=0.2, seed=42):
    from sklearn.model_selection import train_test_split
    idx = np.arange(len(paths))
    tr, te = train_test_split(idx, test_size=test_fraction, stratify=np.asarray(labels), random_state=seed)
    mask = np.zeros(len(paths), dtype=bool)
    mask[te] = True
    return ~mask, mask
''',
    },
    "hw2.digits_augment": {
        "random horizontal flip": '''
def make_transforms(train):
    from torchvision.transforms import v2
    steps = [v2.ToImage()]
    if train:
        steps += [v2.RandomHorizontalFlip(), v2.RandomAffine(degrees=10, translate=(0.1, 0.1))]
    return v2.Compose(steps + [v2.ToDtype(torch.float32, scale=True)])
''',
        "rotations up to 180 degrees": '''
def make_transforms(train):
    from torchvision.transforms import v2
    steps = [v2.ToImage()]
    if train:
        steps += [v2.RandomRotation(180)]
    return v2.Compose(steps + [v2.ToDtype(torch.float32, scale=True)])
''',
        "Normalize(0.5, 0.5) in both transforms": '''
def make_transforms(train):
    from torchvision.transforms import v2
    steps = [v2.ToImage()]
    if train:
        steps += [v2.RandomAffine(degrees=10, translate=(0.1, 0.1))]
    return v2.Compose(steps + [v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.5] * 3, [0.5] * 3)])
''',
        "no augmentation (train == eval)": '''
def make_transforms(train):
    from torchvision.transforms import v2
    return v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
''',
        "no scaling (values 0-255)": '''
def make_transforms(train):
    from torchvision.transforms import v2
    steps = [v2.ToImage()]
    if train:
        steps += [v2.RandomAffine(degrees=10, translate=(0.1, 0.1))]
    return v2.Compose(steps + [v2.ToDtype(torch.float32, scale=False)])
''',
        "default RandomResizedCrop (crops away most of the digit)": '''
def make_transforms(train):
    from torchvision.transforms import v2
    steps = [v2.ToImage()]
    if train:
        steps += [v2.RandomResizedCrop(64)]
    return v2.Compose(steps + [v2.ToDtype(torch.float32, scale=True)])
''',
        "returns a NumPy array (H, W, C)": '''
def make_transforms(train):
    def t(img):
        x = img.astype(np.float32) / 255.0
        if train:
            x = np.roll(x, np.random.randint(-4, 5), axis=1)
        return x
    return t
''',
    },
    "hw2.digits_model": {
        "one linear layer on the pixels": '''
def build_digits_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 64 * 64, 4))
''',
        "ten outputs (one per digit 0-9)": '''
def build_digits_model():
    return nn.Sequential(
        nn.Conv2d(3, 16, 5, stride=2, padding=2), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(64, 10))
''',
        "batch size hard-coded in forward": '''
class DigitsNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 5, stride=4, padding=2)
        self.fc = nn.Linear(16 * 16 * 16, 4)

    def forward(self, x):
        return self.fc(F.relu(self.conv(x)).view(32, -1))


def build_digits_model():
    return DigitsNet()
''',
        "constant predictor (a bias only)": '''
class Bias(nn.Module):
    def __init__(self):
        super().__init__()
        self.b = nn.Parameter(torch.zeros(4))

    def forward(self, x):
        return self.b.expand(len(x), 4)


def build_digits_model():
    return Bias()
''',
        "far too slow (wide convs at full resolution)": '''
def build_digits_model():
    return nn.Sequential(
        nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 4))
''',
        "returns the class, not an instance": '''
class DigitsNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, 16, 5, stride=2, padding=2), nn.ReLU(), nn.AdaptiveMaxPool2d(1),
                                 nn.Flatten(), nn.Linear(16, 4))

    def forward(self, x):
        return self.net(x)


def build_digits_model():
    return DigitsNet
''',
    },
}

ALTERNATIVES = {
    "hw2.digits_labels": {
        "regular expression on os.path.basename": '''
import os
import re

def label_from_filename(path):
    m = re.fullmatch(r"digit([0-9])_[0-9]+\\.png", os.path.basename(os.fspath(path)))
    return int(m.group(1))
''',
        "PurePath.stem and str.removeprefix": '''
from pathlib import PurePath

def label_from_filename(path):
    stem = PurePath(str(path)).stem
    label, _, _ = stem.removeprefix("digit").partition("_")
    return int(label)
''',
    },
    "hw2.digits_split": {
        "NumPy: shuffle each class, largest remainders": '''
def split_dataset(paths, labels, test_fraction=0.2, seed=42):
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    n_test = math.ceil(test_fraction * len(labels))
    exact = np.array([test_fraction * np.sum(labels == c) for c in classes])
    share = np.floor(exact).astype(int)
    for k in np.argsort(-(exact - share))[: n_test - share.sum()]:
        share[k] += 1
    test = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:k] for c, k in zip(classes, share)])
    train = np.setdiff1d(np.arange(len(labels)), test)
    return list(rng.permutation(train)), list(test)
''',
        "StratifiedShuffleSplit": '''
def split_dataset(paths, labels, test_fraction=0.2, seed=42):
    from sklearn.model_selection import StratifiedShuffleSplit
    sss = StratifiedShuffleSplit(n_splits=1, test_size=test_fraction, random_state=seed)
    return next(sss.split(np.zeros((len(paths), 1)), np.asarray(labels)))
''',
    },
    "hw2.digits_augment": {
        "hand-written: shifted crop of an edge-padded image, brightness, noise": '''
def make_transforms(train):
    def transform(img):
        x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float() / 255.0
        if train:
            x = F.pad(x[None], (6, 6, 6, 6), mode="replicate")[0]
            i, j = np.random.randint(0, 13, size=2)
            x = x[:, i:i + 64, j:j + 64]
            x = x * np.random.uniform(0.8, 1.2) + 0.03 * torch.randn_like(x)
            x = x.clamp(0.0, 1.0)
        return x.contiguous()
    return transform
''',
        "RandomAffine with black corners and ColorJitter": '''
def make_transforms(train):
    from torchvision.transforms import v2
    if not train:
        return v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
    return v2.Compose([v2.ToImage(), v2.RandomAffine(degrees=12, translate=(0.1, 0.1), scale=(0.9, 1.1)),
                       v2.ColorJitter(0.3, 0.3, 0.3, 0.05), v2.ToDtype(torch.float32, scale=True)])
''',
    },
    "hw2.digits_model": {
        "functional forward, strided convs, global average pooling": '''
class DigitsNet(nn.Module):
    def __init__(self, width=24):
        super().__init__()
        self.c1 = nn.Conv2d(3, width, 3, stride=2, padding=1)
        self.b1 = nn.BatchNorm2d(width)
        self.c2 = nn.Conv2d(width, 2 * width, 3, stride=2, padding=1)
        self.b2 = nn.BatchNorm2d(2 * width)
        self.c3 = nn.Conv2d(2 * width, 2 * width, 3, stride=2, padding=1)
        self.b3 = nn.BatchNorm2d(2 * width)
        self.fc = nn.Linear(2 * width, 4)

    def forward(self, x):
        x = F.relu(self.b1(self.c1(x)))
        x = F.max_pool2d(F.relu(self.b2(self.c2(x))), 2)
        x = F.relu(self.b3(self.c3(x)))
        return self.fc(F.adaptive_max_pool2d(x, 1).flatten(1))


def build_digits_model():
    return DigitsNet()
''',
        "conv blocks, flatten, dropout, two linear layers": '''
def build_digits_model():
    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
    return nn.Sequential(
        nn.AvgPool2d(2),                      # 32x32 first: the digits are large
        *block(3, 16), *block(16, 32), *block(32, 64),  # 4x4
        nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 4))
''',
    },
}

# Correct solutions written to another widely used convention (see tests/test_validity.py).
CONVENTIONS = {
    "hw2.digits_split": {
        'stratified with torch: random_split of each class (sizes rounded down)': {
            "code": '''
def split_dataset(paths, labels, test_fraction=0.2, seed=42):
    # stratified with torch: random_split of each class into (1 - f, f) fractions
    gen = torch.Generator().manual_seed(seed)
    labels = np.asarray(labels)
    train, test = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c).tolist()
        tr, te = torch.utils.data.random_split(idx, [1 - test_fraction, test_fraction], generator=gen)
        train += list(tr)
        test += list(te)
    return np.sort(np.array(train, dtype=np.int64)), np.sort(np.array(test, dtype=np.int64))
''',
            "loses": 0.5, "says": 'random_split'},
    },
    "hw2.digits_augment": {
        'the PyTorch CIFAR-10 tutorial: ToTensor, then Normalize((0.5,) * 3, (0.5,) * 3)': {
            "code": '''
def make_transforms(train):
    # the PyTorch CIFAR-10 tutorial's pipeline: ToTensor, then Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    from torchvision import transforms as T

    half = T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    if not train:
        return T.Compose([T.ToTensor(), half])
    return T.Compose([T.ToPILImage(), T.RandomAffine(degrees=8, translate=(0.05, 0.05), scale=(0.95, 1.05), fill=255),
                      T.ColorJitter(brightness=0.2, contrast=0.2), T.ToTensor(), half])
''',
            "loses": 0.25, "says": 'Normalize'},
    },
}
