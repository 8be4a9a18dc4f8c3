"""Well crops for leak detection (07_well_leaks): a seeded generator, and your own folder.

    sets = wells.synthetic(n_train=800, n_leak=60, n_test_normal=150, n_test_leak=50, seed=0)
    sets["train"], sets["leak"], sets["test"]          # ImageSets; labels 0 = normal, 1 = leak
    sets = wells.load_folder("data/wells", size=64)     # the same three sets from disk (`full`)

The original task photographed wells from above and cut small crops around each one, padded with
black to 64 x 64. Those images are not public, so `render` draws look-alikes: a lit well (a bright
ring around a darker or brighter disc) on textured ground, of varying colour, size, position in
the crop and light, pasted on black; a leak ("proliv") is a dark spill running out from the rim.
Every random draw comes from one torch.Generator, so a seed gives the same tensors on any machine.

`framing` says how a crop becomes size x size: "pad" (as the originals: the crop at its own scale
in the middle of a black canvas) or "crop" (the same crop stretched to fill the canvas, no black).
Real crops come padded already: `crop_to_content` removes the black border of any image, and
`content_mask` marks the crop inside a padded canvas (to score only there).
Introduced in 07_well_leaks. This module imports only config and data.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F

from . import config, data

CLASSES = ["normal", "leak"]
FRAMINGS = ("pad", "crop")
# How hard a leak is to tell from a shadow. "easy" (the first generator): leaks darken the rim's
# surroundings by 0.6-0.9, shadows (in half the crops) by 0.25-0.55, so darkness alone nearly
# separates them. "hard" (the default): leak and shadow darkness overlap, shadows lie in 80% of
# crops, and some leaks are faint, narrow or short; only *where* the dark runs (out of the rim)
# gives a leak away. Each range is (low, high) of a uniform draw; the draws' order is the same.
DIFFICULTIES = {
    "easy": {"leak_width": (0.3, 0.9), "leak_reach": (0.4, 1.2), "leak_dark": (0.6, 0.9),
             "shadow_share": 0.5, "shadow_dark": (0.25, 0.55)},
    "hard": {"leak_width": (0.2, 0.9), "leak_reach": (0.3, 1.0), "leak_dark": (0.3, 0.75),
             "shadow_share": 0.8, "shadow_dark": (0.3, 0.7)},
}


# ---------------------------------------------------------------------------------------------
# scene parameters: one row per image, all drawn from one generator
# ---------------------------------------------------------------------------------------------

def _uniform(g, n, low, high):
    return low + (high - low) * torch.rand(n, generator=g)


def _draw_scenes(n: int, g: torch.Generator, crop_range, difficulty: str = "hard") -> dict:
    """Random geometry, colours and light of n wells (crop pixel units); leaks drawn for all."""
    lo, hi = crop_range
    d = DIFFICULTIES[difficulty]
    p = {"h": torch.randint(lo, hi + 1, (n,), generator=g).float(),
         "w": torch.randint(lo, hi + 1, (n,), generator=g).float()}
    side = torch.minimum(p["h"], p["w"])
    p["r"] = side * _uniform(g, n, 0.22, 0.32)  # outer radius of the rim
    p["ring"] = _uniform(g, n, 0.25, 0.45)  # rim thickness as a fraction of r
    # the well sits near, not at, the crop centre (crops were cut by hand)
    p["cx"] = p["w"] / 2 + (p["w"] / 2 - p["r"]) * _uniform(g, n, -0.35, 0.35)
    p["cy"] = p["h"] / 2 + (p["h"] / 2 - p["r"]) * _uniform(g, n, -0.35, 0.35)
    p["ground"] = _uniform(g, 3 * n, 0.25, 0.55).view(n, 3)  # brownish-green-grey soil
    p["rim"] = _uniform(g, 3 * n, 0.75, 1.0).view(n, 3)  # bright concrete, tinted by the lamp
    p["inside"] = _uniform(g, n, 0.1, 0.85)[:, None] * _uniform(g, 3 * n, 0.8, 1.0).view(n, 3)
    p["light"] = _uniform(g, n, 0.65, 1.15)  # overall exposure
    p["tilt"] = _uniform(g, n, 0.0, 0.35)  # strength of a light gradient across the crop
    p["tilt_dir"] = _uniform(g, n, 0.0, 2 * math.pi)
    # a leak: direction, angular width, reach beyond the rim, darkness, and a ragged edge
    p["leak_dir"] = _uniform(g, n, 0.0, 2 * math.pi)
    p["leak_width"] = _uniform(g, n, *d["leak_width"])  # radians (sigma of the spill's angle)
    p["leak_reach"] = p["r"] * _uniform(g, n, *d["leak_reach"])
    p["leak_dark"] = _uniform(g, n, *d["leak_dark"])  # fraction of light the spill absorbs
    p["leak_ragged"] = _uniform(g, 3 * n, -0.25, 0.25).view(n, 3)
    p["leak_phase"] = _uniform(g, 3 * n, 0.0, 2 * math.pi).view(n, 3)
    p["texture"] = torch.rand(n, 1, 8, 8, generator=g)  # coarse ground texture, upsampled below
    # a puddle or shadow somewhere on the ground, in some crops of either class: darkness
    # alone must not give a leak away, only darkness that runs out of the rim
    p["shadow"] = ((torch.rand(n, generator=g) < d["shadow_share"]).float()
                   * _uniform(g, n, *d["shadow_dark"]))
    p["shadow_xy"] = torch.rand(n, 2, generator=g)  # where, as a fraction of the crop
    p["shadow_size"] = p["r"] * _uniform(g, n, 0.3, 0.7)
    return p


# ---------------------------------------------------------------------------------------------
# rendering
# ---------------------------------------------------------------------------------------------

def _crop_coords(p: dict, size: int, framing: str):
    """Pixel-centre coordinates (x, y) in crop pixels for every canvas pixel, and the crop mask."""
    n = len(p["h"])
    grid = torch.arange(size, dtype=torch.float32) + 0.5
    gx, gy = grid.view(1, 1, size), grid.view(1, size, 1)
    h, w = p["h"].view(n, 1, 1), p["w"].view(n, 1, 1)
    if framing == "pad":  # crop at its own scale, centred, black around it
        top, left = torch.floor((size - h) / 2), torch.floor((size - w) / 2)
        x, y = gx - left, gy - top
        inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
    else:  # the crop stretched over the whole canvas
        x, y = gx * w / size, gy * h / size
        inside = torch.ones(n, size, size, dtype=torch.bool)
    return x.expand(n, size, size), y.expand(n, size, size), inside


def _soft_step(t: torch.Tensor, width: float = 0.7) -> torch.Tensor:
    """0 -> 1 over about `width` pixels around t = 0: anti-aliased edges."""
    return torch.sigmoid(t / width)


def _render(p: dict, leak: torch.Tensor, size: int, framing: str, g: torch.Generator,
            noise: float) -> torch.Tensor:
    n = len(leak)
    x, y, inside = _crop_coords(p, size, framing)
    v = lambda k: p[k].view(n, 1, 1)
    dx, dy = x - v("cx"), y - v("cy")
    rho, phi = torch.sqrt(dx**2 + dy**2), torch.atan2(dy, dx)
    r, r_in = v("r"), v("r") * (1 - v("ring"))
    # ground: a colour times a smooth texture sampled at the crop position
    uv = torch.stack([x / v("w") * 2 - 1, y / v("h") * 2 - 1], dim=-1)
    texture = F.grid_sample(p["texture"], uv, mode="bilinear", align_corners=False)[:, 0]
    img = p["ground"].view(n, 3, 1, 1) * (0.9 + 0.2 * texture[:, None])
    # the rim (a bright ring) and the inside of the well (a disc)
    disc = _soft_step(r_in - rho)[:, None]
    ring = (_soft_step(r - rho) - _soft_step(r_in - rho))[:, None]
    img = (img * (1 - disc - ring) + p["inside"].view(n, 3, 1, 1) * disc
           + p["rim"].view(n, 3, 1, 1) * ring)
    # a leak: a dark tongue from the rim outward, widest at its direction, with a ragged edge
    angle = torch.remainder(phi - v("leak_dir") + math.pi, 2 * math.pi) - math.pi
    k = torch.arange(1, 4, dtype=torch.float32).view(1, 3, 1, 1)
    ragged = 1 + (p["leak_ragged"].view(n, 3, 1, 1) *
                  torch.sin(k * 3 * phi[:, None] + p["leak_phase"].view(n, 3, 1, 1))).sum(1)
    reach = v("leak_reach") * torch.exp(-0.5 * (angle / v("leak_width")) ** 2) * ragged
    fade = (reach / (0.3 * r)).clamp(0, 1)  # thin at the tongue's sides, so no hard radial edge
    spill = _soft_step(r + reach - rho) * _soft_step(rho - 0.85 * r_in) * fade
    spill = spill * leak.view(n, 1, 1).float()
    img = img * (1 - v("leak_dark")[:, None] * spill[:, None])
    # a puddle/shadow on the ground, away from the rim (pushed out if it would touch it)
    sx = p["shadow_xy"][:, 0].view(n, 1, 1) * v("w")
    sy = p["shadow_xy"][:, 1].view(n, 1, 1) * v("h")
    away = torch.sqrt((sx - v("cx")) ** 2 + (sy - v("cy")) ** 2)
    push = ((r + v("shadow_size") * 1.5 - away).clamp_min(0) / away.clamp_min(1e-3))
    sx, sy = sx + (sx - v("cx")) * push, sy + (sy - v("cy")) * push
    blob = _soft_step(v("shadow_size") - torch.sqrt((x - sx) ** 2 + (y - sy) ** 2), 1.5)
    img = img * (1 - v("shadow")[:, None] * blob[:, None])
    # light: exposure and a linear gradient across the crop
    gx_dir, gy_dir = torch.cos(v("tilt_dir")), torch.sin(v("tilt_dir"))
    gradient = 1 + v("tilt") * (gx_dir * (x / v("w") - 0.5) + gy_dir * (y / v("h") - 0.5)) * 2
    img = img * (v("light") * gradient)[:, None]
    if noise > 0:  # sensor noise
        img = img + noise * torch.randn(img.shape, generator=g)
    return (img.clamp(0, 1) * inside[:, None]).contiguous()  # black outside the crop


def render(n: int, leak=False, seed: int = 0, size: int = 64, framing: str = "pad",
           crop_range=(28, 48), noise: float = 0.02, name: str | None = None,
           difficulty: str = "hard") -> data.ImageSet:
    """n RGB well crops (n, 3, size, size) in [0, 1]; leak: bool or (n,) bools; labels 1 = leak.
    difficulty: "hard" (leak and shadow darkness overlap) or "easy" (see DIFFICULTIES)."""
    if framing not in FRAMINGS:
        raise ValueError(f"framing is one of {FRAMINGS}, got {framing!r}")
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty is one of {sorted(DIFFICULTIES)}, got {difficulty!r}")
    lo, hi = crop_range
    if not 8 <= lo <= hi <= size:
        raise ValueError(f"crop_range must satisfy 8 <= low <= high <= size={size}, "
                         f"got {crop_range}")
    leak = torch.as_tensor(leak, dtype=torch.bool).expand(n).clone()
    g = torch.Generator().manual_seed(seed)
    p = _draw_scenes(n, g, crop_range, difficulty)  # drawn before rendering, so framing never changes a scene
    chunks = []
    for i in range(0, n, 64):  # small chunks stay in cache: several times faster than all at once
        part = {k: t[i:i + 64] for k, t in p.items()}
        chunks.append(_render(part, leak[i:i + 64], size, framing, g, noise))
    x = torch.cat(chunks) if chunks else torch.zeros(0, 3, size, size)
    return data.ImageSet(x, leak.long(), CLASSES, name or f"wells/{framing}")


# ---------------------------------------------------------------------------------------------
# the three sets of the original task: train (normal), leak (leaking), test (labelled)
# ---------------------------------------------------------------------------------------------

def _join(a: data.ImageSet, b: data.ImageSet, name: str) -> data.ImageSet:
    return data.ImageSet(torch.cat([a.x, b.x]), torch.cat([a.y, b.y]), CLASSES, name)


def synthetic(n_train: int = 800, n_leak: int = 60, n_test_normal: int = 150,
              n_test_leak: int = 50, seed: int = 0, size: int = 64, framing: str = "pad",
              **render_kwargs) -> dict:
    """{"train": normal, "leak": leaking, "test": labelled mix}: the original folders' layout.

    Each set has its own sub-seed, so changing one count never changes the images of another set.
    """
    kw = dict(size=size, framing=framing, **render_kwargs)
    test_normal = render(n_test_normal, False, seed * 1000 + 3, **kw)
    test_leak = render(n_test_leak, True, seed * 1000 + 4, **kw)
    sets = {"train": render(n_train, False, seed * 1000 + 1, name="wells/train", **kw),
            "leak": render(n_leak, True, seed * 1000 + 2, name="wells/leak", **kw),
            "test": _join(test_normal, test_leak, "wells/test")}
    for ds in sets.values():
        ds.source = (f"generated wells (wells.synthetic, seed {seed}, "
                     f"{render_kwargs.get('difficulty', 'hard')}, {framing}, {size}x{size})")
    return sets


def load_folder(root=None, size: int = 64, grey: bool = False) -> dict:
    """Read train/ (normal), leak/ (leaking) and test/{normal,leak}/ under root into ImageSets.

    root defaults to <data>/wells (data/ or $AEH_DATA). Images of any size are resized to size.
    """
    root = Path(root).expanduser() if root else config.data_root() / "wells"
    layout = "train/*.png (normal), leak/*.png (leaking), test/normal/*.png and test/leak/*.png"
    needed = [root / "train", root / "leak", root / "test" / "normal", root / "test" / "leak"]
    missing = [str(d.relative_to(root)) for d in needed if not d.is_dir()]
    if not root.is_dir() or missing:
        what = f"{root} does not exist" if not root.is_dir() else \
            f"{root} lacks {', '.join(missing)}"
        raise data.DatasetNotFoundError(
            f"well images not found: {what}. Expected the layout {layout} (any image format), "
            f"or point {config.DATA_ENV} at a folder that holds wells/.")
    read = lambda d, nm: data.image_folder(d, size=size, grey=grey, name=nm)
    train, leak = read(root / "train", "wells/train"), read(root / "leak", "wells/leak")
    test = read(root / "test", "wells/test")
    if test.classes != ["leak", "normal"]:
        raise data.DatasetNotFoundError(f"{root / 'test'} must hold exactly the subfolders "
                                        f"normal/ and leak/, found {test.classes}")
    test_y = (test.y == test.classes.index("leak")).long()  # folder order is alphabetical
    source = f"well images from the folder {root.name}/"
    return {"train": data.ImageSet(train.x, torch.zeros(len(train)), CLASSES, "wells/train",
                                   source=source),
            "leak": data.ImageSet(leak.x, torch.ones(len(leak)), CLASSES, "wells/leak", source=source),
            "test": data.ImageSet(test.x, test_y, CLASSES, "wells/test", source=source)}


def crop_to_content(x: torch.Tensor, size: int | None = None, level: float = 0.02) -> torch.Tensor:
    """Cut each image to the box of its non-black pixels (any channel > level), resize to size."""
    size = size or x.shape[-1]
    out = []
    for img in x:
        rows = torch.nonzero(img.amax(dim=(0, 2)) > level).flatten()
        cols = torch.nonzero(img.amax(dim=(0, 1)) > level).flatten()
        if len(rows) and len(cols):  # an all-black image stays as it is
            img = img[:, rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        out.append(data.resize(img[None], size)[0])
    return torch.stack(out)


def content_mask(x: torch.Tensor, level: float = 0.02, erode: int = 1) -> torch.Tensor:
    """(N, 1, H, W) bool: True inside the crop (any channel > level), shrunk by `erode` pixels.

    For scoring padded images inside the crop only (anomaly.max_error_score(..., mask=...)):
    the erosion keeps the crop's own edge, where a blurred reconstruction meets black, out.
    """
    mask = (x.amax(dim=1, keepdim=True) > level).float()
    if erode > 0:  # a pixel stays inside when its whole (2 erode + 1)^2 neighbourhood is inside
        mask = -F.max_pool2d(-mask, 2 * erode + 1, stride=1, padding=erode)
    return mask > 0.5


# ---------------------------------------------------------------------------------------------
# augmentation for training on few normal wells (07's "next steps")
# ---------------------------------------------------------------------------------------------

def augment(x: torch.Tensor, g: torch.Generator, flip: bool = True, shift: int = 3,
            brightness: float = 0.15) -> torch.Tensor:
    """Random flips, shifts by up to `shift` pixels (black enters) and brightness x(1 +- b).

    The draws come from g on g's device (give it the data's device: `augmented_step` does) and
    everything stays there: no Python loop over images, no host sync.
    """
    n, dev = len(x), x.device
    rand = lambda *shape: torch.rand(*shape, generator=g, device=g.device).to(dev)
    if flip:
        hflip, vflip = rand(n) < 0.5, rand(n) < 0.5
        x = torch.where(hflip.view(n, 1, 1, 1), x.flip(-1), x)
        x = torch.where(vflip.view(n, 1, 1, 1), x.flip(-2), x)
    if shift > 0:
        padded = F.pad(x, (shift,) * 4)  # zero padding: the canvas edge is black anyway
        offsets = (rand(n, 2) * (2 * shift + 1)).long().clamp(max=2 * shift)
        h, w = x.shape[-2:]
        rows = offsets[:, :1] + torch.arange(h, device=dev)  # (n, h): the window of each image
        cols = offsets[:, 1:] + torch.arange(w, device=dev)
        i = torch.arange(n, device=dev).view(n, 1, 1, 1)
        c = torch.arange(x.shape[1], device=dev).view(1, -1, 1, 1)
        x = padded[i, c, rows[:, None, :, None], cols[:, None, None, :]]
    if brightness > 0:
        x = x * (1 + brightness * (2 * rand(n, 1, 1, 1) - 1))
    return x.clamp(0, 1)


def augmented_step(step, seed: int = 0, **augment_kwargs):
    """Wrap a train.fit step so training batches are augmented (input and target alike)."""
    rngs = {}  # one seeded generator per device the batches arrive on

    def wrapped(model, batch, epoch=0):
        if model.training:
            x = batch[0]
            if x.device not in rngs:
                rngs[x.device] = torch.Generator(device=x.device).manual_seed(seed)
            batch = (augment(x, rngs[x.device], **augment_kwargs), *batch[1:])
        return step(model, batch, epoch)
    return wrapped
