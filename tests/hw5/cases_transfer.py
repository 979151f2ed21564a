"""Mutants and alternative correct solutions: face augmentation, VGG16 transfer, light VGG (002 P5)."""

_EXPAND = '''

def augment_dataset(images, labels, transform, copies):
    images = np.asarray(images)
    x = [torch.from_numpy(images.transpose(0, 3, 1, 2).astype(np.float32) / 255.0)]
    x += [torch.stack([transform(im) for im in images]) for _ in range(copies)]
    return torch.cat(x), torch.as_tensor(np.asarray(labels), dtype=torch.long).repeat(copies + 1)
'''

MUTANTS = {
    "hw5.augmentation": {
        "random vertical flip (upside-down faces)": '''
def make_face_transforms(train):
    from torchvision.transforms import v2
    steps = [v2.ToImage()]
    if train:
        steps += [v2.RandomVerticalFlip(), v2.RandomHorizontalFlip()]
    return v2.Compose(steps + [v2.ToDtype(torch.float32, scale=True)])
''' + _EXPAND,
        "rotations up to 180 degrees": '''
def make_face_transforms(train):
    from torchvision.transforms import v2
    steps = [v2.ToImage()]
    if train:
        steps += [v2.RandomRotation(180)]
    return v2.Compose(steps + [v2.ToDtype(torch.float32, scale=True)])
''' + _EXPAND,
        "ImageNet Normalize in both transforms": '''
def make_face_transforms(train):
    from torchvision.transforms import v2
    steps = [v2.ToImage()]
    if train:
        steps += [v2.RandomHorizontalFlip(), v2.RandomAffine(degrees=10, translate=(0.1, 0.1))]
    return v2.Compose(steps + [v2.ToDtype(torch.float32, scale=True),
                               v2.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
''' + _EXPAND,
        "fixed-size RandomResizedCrop(64) (wrong size for other faces, crops away the face)": '''
def make_face_transforms(train):
    from torchvision.transforms import v2
    steps = [v2.ToImage()]
    if train:
        steps += [v2.RandomResizedCrop(64)]
    return v2.Compose(steps + [v2.ToDtype(torch.float32, scale=True)])
''' + _EXPAND,
        "noise added without clamping": '''
def make_face_transforms(train):
    def t(img):
        x = torch.from_numpy(img.transpose(2, 0, 1).astype(np.float32) / 255.0)
        if train:
            x = x + 0.1 * torch.randn_like(x)
        return x
    return t
''' + _EXPAND,
        "augment_dataset: labels not repeated for the copies": '''
def make_face_transforms(train):
    from torchvision.transforms import v2
    steps = [v2.ToImage()]
    if train:
        steps += [v2.RandomHorizontalFlip(), v2.RandomAffine(degrees=10, translate=(0.08, 0.08))]
    return v2.Compose(steps + [v2.ToDtype(torch.float32, scale=True)])


def augment_dataset(images, labels, transform, copies):
    images = np.asarray(images)
    x = [torch.from_numpy(images.transpose(0, 3, 1, 2).astype(np.float32) / 255.0)]
    x += [torch.stack([transform(im) for im in images]) for _ in range(copies)]
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    return torch.cat(x), torch.cat([y, torch.sort(y).values.repeat(copies)])
''',
        "augment_dataset: copies only, the originals left out": '''
def make_face_transforms(train):
    from torchvision.transforms import v2
    steps = [v2.ToImage()]
    if train:
        steps += [v2.RandomHorizontalFlip(), v2.RandomAffine(degrees=10, translate=(0.08, 0.08))]
    return v2.Compose(steps + [v2.ToDtype(torch.float32, scale=True)])


def augment_dataset(images, labels, transform, copies):
    x = torch.stack([transform(im) for _ in range(copies + 1) for im in images])
    return x, torch.as_tensor(np.asarray(labels), dtype=torch.long).repeat(copies + 1)
''',
    },
    "hw5.transfer_vgg": {
        "head not replaced (1000 ImageNet outputs)": '''
def build_transfer_model(num_classes=8, pretrained=False):
    from torchvision.models import vgg16
    model = vgg16(weights=None)
    for p in model.features.parameters():
        p.requires_grad_(False)
    return model


def make_transfer_optimizer(model, lr=1e-3):
    return torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
''',
        "features not frozen": '''
def build_transfer_model(num_classes=8, pretrained=False):
    from torchvision.models import vgg16
    model = vgg16(weights=None)
    for p in model.classifier.parameters():
        p.requires_grad_(False)
    model.classifier[6] = nn.Linear(4096, num_classes)
    return model


def make_transfer_optimizer(model, lr=1e-3):
    return torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
''',
        "everything frozen, the new head too": '''
def build_transfer_model(num_classes=8, pretrained=False):
    from torchvision.models import vgg16
    model = vgg16(weights=None)
    model.classifier[6] = nn.Linear(4096, num_classes)
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def make_transfer_optimizer(model, lr=1e-3):
    return torch.optim.Adam(model.classifier[6].parameters(), lr=lr)
''',
        "only the head's weight trainable, its bias frozen": '''
def build_transfer_model(num_classes=8, pretrained=False):
    from torchvision.models import vgg16
    model = vgg16(weights=None)
    model.classifier[6] = nn.Linear(4096, num_classes)
    for name, p in model.named_parameters():
        p.requires_grad_(name == "classifier.6.weight")
    return model


def make_transfer_optimizer(model, lr=1e-3):
    return torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
''',
        "whole classifier trainable (only features frozen)": '''
def build_transfer_model(num_classes=8, pretrained=False):
    from torchvision.models import vgg16
    model = vgg16(weights=None)
    model.features.requires_grad_(False)
    model.classifier[6] = nn.Linear(4096, num_classes)
    return model


def make_transfer_optimizer(model, lr=1e-3):
    return torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
''',
        "optimizer over all parameters, lr ignored": '''
def build_transfer_model(num_classes=8, pretrained=False):
    from torchvision.models import vgg16
    model = vgg16(weights=None)
    model.requires_grad_(False)
    model.classifier[6] = nn.Linear(4096, num_classes)
    return model


def make_transfer_optimizer(model, lr=1e-3):
    return torch.optim.Adam(model.parameters(), lr=1e-3)
''',
    },
    "hw5.light_vgg": {
        "flatten size wrong (four pools, Linear(8192, 1024))": '''
class LightVGG(nn.Module):
    def __init__(self, num_outputs=8):
        super().__init__()
        layers, cin = [], 3
        for k, cout in enumerate((16, 32, 64, 128, 128)):
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU()]
            if k < 4:
                layers.append(nn.MaxPool2d(2))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(128 * 8 * 8, 1024), nn.ReLU(),
                                        nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, num_outputs))

    def forward(self, x):
        return self.classifier(self.features(x))
''',
        "a conv missing in the last block": '''
class LightVGG(nn.Module):
    def __init__(self, num_outputs=8):
        super().__init__()
        layers, cin = [], 3
        for k, cout in enumerate((16, 32, 64, 128, 128)):
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU()]
            if k < 4:
                layers += [nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU()]
            layers.append(nn.MaxPool2d(2))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(2048, 1024), nn.ReLU(),
                                        nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, num_outputs))

    def forward(self, x):
        return self.classifier(self.features(x))
''',
        "padding 0 in the first conv of every block (flatten adjusted to 512)": '''
class LightVGG(nn.Module):
    def __init__(self, num_outputs=8):
        super().__init__()
        layers, cin = [], 3
        for cout in (16, 32, 64, 128, 128):
            layers += [nn.Conv2d(cin, cout, 3), nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU(),
                       nn.MaxPool2d(2)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(128 * 2 * 2, 1024), nn.ReLU(),
                                        nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, num_outputs))

    def forward(self, x):
        return self.classifier(self.features(x))
''',
        "no ReLU between the dense layers": '''
class LightVGG(nn.Module):
    def __init__(self, num_outputs=8):
        super().__init__()
        layers, cin = [], 3
        for cout in (16, 32, 64, 128, 128):
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU(),
                       nn.MaxPool2d(2)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(2048, 1024), nn.Linear(1024, 1024),
                                        nn.Linear(1024, num_outputs))

    def forward(self, x):
        return self.classifier(self.features(x))
''',
        "BatchNorm after every conv": '''
class LightVGG(nn.Module):
    def __init__(self, num_outputs=8):
        super().__init__()
        layers, cin = [], 3
        for cout in (16, 32, 64, 128, 128):
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                       nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(2048, 1024), nn.ReLU(),
                                        nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, num_outputs))

    def forward(self, x):
        return self.classifier(self.features(x))
''',
        "num_outputs ignored (always 8)": '''
class LightVGG(nn.Module):
    def __init__(self, num_outputs=8):
        super().__init__()
        layers, cin = [], 3
        for cout in (16, 32, 64, 128, 128):
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU(),
                       nn.MaxPool2d(2)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(2048, 1024), nn.ReLU(),
                                        nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 8))

    def forward(self, x):
        return self.classifier(self.features(x))
''',
    },
}

ALTERNATIVES = {
    "hw5.augmentation": {
        "hand-written NumPy augmentation (flip, shift, brightness), a loop in augment_dataset": '''
def make_face_transforms(train):
    rng = np.random.default_rng()

    def t(img):
        x = np.asarray(img).astype(np.float32) / 255.0
        if train:
            if rng.random() < 0.5:
                x = x[:, ::-1]
            dy, dx = rng.integers(-3, 4, 2)
            x = np.roll(x, (int(dy), int(dx)), axis=(0, 1))
            x = np.clip(x * rng.uniform(0.8, 1.2) + rng.uniform(-0.1, 0.1), 0.0, 1.0)
        return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))).float()
    return t


def augment_dataset(images, labels, transform, copies):
    xs, ys = [], []
    for im, lab in zip(images, labels):
        xs.append(torch.from_numpy(np.asarray(im).transpose(2, 0, 1).astype(np.float32)) / 255.0)
        ys.append(int(lab))
    for _ in range(copies):
        for im, lab in zip(images, labels):
            xs.append(transform(im))
            ys.append(int(lab))
    return torch.stack(xs), torch.tensor(ys, dtype=torch.int64)
''',
        "old torchvision.transforms API (ToTensor, RandomAffine)": '''
def make_face_transforms(train):
    from torchvision import transforms as T
    steps = [T.ToTensor()]
    if train:
        steps += [T.RandomHorizontalFlip(), T.RandomRotation(10), T.ColorJitter(0.2, 0.2)]
    return T.Compose(steps)
''' + _EXPAND,
    },
    "hw5.transfer_vgg": {
        "requires_grad_ on submodules, head replaced first, optimizer via filter": '''
import torchvision


def build_transfer_model(num_classes=8, pretrained=False):
    model = torchvision.models.vgg16()
    model.classifier[-1] = nn.Linear(model.classifier[-1].in_features, num_classes)
    model.features.requires_grad_(False)
    for layer in list(model.classifier)[:-1]:
        layer.requires_grad_(False)
    return model


def make_transfer_optimizer(model, lr=1e-3):
    return torch.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=lr, momentum=0.9)
''',
    },
    "hw5.light_vgg": {
        "explicit layers, functional ReLU and pooling, padding='same'": '''
class LightVGG(nn.Module):
    def __init__(self, num_outputs=8):
        super().__init__()
        chans = [3, 16, 16, 32, 32, 64, 64, 128, 128, 128, 128]
        self.convs = nn.ModuleList([nn.Conv2d(a, b, kernel_size=3, padding="same") for a, b in zip(chans[:-1], chans[1:])])
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, 1024)
        self.out = nn.Linear(1024, num_outputs)

    def forward(self, x):
        for i, conv in enumerate(self.convs):
            x = F.relu(conv(x))
            if i % 2 == 1:
                x = F.max_pool2d(x, 2)
        x = x.reshape(x.shape[0], -1)
        x = F.dropout(F.relu(self.fc1(x)), 0.5, self.training)
        return self.out(F.relu(self.fc2(x)))
''',
    },
}

# Correct solutions written to another widely used convention (see tests/test_validity.py).
CONVENTIONS = {
    "hw5.augmentation": {
        "ToTensor then ImageNet's Normalize (the PyTorch transfer-learning tutorial)": {
            "code": '''
def make_face_transforms(train):
    # the PyTorch transfer-learning tutorial's pipeline: ToTensor, then ImageNet's Normalize
    from torchvision import transforms as T

    imagenet = T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    if not train:
        return T.Compose([T.ToTensor(), imagenet])
    return T.Compose([T.ToPILImage(), T.RandomHorizontalFlip(), T.RandomRotation(10),
                      T.ColorJitter(brightness=0.2, contrast=0.2), T.ToTensor(), imagenet])
''',
            "loses": 0.3, "says": 'ImageNet'},
    },
    "hw5.transfer_vgg": {
        "Keras's guide: freeze the convolutional base only, train the whole classifier": {
            "code": '''
def build_transfer_model(num_classes=8, pretrained=False):
    # Keras's transfer-learning guide: freeze the convolutional base, train the classifier on top
    from torchvision.models import VGG16_Weights, vgg16

    model = vgg16(weights=VGG16_Weights.IMAGENET1K_V1 if (pretrained and vgg16_weights_cached()) else None)
    model.features.requires_grad_(False)
    model.classifier[6] = nn.Linear(model.classifier[6].in_features, num_classes)
    return model
''',
            "loses": 0.45, "says": 'Keras'},
    },
}
