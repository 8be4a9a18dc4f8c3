"""A digit at a chosen place (05_cvae_position): canvases with one digit in one cell of a grid,
the condition, the CVAE that draws there (GridCVAE), and the judges of what and where it drew.

    test = positions.place_on_grid(digits, grid=3, cell=16, seed=1)   # fixed cells: val and test
    train_loader = positions.RandomPlacementLoader(digits, cell=16, batch_size=32, seed=0)
    label, row, col = positions.position_parts(test.y)
    c = positions.position_condition(label, row, col)   # one-hot digit + column + row, (B, 16)
    positions.label_accuracy(judge, x, label, row, col)  # the judge reads the asked cell
    positions.position_accuracy(x, row, col, threshold=0.1)  # centre of mass in the asked cell
    model = positions.GridCVAE(test.shape, latent_dim=25)   # the condition at every stage

A label y codes (digit, row, col) as (digit * grid + row) * grid + col. The training loader
re-places every digit in a fresh random cell each epoch, so each digit is seen in all cells.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import train
from .blocks import CropTo, PadToMultiple, conv_block, up_block
from .data import ImageSet, resize, stretch
from .models import ConvEncoder, ConvVAE

# ---------------------------------------------------------------------------------------------
# canvases and conditions
# ---------------------------------------------------------------------------------------------

def paste(small: torch.Tensor, row, col, grid: int = 3) -> torch.Tensor:
    """Paste each image of small (B, C, h, w) into cell (row, col) of a black grid x grid canvas."""
    b, c, h, w = small.shape
    row = torch.as_tensor(row).long().expand(b).to(small.device)
    col = torch.as_tensor(col).long().expand(b).to(small.device)
    canvas = small.new_zeros(b, c, grid * h, grid * w)
    for r in range(grid):
        for k in range(grid):
            here = (row == r) & (col == k)
            canvas[here, :, r * h:(r + 1) * h, k * w:(k + 1) * w] = small[here]
    return canvas


def position_code(label, row, col, grid: int = 3) -> torch.Tensor:
    """The label y of a canvas: (digit * grid + row) * grid + col; position_parts undoes it."""
    label, row, col = (torch.as_tensor(t).long() for t in (label, row, col))
    return (label * grid + row) * grid + col


def position_parts(y: torch.Tensor, grid: int = 3):
    """Decode a canvas label y into (label, row, col), each a long tensor like y."""
    return y // (grid * grid), (y // grid) % grid, y % grid


def place_on_grid(base: ImageSet, grid: int = 3, cell: int = 16, seed: int = 0) -> ImageSet:
    """Shrink each image of base to cell x cell and paste it into one random cell of a canvas.

    The canvas is (grid * cell) pixels square and black elsewhere; item i is base item i, so the
    canvases of a split set are that set's digits. The cells are fixed by the seed (validation and
    test canvases); training uses RandomPlacementLoader, which draws new cells every epoch.
    """
    g = torch.Generator().manual_seed(seed)
    cells = torch.randint(0, grid * grid, (len(base),), generator=g)
    rows, cols = cells // grid, cells % grid
    canvas = paste(resize(base.x, cell), rows, cols, grid)
    classes = [f"{name}@r{r}c{c}" for name in base.classes
               for r in range(grid) for c in range(grid)]
    return ImageSet(canvas, position_code(base.y, rows, cols, grid), classes,
                    f"{base.name}@{grid}x{grid}",
                    source=f"{base.source}, placed on a {grid}x{grid} grid")


def position_condition(label, row, col, grid: int = 3, num_labels: int = 10) -> torch.Tensor:
    """CVAE condition: one-hot label + one-hot column + one-hot row, (B, num_labels + 2 * grid)."""
    label, row, col = (torch.as_tensor(t).long().reshape(-1) for t in (label, row, col))
    if not (len(label) == len(row) == len(col)):
        raise ValueError(f"label, row and col need the same length, got {len(label)}, "
                         f"{len(row)}, {len(col)}")
    for name, t, n in (("label", label, num_labels), ("row", row, grid), ("col", col, grid)):
        if len(t) and (t.min() < 0 or t.max() >= n):
            raise ValueError(f"{name} must lie in [0, {n - 1}], got values {t.unique().tolist()}")
    return torch.cat([F.one_hot(label, num_labels), F.one_hot(col, grid), F.one_hot(row, grid)],
                     dim=1).float()


class RandomPlacementLoader:
    """Training batches (canvas, y) whose digits sit in a fresh random cell every epoch.

    digits: an ImageSet of whole digits (any size; shrunk once to cell x cell). Each epoch draws
    a new order and a new cell per digit from `generator` (saved by train.Checkpoint), so over
    the epochs every digit is seen in many cells rather than always in one.
    """

    def __init__(self, digits: ImageSet, grid: int = 3, cell: int = 16, batch_size: int = 32,
                 seed: int = 0, device=None):
        self.grid, self.batch_size = grid, batch_size
        self.generator = torch.Generator().manual_seed(seed)
        self.x = resize(digits.x, cell).to(device) if device is not None else resize(digits.x, cell)
        self.y = digits.y.to(self.x.device)
        self.shape = (digits.shape[0], grid * cell, grid * cell)

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __iter__(self):
        n, grid = len(self.x), self.grid
        order = torch.randperm(n, generator=self.generator).to(self.x.device)
        cells = torch.randint(0, grid * grid, (n,), generator=self.generator).to(self.x.device)
        for b in range(len(self)):
            idx = order[b * self.batch_size:(b + 1) * self.batch_size]
            row, col = cells[idx] // grid, cells[idx] % grid
            yield paste(self.x[idx], row, col, grid), position_code(self.y[idx], row, col, grid)


# ---------------------------------------------------------------------------------------------
# judging what and where a digit was drawn
# ---------------------------------------------------------------------------------------------

def cell_crop(x: torch.Tensor, row, col, grid: int = 3) -> torch.Tensor:
    """Cut cell (row, col) of a grid x grid canvas out of each image: (B, C, H/grid, W/grid).

    One gather on x's device for the whole batch (no per-image loop, nothing read to the host).
    """
    b, h, w = len(x), x.shape[-2] // grid, x.shape[-1] // grid
    row = torch.as_tensor(row, device=x.device).long().expand(b)
    col = torch.as_tensor(col, device=x.device).long().expand(b)
    ys = (row[:, None] * h + torch.arange(h, device=x.device))[:, None, :, None]  # (B, 1, h, 1)
    xs = (col[:, None] * w + torch.arange(w, device=x.device))[:, None, None, :]  # (B, 1, 1, w)
    return x[torch.arange(b, device=x.device)[:, None, None, None],
             torch.arange(x.shape[1], device=x.device)[None, :, None, None], ys, xs]


def center_of_mass_cell(x: torch.Tensor, grid: int = 3, threshold: float = 0.0):
    """(row, col) of the grid cell that holds each image's centre of mass (of intensity): (B,) each.

    Pixels at or below `threshold` count as empty, so a faint haze over the whole canvas does not
    pull the centre towards the middle. An empty image has no centre: row and col are -1.
    """
    x = x.detach().float().sum(1)  # (B, H, W), channels summed
    x = x * (x > threshold)
    b, h, w = x.shape
    mass = x.flatten(1).sum(1)
    ys = (x.sum(2) * torch.arange(h, device=x.device)).sum(1) / mass.clamp_min(1e-12)
    xs = (x.sum(1) * torch.arange(w, device=x.device)).sum(1) / mass.clamp_min(1e-12)
    row = ((ys + 0.5) * grid / h).long().clamp(0, grid - 1)  # pixel centres at i + 0.5
    col = ((xs + 0.5) * grid / w).long().clamp(0, grid - 1)
    empty = mass <= 1e-6
    return row.masked_fill(empty, -1), col.masked_fill(empty, -1)


def position_accuracy(x: torch.Tensor, row, col, grid: int = 3, threshold: float = 0.0) -> float:
    """Fraction of images whose centre of mass lies in the asked cell (row, col)."""
    r, c = center_of_mass_cell(x, grid, threshold)
    row = torch.as_tensor(row).to(r.device).expand(len(x))
    col = torch.as_tensor(col).to(c.device).expand(len(x))
    return ((r == row) & (c == col)).float().mean().item()


def judge_digits(judge, x: torch.Tensor) -> torch.Tensor:
    """The judge's digit for each image (B,), each image first stretched to a maximum of 1.

    A VAE decodes pixel probabilities, fainter than real strokes; stretching every image (real
    ones too) keeps a judge trained on crisp digits from reading faintness as a class.
    """
    return train.predict(judge, stretch(x)).argmax(1)  # on the judge's device, answers on the CPU


def label_accuracy(judge, x: torch.Tensor, label, row, col, grid: int = 3) -> float:
    """Fraction of canvases x whose asked cell (row, col) the judge reads as the asked label."""
    read = judge_digits(judge, cell_crop(x, row, col, grid))
    return (read == torch.as_tensor(label).expand(len(x))).float().mean().item()


# ---------------------------------------------------------------------------------------------
# the model: a conditional VAE whose condition reaches every stage
# ---------------------------------------------------------------------------------------------

def split_position_condition(c, num_labels: int, grid: int):
    """Split position_condition's c into (label one-hot (B, L), row (B,), col (B,))."""
    label = c[:, :num_labels]
    col = c[:, num_labels:num_labels + grid].argmax(1)
    row = c[:, num_labels + grid:num_labels + 2 * grid].argmax(1)
    return label, row, col


def cell_mask(row, col, grid: int, size) -> torch.Tensor:
    """(B, 1, H, W) maps that are 1 inside cell (row, col) of a grid x grid canvas, 0 elsewhere."""
    h, w = size
    ys = torch.arange(h, device=row.device) * grid // h  # the grid row of each pixel row
    xs = torch.arange(w, device=col.device) * grid // w
    inside = (ys[None, :, None] == row[:, None, None]) & (xs[None, None, :] == col[:, None, None])
    return inside[:, None].float()


class GridCVAE(nn.Module):
    """Conditional VAE for a digit in one cell of a grid (05): the condition reaches every stage.

    c is `position_condition`'s vector: one-hot label (num_labels), one-hot column and
    one-hot row (grid each). ConvCVAE joins c to z once, at the 1x1 code, so its encoder can keep
    the digit's identity in z, and the position is a number, not a place. Here:
    - decoder p(x | z, c): z is copied to every position of the smallest map (a spatial broadcast),
      and before every stage the condition is concatenated as an image: at the `label_stages`
      smallest maps the asked label's channel lit inside the asked cell (num_labels channels), at
      the larger ones the cell's mask (1 channel). Each stage knows what to draw and where, and a
      convolution draws the same shape in any cell;
    - encoder q(z | x, c): reads the asked cell only (a ConvEncoder on one cell) and gets the label
      beside its features, so z needs to hold neither identity nor place: only the style.
    """

    def __init__(self, in_shape, num_labels: int = 10, grid: int = 3, latent_dim: int = 2,
                 channels=(8, 32, 32), decoder: str = "transpose", norm: str = "batch",
                 label_stages: int = 2, hidden: int = 64):
        super().__init__()
        self.in_shape, self.latent_dim = tuple(in_shape), latent_dim
        self.num_labels, self.grid = num_labels, grid
        self.cond_dim = num_labels + 2 * grid
        c, h, w = self.in_shape
        if h % grid or w % grid:
            raise ValueError(f"a {h}x{w} canvas does not split into {grid}x{grid} equal cells")
        self.encoder = ConvEncoder((c, h // grid, w // grid), channels, hidden, "1x1", norm)
        self.to_mu = nn.Linear(hidden + num_labels, latent_dim)  # no activation: any real number
        self.to_logvar = nn.Linear(hidden + num_labels, latent_dim)
        self.multiple = 2 ** len(channels)
        self.pad = PadToMultiple(self.multiple)
        # decoder stage k works on the map 2**k times the smallest; the label map for k < label_stages
        self.with_label = [k < label_stages for k in range(len(channels) + 1)]
        width = lambda k: num_labels if self.with_label[k] else 1  # condition channels at stage k
        c_in = channels[-1]
        # z enters through a linear map that starts at zero: the decoder first learns to draw
        # from the condition alone, and z's noise cannot drown the label (at any latent size)
        self.z_to_map = nn.Linear(latent_dim, c_in)
        nn.init.zeros_(self.z_to_map.weight)
        nn.init.zeros_(self.z_to_map.bias)
        self.from_z = conv_block(c_in + width(0), c_in, norm=norm)  # smallest map
        ups = []
        for k, c_next in enumerate(list(channels[::-1][1:]) + [channels[0]], start=1):
            ups.append(up_block(c_in + width(k - 1), c_next, mode=decoder, norm=norm))
            c_in = c_next
        self.ups = nn.ModuleList(ups)  # each doubles H and W
        self.to_image = nn.Conv2d(c_in + width(len(channels)), c, 3, padding=1)
        self.crop = CropTo()

    def _parts(self, c, n):
        if c is None or c.shape != (n, self.cond_dim):
            got = None if c is None else tuple(c.shape)
            raise ValueError(f"GridCVAE needs c of shape ({n}, {self.cond_dim}) "
                             f"(positions.position_condition), got {got}")
        return split_position_condition(c.float(), self.num_labels, self.grid)

    def _condition_map(self, label, mask, stage, like):
        """The condition as channels at like's size: label lit in the cell, or the mask alone."""
        m = F.adaptive_avg_pool2d(mask, like.shape[-2:])
        return label[:, :, None, None] * m if self.with_label[stage] else m

    def encode(self, x, c):
        """x (B, C, H, W) and c -> (mu, logvar), each (B, latent_dim), from the asked cell."""
        label, row, col = self._parts(c, len(x))
        h = torch.relu(self.encoder(cell_crop(x, row, col, self.grid)).flatten(1))
        h = torch.cat([h, label], dim=1)
        return self.to_mu(h), self.to_logvar(h)

    reparameterize = staticmethod(ConvVAE.reparameterize)  # z = mu + sigma * eps

    def decode(self, z, c, size=None):
        """z (B, latent_dim) and c -> x_hat (B, C, H, W) in (0, 1)."""
        h, w = size or self.in_shape[1:]
        label, row, col = self._parts(c, len(z))
        mask = self.pad(cell_mask(row, col, self.grid, (h, w)))  # (B, 1, H', W'), padded
        small = (mask.shape[-2] // self.multiple, mask.shape[-1] // self.multiple)
        x = self.z_to_map(z)[:, :, None, None].expand(-1, -1, *small)  # z at every position
        x = self.from_z(torch.cat([x, self._condition_map(label, mask, 0, x)], dim=1))
        for k, up in enumerate(self.ups):  # h x w => 2h x 2w, the condition joined first
            x = up(torch.cat([x, self._condition_map(label, mask, k, x)], dim=1))
        x = self.to_image(torch.cat([x, self._condition_map(label, mask, len(self.ups), x)], 1))
        return torch.sigmoid(self.crop(x, (h, w)))

    def forward(self, x, c):
        mu, logvar = self.encode(x, c)
        z = self.reparameterize(mu, logvar) if self.training else mu
        return self.decode(z, c, tuple(x.shape[-2:])), mu, logvar

    @torch.no_grad()
    def sample(self, n, c, generator=None):
        """Decode n draws of z ~ N(0, I) with condition c (n, cond_dim)."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator).to(device)
        return self.decode(z, c.to(device))
