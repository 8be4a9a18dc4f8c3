"""Building blocks: conv/up-sampling blocks, normalisation choice, padding, and `shape_trace`.

    print(blocks.shape_trace(model, x))   # every layer's output shape and parameter count

Introduced in 01_conv_ae; `norm_layer` answers the InstanceNorm-on-1x1 question of 03_anomaly_cats.
This module imports nothing else from the package.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------

def norm_layer(kind: str | None, channels: int) -> nn.Module:
    """A normalisation layer by name: 'batch', 'group', 'instance', 'layer' or None (identity).

    InstanceNorm normalises each channel of each image over its H x W positions, so on a 1x1
    map there is one value to normalise and PyTorch refuses it in training ("Expected more than
    1 spatial element"). GroupNorm pools a group of channels and works at 1x1.
    """
    if kind is None or kind == "none":
        return nn.Identity()
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "group":
        return nn.GroupNorm(math.gcd(8, channels), channels)  # 8 groups, or fewer if it must
    if kind == "layer":
        return nn.GroupNorm(1, channels)  # one group = LayerNorm over (C, H, W)
    raise ValueError(f"unknown norm {kind!r}: use 'batch', 'group', 'instance', 'layer' or None")


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad H and W on the bottom/right (replicating edge pixels) up to a multiple of `multiple`."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x
    return F.pad(x, (0, pw, 0, ph), mode="replicate")


def padded_size(size: int, multiple: int) -> int:
    """The smallest multiple of `multiple` that is >= size."""
    return math.ceil(size / multiple) * multiple


# ---------------------------------------------------------------------------------------------
# blocks
# ---------------------------------------------------------------------------------------------

class PadToMultiple(nn.Module):
    """Pad H and W up to a multiple (a layer, so that shape_trace shows it)."""

    def __init__(self, multiple: int):
        super().__init__()
        self.multiple = multiple

    def forward(self, x):
        return pad_to_multiple(x, self.multiple)


class CropTo(nn.Module):
    """Crop H and W back to a given size (undoes PadToMultiple)."""

    def forward(self, x, size):
        return x[..., : size[0], : size[1]]


def conv_block(c_in: int, c_out: int, stride: int = 1, norm: str | None = "batch",
               act: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """3x3 convolution -> norm -> activation; stride 2 halves H and W."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=norm is None),
                         norm_layer(norm, c_out), act())


def up_block(c_in: int, c_out: int, mode: str = "transpose", norm: str | None = "batch",
             act: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """Double H and W: 'transpose' (ConvTranspose 3x3, stride 2) or 'upsample' (nearest x2 + conv 3x3).

    A 3x3 transposed convolution with stride 2 covers some output pixels with two kernel taps and
    others with one, which prints a checkerboard; upsampling first and then convolving gives
    every output pixel the same number of taps (Odena et al., 2016, "Deconvolution and
    Checkerboard Artifacts"), at the price of a smoother, blurrier start.
    """
    if mode == "transpose":
        up = nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1,
                                bias=norm is None)
    elif mode == "upsample":
        up = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                           nn.Conv2d(c_in, c_out, 3, padding=1, bias=norm is None))
    else:
        raise ValueError(f"unknown up-sampling mode {mode!r}: use 'transpose' or 'upsample'")
    return nn.Sequential(up, norm_layer(norm, c_out), act())


class CSPUp(nn.Module):
    """Cross-stage-partial up-sampling (06_gan_csp): (B, c_in, H, W) -> (B, c_out, 2H, 2W).

    The channels split in two halves. Path A (the shortcut) up-samples its half with one
    transposed convolution + norm; path B does the work: conv 1x1 -> norm -> ReLU -> transposed
    conv -> norm -> conv 3x3 -> norm -> ReLU -> conv 3x3 -> norm. The output is A + B, so half
    the channels take the cheap route, like the CSP blocks of CSPNet (Wang et al., 2019).
    Transposed convs are 4x4 with stride 2 and padding 1, which doubles H and W exactly.
    """

    def __init__(self, c_in: int, c_out: int, norm: str | None = "batch"):
        super().__init__()
        if c_in < 2 or c_in % 2:
            raise ValueError(f"CSPUp splits the input channels in two halves, so c_in must be "
                             f"even and >= 2, got {c_in}")
        half, bias = c_in // 2, norm is None
        up = lambda a, b: nn.ConvTranspose2d(a, b, 4, stride=2, padding=1, bias=bias)  # H => 2H
        self.path_a = nn.Sequential(up(half, c_out), norm_layer(norm, c_out))
        self.path_b = nn.Sequential(
            nn.Conv2d(half, half, 1, bias=bias), norm_layer(norm, half), nn.ReLU(),
            up(half, half), norm_layer(norm, half),
            nn.Conv2d(half, half, 3, padding=1, bias=bias), norm_layer(norm, half), nn.ReLU(),
            nn.Conv2d(half, c_out, 3, padding=1, bias=bias), norm_layer(norm, c_out))

    def forward(self, x):
        a, b = x.chunk(2, dim=1)  # two halves of the channels
        return self.path_a(a) + self.path_b(b)


class PlainUp(nn.Module):
    """Plain up-sampling (06, 004-a): transposed conv 4x4/2 -> norm -> ReLU -> conv 3x3 -> norm.

    (B, c_in, H, W) -> (B, c_out, 2H, 2W), one path for all channels. width (the channels
    between the two convolutions) defaults to the one whose parameter count is closest to
    CSPUp(c_in, c_out, norm)'s, so the two blocks can be compared at equal parameters.
    """

    def __init__(self, c_in: int, c_out: int, norm: str | None = "batch", width: int | None = None):
        super().__init__()
        bias = norm is None
        if width is None:
            target = sum(p.numel() for p in CSPUp(c_in + c_in % 2, c_out, norm).parameters())
            per_width = 16 * c_in + 9 * c_out + (1 if bias else 2) + (1 if bias else 0)
            width = max(1, round((target - (c_out if bias else 2 * c_out)) / per_width))
        self.width = width
        self.body = nn.Sequential(
            nn.ConvTranspose2d(c_in, width, 4, stride=2, padding=1, bias=bias),
            norm_layer(norm, width), nn.ReLU(),
            nn.Conv2d(width, c_out, 3, padding=1, bias=bias), norm_layer(norm, c_out))

    def forward(self, x):
        return self.body(x)


# ---------------------------------------------------------------------------------------------
# inspection
# ---------------------------------------------------------------------------------------------

def shape_trace(model: nn.Module, x: torch.Tensor, verbose: bool = True,
                extra=()) -> list[dict]:
    """Run x through the model; return (and print) each leaf layer's output shape and parameters.

    `extra` holds further inputs of model(x, *extra), e.g. the condition of 05's CVAE.
    """
    rows, hooks = [], []

    def hook(name):
        def record(module, inputs, output):
            out = output[0] if isinstance(output, tuple) else output
            shape = tuple(out.shape[1:]) if torch.is_tensor(out) else "-"
            rows.append({"layer": name, "type": type(module).__name__, "shape": shape,
                         "params": sum(p.numel() for p in module.parameters(recurse=False))})
        return record

    for name, module in model.named_modules():
        if name and not list(module.children()):
            hooks.append(module.register_forward_hook(hook(name)))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(x, *extra)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    if verbose:
        total = sum(p.numel() for p in model.parameters())
        print(f"input {tuple(x.shape[1:])}")
        width = max(len(r["layer"]) for r in rows) if rows else 5
        for r in rows:
            print(f"  {r['layer']:<{width}}  {r['type']:<16} {str(r['shape']):<16} {r['params']:>8,}")
        print(f"total parameters: {total:,}")
    return rows


def input_sensitivity(model: nn.Module, x: torch.Tensor, fn=None) -> torch.Tensor:
    """Which input pixels the output of fn (default model.encode) depends on: the mean over the
    batch of |d sum(fn(x)**2) / dx|, summed over channels, as a CPU map (H, W); 0 = never read.

    Introduced in 01_conv_ae to show that an encoder shrinking with nn.Upsample(size=1) reads
    only the top-left corner. Runs in eval mode on the model's device and puts the mode back.
    """
    fn = fn or model.encode
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        x = x.detach().to(device).requires_grad_(True)
        fn(x).pow(2).sum().backward()
        grad = x.grad.abs().sum(1).mean(0)
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    return grad.cpu()
