"""One independent judge of generated digits, with the field's sample metrics.

    ev = evaluate.evaluator(train_set, test_set)        # trained once, cached under build/evaluator/
    reference = train_set.subset(range(2000))                       # real digits to compare with
    ceiling = evaluate.ceiling(ev, val, reference, test)            # held-out real digits
    scores = evaluate.judge(ev, samples, labels, reference, test)
    # {'accuracy', 'per_class', 'worst', 'precision', 'recall', 'kid', 'diversity', 'cas'}

The evaluator is a digit classifier of its own architecture (no notebook's judge), trained on the
training split only, with shifts, small rotations and blur, so that a VAE's soft strokes are not
a class of their own. It only reports: it is never part of a loss and never picks a checkpoint,
step, weight, recipe or seed. Its metrics, each to be set beside the same number for held-out real
digits:

- accuracy (all, per class, worst): the evaluator reads the digit asked for;
- precision and recall (Kynkaanniemi et al. 2019, k = 5) in its feature space: samples inside the
  real digits' manifold, and real digits inside the samples' (collapse shows as recall near 0);
- KID (Binkowski et al. 2018): unbiased MMD with a cubic kernel on features centred on the real
  set and divided by one scale for all of them (not each by its own: a feature that never fires
  on real digits would turn a sample's faint activation there into a huge one); 0 when the two
  match;
- diversity: within-class spread of the samples' features over that of real digits;
- CAS (Ravuri & Vinyals 2019): a classifier trained on the samples, tested on real test digits.

Introduced for notebooks 04-06 (the generative ones); imports train, metrics and plots (read_grid).
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import config
from .metrics import accuracy as share_right
from .metrics import gaussian_blur, mean_pairwise_distance
from .train import predict

SIZE = 28  # the evaluator reads 28x28 grey digits; other sizes are resized to this
CACHE = config.REPO_ROOT / "build" / "evaluator"


# ---------------------------------------------------------------------------- the network


class Evaluator(nn.Module):
    """Two conv blocks (16 and 32 channels, 28 -> 14 -> 7), a 128-number feature layer, 10 logits.

    Narrow on purpose: it trains in about a minute on two CPU cores and still reads real test
    digits about 0.98 right; CAS trains one of these per sample set."""

    def __init__(self, num_classes: int = 10, channels: tuple[int, int] = (16, 32)):
        super().__init__()
        c1, c2 = channels
        block = lambda c_in, c_out: nn.Sequential(  # conv, conv, pool: 28x28 => 14x14 => 7x7
            nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(),
            nn.MaxPool2d(2))
        self.body = nn.Sequential(block(1, c1), block(c1, c2), nn.Flatten(),
                                  nn.Linear(c2 * 7 * 7, 128), nn.ReLU())
        self.head = nn.Linear(128, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The 128 features the sample metrics compare, of x (N, 1, H, W) in [0, 1]."""
        return self.body(to_evaluator_size(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def to_evaluator_size(x: torch.Tensor) -> torch.Tensor:
    """Grey (N, 1, 28, 28): colour averaged to grey, other sizes resized (bilinear, antialiased)."""
    if x.shape[1] != 1:
        x = x.mean(1, keepdim=True)
    if x.shape[-2:] != (SIZE, SIZE):
        x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", antialias=True, align_corners=False)
    return x


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random shifts (up to 2 px), rotations (up to 10 degrees) and, for half the images, a blur
    of sigma up to 1 px: what handwriting and a decoder's softness vary, not what a digit is."""
    n = len(x)
    draw = lambda *shape: torch.rand(*shape, generator=generator).to(x.device)
    angle = (draw(n) * 2 - 1) * math.radians(10)
    shift = (draw(n, 2) * 2 - 1) * (2 / (SIZE / 2))  # affine_grid works in [-1, 1] coordinates
    theta = torch.stack([torch.stack([angle.cos(), -angle.sin(), shift[:, 0]], 1),
                         torch.stack([angle.sin(), angle.cos(), shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, padding_mode="zeros", align_corners=False)
    sharp = draw(n) < 0.5  # half the batch stays sharp; the others get sigma in (0.2, 1] px
    blurred = gaussian_blur(x, 0.2 + 0.8 * draw(n))
    return torch.where(sharp[:, None, None, None], x, blurred).clamp(0, 1)


# ---------------------------------------------------------------------------- training and cache


def train_classifier(x: torch.Tensor, y: torch.Tensor, steps: int, seed: int = 0,
                     augmented: bool = True, batch_size: int = 128, device=None) -> Evaluator:
    """A fresh Evaluator trained for `steps` Adam steps on (x, y); returned in eval mode."""
    device = torch.device(device) if device else config.pick_device()
    torch.manual_seed(seed)
    model = Evaluator().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    generator = torch.Generator().manual_seed(seed)
    x, y = to_evaluator_size(x), y.long()
    for _ in range(steps):
        idx = torch.randint(len(x), (batch_size,), generator=generator)
        xb, yb = x[idx].to(device), y[idx].to(device)
        if augmented:
            xb = augment(xb, generator)
        loss = F.cross_entropy(model(xb), yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model.eval()


def _key(train_set, steps: int, batch_size: int) -> str:
    """What the cached evaluator depends on: its training images and labels, steps, batch, code."""
    h = hashlib.sha256()
    h.update(train_set.x.numpy().tobytes())
    h.update(train_set.y.numpy().tobytes())
    h.update(f"{steps} {batch_size}".encode() + Path(__file__).read_bytes())
    return h.hexdigest()[:16]


def evaluator(train_set, test_set=None, steps: int = 1500, batch_size: int = 128,
              cache: Path | None = CACHE) -> Evaluator:
    """The evaluator for this training split: loaded from build/evaluator/ when the same images,
    steps and code trained it before, else trained (a few minutes on 2 CPU cores) and saved.
    With a test set, its accuracy there is stored beside it (`evaluator.test_accuracy`)."""
    path = (Path(cache) / f"evaluator-{_key(train_set, steps, batch_size)}.pt") if cache else None
    model = Evaluator()
    if path is not None and path.exists():
        saved = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(saved["state"])
        model.test_accuracy = saved.get("test_accuracy")
        return model.eval()
    model = train_classifier(train_set.x, train_set.y, steps, batch_size=batch_size).cpu()
    model.test_accuracy = (accuracy(model, test_set.x, test_set.y)[0] if test_set is not None
                           else None)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save({"state": model.state_dict(), "test_accuracy": model.test_accuracy}, tmp)
        tmp.replace(path)  # atomic: two notebooks training at once never read half a file
    return model


# ---------------------------------------------------------------------------- the metrics


def accuracy(model: Evaluator, x: torch.Tensor, y: torch.Tensor) -> tuple[float, dict]:
    """(share read as their label, {class: share}) of images x with labels y."""
    pred = predict(model, x).argmax(1)
    y = torch.as_tensor(y).long()
    per_class = {int(c): share_right(pred[y == c], y[y == c]) for c in y.unique()}
    return share_right(pred, y), per_class


def read(model: Evaluator, x: torch.Tensor) -> list[str]:
    """What the evaluator reads in each image of x, as "digit probability" (e.g. "7 .98"): the
    caption under each sample in a figure."""
    probs = torch.softmax(predict(model, x), 1)
    p, digit = probs.max(1)
    return [f"{d} {v:.2f}".replace("0.", ".").replace("1.00", "1.0") for d, v in
            zip(digit.tolist(), p.tolist())]


def read_grid(model: Evaluator, rows, **kwargs):
    """plots.image_grid of `rows` (image batches) with the evaluator's reading under each image;
    kwargs go to image_grid (row_titles, col_titles, scale)."""
    from .plots import image_grid

    rows = list(rows)
    fig = image_grid(rows, **kwargs)
    n_cols = max(len(r) for r in rows)
    for i, row in enumerate(rows):
        for j, text in enumerate(read(model, row)):
            fig.axes[i * n_cols + j].set_xlabel(text, fontsize=8, labelpad=1)
    fig.set_size_inches(fig.get_figwidth(), fig.get_figheight() * 1.25)  # room for the readings
    return fig


def features(model: Evaluator, x: torch.Tensor) -> torch.Tensor:
    """The evaluator's 128 features of x, on the CPU."""
    return predict(model, x, fn=model.features)


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 5) -> tuple[float, float]:
    """Kynkaanniemi et al. 2019: precision, the share of fake features inside some real feature's
    ball (radius: its distance to its k-th nearest real neighbour); recall, the same with roles
    swapped."""
    def radii(f):  # distance to the k-th nearest neighbour, itself excluded
        d = torch.cdist(f, f)
        return d.kthvalue(min(k + 1, len(f)), dim=1).values

    def inside(points, centres, r):
        return (torch.cdist(points, centres) <= r[None, :]).any(1).float().mean().item()

    real, fake = real.double(), fake.double()
    return inside(fake, real, radii(real)), inside(real, fake, radii(fake))


def kid(real: torch.Tensor, fake: torch.Tensor, subset: int = 500, subsets: int = 20,
        seed: int = 0) -> float:
    """Kernel inception distance (Binkowski et al. 2018): the unbiased MMD^2 with kernel
    (a.b / d + 1)^3, averaged over random subsets; unitless, 0 when the two sets match.

    Features are centred on the real set and divided by one scale, the real set's root mean
    square deviation over all features: one scale keeps the kernel's size the same for any
    feature extractor, while a scale per feature would blow up features that are (nearly)
    constant on the real set, such as ReLUs that never fire on real digits."""
    real, fake = real.double(), fake.double()
    mean = real.mean(0)
    scale = (real - mean).pow(2).mean().sqrt().clamp_min(1e-12)
    real, fake = (real - mean) / scale, (fake - mean) / scale
    d, m = real.shape[1], min(subset, len(real), len(fake))
    generator = torch.Generator().manual_seed(seed)
    kernel = lambda a, b: (a @ b.T / d + 1) ** 3
    total = 0.0
    for _ in range(subsets):
        r = real[torch.randperm(len(real), generator=generator)[:m]]
        f = fake[torch.randperm(len(fake), generator=generator)[:m]]
        krr, kff, krf = kernel(r, r), kernel(f, f), kernel(r, f)
        off = lambda k: (k.sum() - k.diagonal().sum()) / (m * (m - 1))
        total += (off(krr) + off(kff) - 2 * krf.mean()).item()
    return total / subsets


def diversity(feats: torch.Tensor, y: torch.Tensor) -> float:
    """Mean pairwise feature distance within each class (metrics.mean_pairwise_distance),
    averaged over classes."""
    y = torch.as_tensor(y)
    spreads = [mean_pairwise_distance(feats[y == c]) for c in y.unique() if (y == c).sum() > 1]
    return sum(spreads) / len(spreads) if spreads else 0.0


def cas(x: torch.Tensor, y: torch.Tensor, test_set, steps: int = 400, seed: int = 0) -> float:
    """Classification accuracy score: a classifier trained on (x, y) alone, read on real test digits."""
    model = train_classifier(x, y, steps, seed=seed, augmented=False).cpu()
    return accuracy(model, test_set.x, test_set.y)[0]


def judge(model: Evaluator, x: torch.Tensor, y: torch.Tensor | None, reference, test=None,
          cas_steps: int = 400, k: int = 5) -> dict:
    """Every metric of x (labels y) against the real `reference` set; CAS on `test` when given.

    Judge held-out real digits the same way to get the ceiling (`ceiling` caches that); the
    reference is another real set (e.g. training digits), never the held-out digits themselves.
    Unconditional samples (y None) get precision, recall, KID, the diversity ratio over all
    samples and `class_balance`: ten times the share of the digit the evaluator reads least
    often (1 when all ten are drawn equally often, 0 when one is missing).
    """
    real_f, fake_f = features(model, reference.x), features(model, x)
    precision, recall = precision_recall(real_f, fake_f, k=k)
    out = {"precision": precision, "recall": recall, "kid": kid(real_f, fake_f)}
    if y is None:
        read = model.head(fake_f).argmax(1)
        out["class_balance"] = (torch.bincount(read, minlength=10).min() * 10 / len(read)).item()
        out["diversity"] = mean_pairwise_distance(fake_f) / mean_pairwise_distance(real_f)
        return out
    acc, per_class = accuracy(model, x, y)
    out.update(accuracy=acc, per_class=per_class, worst=min(per_class.values()),
               diversity=diversity(fake_f, y) / max(diversity(real_f, reference.y), 1e-12))
    if test is not None:
        out["cas"] = cas(x, y, test, steps=cas_steps)
    return out


def ceiling(model: Evaluator, real, reference, test, cas_steps: int = 400,
            cache: Path | None = CACHE) -> dict:
    """`judge` of held-out `real` digits against `reference` (the numbers no sample set judged
    against the same reference should beat), cached beside the evaluator, keyed by its weights,
    the three sets and this module's code (which computes the metrics). `real` must not be
    `reference`: every point lies in its own ball."""
    import json

    h = hashlib.sha256()
    h.update(str(cas_steps).encode() + Path(__file__).read_bytes())
    for t in (*model.state_dict().values(), real.x, real.y, reference.x, reference.y, test.x,
              test.y):
        h.update(t.detach().cpu().numpy().tobytes())
    path = Path(cache) / f"ceiling-{h.hexdigest()[:16]}.json" if cache else None
    if path is not None and path.exists():
        out = json.loads(path.read_text())
        out["per_class"] = {int(c): v for c, v in out["per_class"].items()}
        return out
    out = judge(model, real.x, real.y, reference, test, cas_steps=cas_steps)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out))
    return out


def judged_accuracy(netG, judge, n_per_class: int = 100, generator=None) -> tuple[float, dict]:
    """Share of G's images (n_per_class per label) the judge reads as the label asked; per label too."""
    asked = torch.arange(netG.num_classes).repeat(n_per_class)  # 0..K-1, n_per_class times
    pred = predict(judge, netG.sample(len(asked), asked, generator=generator)).argmax(1)
    per = {str(k): (pred[asked == k] == k).float().mean().item() for k in range(netG.num_classes)}
    return (pred == asked).float().mean().item(), per


def judge_each_epoch(netG, judge, curve: list, n_per_class: int = 50, seed: int = 5,
                     steps_per_epoch: int = 1):
    """A gan.fit_gan callback: after each epoch append {step, accuracy, min (the worst label)} of
    netG's judged draws (the same seeded draws every epoch) to curve. It only records: nothing
    is kept or chosen by it."""
    def measure(epoch):
        acc, per = judged_accuracy(netG, judge, n_per_class,
                                   generator=torch.Generator().manual_seed(seed))
        curve.append({"step": epoch * steps_per_epoch, "accuracy": acc, "min": min(per.values())})
    return SimpleNamespace(on_epoch=lambda run: measure(run.epoch))


def save_samples(path, x: torch.Tensor, y: torch.Tensor | None) -> Path:
    """The judged samples as uint8 images with their labels (npz; -1 for unconditional draws),
    so anyone can judge them again."""
    import numpy as np

    y = torch.full((len(x),), -1) if y is None else y
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, images=(x.clamp(0, 1) * 255).round().to(torch.uint8).numpy(),
                        labels=torch.as_tensor(y).numpy())
    return path


def load_samples(path) -> tuple[torch.Tensor, torch.Tensor]:
    """(images in [0, 1], labels) saved by `save_samples`."""
    import numpy as np

    with np.load(path) as f:
        return torch.from_numpy(f["images"]).float() / 255, torch.from_numpy(f["labels"]).long()


def describe(model: Evaluator) -> str:
    """One line for a report: what the evaluator is and how well it reads real test digits."""
    acc = getattr(model, "test_accuracy", None)
    return ("an independent CNN (two conv blocks, trained on the training split with shifts, "
            "rotations and blur)" + (f", {acc:.3f} on real test digits" if acc is not None else ""))


